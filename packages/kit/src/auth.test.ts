import { GraphQLError } from 'graphql';
import { base64url, exportSPKI, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import {
  bearerToken,
  createTokenVerifier,
  jwksFromJson,
  VERIFIED_TOKEN_TTL_MS,
  type TokenVerifier,
} from './auth.js';
import { createMemorySessionRevocations, type SessionRevocations } from './session-revocations.js';
import { createTestClock } from './testing/test-clock.js';
import {
  ISSUER,
  AUDIENCE,
  createSigningKey,
  nowSeconds,
  claims,
  sign,
  encodeJson,
  decodePayload,
  refusal,
  expectRefused,
  revocableVerifier,
} from './testing/signing-keys.js';

const current = await createSigningKey('key-current');
const outsider = await createSigningKey('key-outsider');
const verify: TokenVerifier = createTokenVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: jwksFromJson({ keys: [current.jwk] }),
});

describe('createTokenVerifier', () => {
  it('verifies a valid token to the viewer it names', async () => {
    const exp = nowSeconds() + 120;
    const viewer = await verify(await sign(current, claims({ sub: 'user-42', sid: 'session-7', exp })));
    expect(viewer).toEqual({ userId: 'user-42', sessionId: 'session-7', expiresAt: new Date(exp * 1000) });
  });

  it('refuses an expired token with reason TOKEN_EXPIRED', async () => {
    const expired = await sign(current, claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 60 }));
    const error = await refusal(verify(expired));
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
  });

  it('refuses a token it verified before once that token expires', async () => {
    const token = await sign(current, claims({ exp: nowSeconds() + 2 }));
    await expect(verify(token)).resolves.toMatchObject({ userId: 'user-1' });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_000 });
    try {
      await expectRefused(verify(token), 'TOKEN_EXPIRED');
    } finally {
      vi.useRealTimers();
    }
  });

  it('goes by its clock: a token is good until that clock, not the system, passes its expiry', async () => {
    // An hour ahead of the system's time, which is then an hour before the token's expiry: only the clock
    // can make it expire within this test.
    const clock = createTestClock(new Date(Date.now() + 3_600_000));
    const verifyByClock = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwksFromJson({ keys: [current.jwk] }),
      clock,
    });
    const issuedAt = Math.floor(clock.now().getTime() / 1000);
    const token = await sign(current, claims({ iat: issuedAt, exp: issuedAt + 40 }));
    await expect(verifyByClock(token)).resolves.toMatchObject({ userId: 'user-1' });
    clock.advance(39_000);
    await expect(verifyByClock(token)).resolves.toMatchObject({ userId: 'user-1' });
    // Remembered as verified, and still refused once the clock is past its expiry.
    clock.advance(2_000);
    await expectRefused(verifyByClock(token), 'TOKEN_EXPIRED');
    // Not remembered: refused by the signature and claims check itself.
    const fresh = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwksFromJson({ keys: [current.jwk] }),
      clock,
    });
    await expectRefused(fresh(token), 'TOKEN_EXPIRED');
    // A verifier on the system's time still takes it: the clock, not the token, decided.
    await expect(verify(token)).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('checks a verified token again after VERIFIED_TOKEN_TTL_MS: a key withdrawn from the JWKS stops counting', async () => {
    const withdrawn = await createSigningKey('key-withdrawn');
    let published = [current.jwk, withdrawn.jwk];
    const verifyLive = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: (header, token) => jwksFromJson({ keys: published })(header, token),
    });
    const token = await sign(withdrawn, claims({ exp: nowSeconds() + 600 }));
    await expect(verifyLive(token)).resolves.toMatchObject({ userId: 'user-1' });
    published = [current.jwk];
    // Remembered for a while: the signature is not checked again at once.
    await expect(verifyLive(token)).resolves.toMatchObject({ userId: 'user-1' });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + VERIFIED_TOKEN_TTL_MS + 1_000 });
    try {
      await expectRefused(verifyLive(token), 'TOKEN_INVALID');
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports a forged expired token as invalid, not expired: the signature is checked first', async () => {
    const forged = await sign(outsider, claims({ exp: nowSeconds() - 60 }), current.kid);
    await expectRefused(verify(forged), 'TOKEN_INVALID');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await sign(current)).split('.');
    const tampered = `${header}.${encodeJson(claims({ sub: 'user-admin' }))}.${signature}`;
    expect(decodePayload(tampered)['sub']).toBe('user-admin');
    await expectRefused(verify(tampered), 'TOKEN_INVALID');
  });

  it('refuses a token whose signature was changed', async () => {
    const [header, payload, signature] = (await sign(current)).split('.');
    const bytes = base64url.decode(signature ?? '');
    bytes[0] = (bytes[0] ?? 0) ^ 0x01;
    await expectRefused(verify(`${header}.${payload}.${base64url.encode(bytes)}`), 'TOKEN_INVALID');
  });

  it('refuses a token signed by a key the JWKS does not publish, whatever kid it claims', async () => {
    await expectRefused(verify(await sign(outsider)), 'TOKEN_INVALID');
    await expectRefused(verify(await sign(outsider, claims(), current.kid)), 'TOKEN_INVALID');
  });

  it('refuses a JWT of the right key that is not typed as an access token (at+jwt)', async () => {
    for (const typ of [undefined, 'JWT', 'id_token+jwt']) {
      const header =
        typ === undefined ? { alg: 'EdDSA', kid: current.kid } : { alg: 'EdDSA', kid: current.kid, typ };
      const token = await new SignJWT(claims()).setProtectedHeader(header).sign(current.privateKey);
      await expectRefused(verify(token), 'TOKEN_INVALID');
    }
  });

  it('refuses an unsecured token (alg: none)', async () => {
    const unsecured = new UnsecuredJWT(claims()).encode();
    // The same token is accepted by a verifier that allows `none`: only the algorithm is wrong with it.
    expect(UnsecuredJWT.decode(unsecured, { issuer: ISSUER, audience: AUDIENCE }).payload['sid']).toBe(
      'session-1',
    );
    const withKnownKid = `${encodeJson({ alg: 'none', typ: 'JWT', kid: current.kid })}.${encodeJson(claims())}.`;
    await expectRefused(verify(unsecured), 'TOKEN_INVALID');
    await expectRefused(verify(withKnownKid), 'TOKEN_INVALID');
  });

  it.each([
    ['the raw Ed25519 public key', async () => base64url.decode(current.jwk.x ?? '')],
    ['the PEM public key', async () => new TextEncoder().encode(await exportSPKI(current.publicKey))],
  ])('refuses HS256 signed with %s as the HMAC secret (algorithm confusion)', async (_label, secretOf) => {
    const secret = await secretOf();
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: current.kid, typ: 'at+jwt' })
      .sign(secret);
    // A verifier that trusted the header's `alg` with this key material would accept the forgery.
    await expect(jwtVerify(forged, secret)).resolves.toBeTruthy();
    await expectRefused(verify(forged), 'TOKEN_INVALID');
  });

  it.each([
    ['issuer', { iss: 'https://evil.test' }],
    ['audience', { aud: 'another-app' }],
  ])('refuses a token for another %s', async (_label, override) => {
    await expectRefused(verify(await sign(current, claims(override))), 'TOKEN_INVALID');
  });

  it.each(['sid', 'sub', 'exp', 'iat'])('refuses a token without %s', async (claim) => {
    await expectRefused(verify(await sign(current, claims({}, [claim]))), 'TOKEN_INVALID');
  });

  it('refuses a token whose sid is not a string', async () => {
    await expectRefused(verify(await sign(current, claims({ sid: 42 }))), 'TOKEN_INVALID');
  });

  it('keeps accepting tokens of a retired key while the JWKS still publishes it', async () => {
    const retired = await createSigningKey('key-retired');
    const active = await createSigningKey('key-active');
    const oldToken = await sign(retired, claims({ sid: 'session-old' }));
    const rotated = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwksFromJson({ keys: [active.jwk, retired.jwk] }),
    });
    await expect(rotated(oldToken)).resolves.toMatchObject({ sessionId: 'session-old' });
    await expect(rotated(await sign(active, claims({ sid: 'session-new' })))).resolves.toMatchObject({
      sessionId: 'session-new',
    });
    const afterRemoval = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwksFromJson({ keys: [active.jwk] }),
    });
    await expectRefused(afterRemoval(oldToken), 'TOKEN_INVALID');
  });
});

describe('session revocation', () => {
  const verifierWith = (revocations: SessionRevocations) => revocableVerifier(current, revocations);

  it('in memory: refuses a revoked session with reason SESSION_REVOKED until the entry expires', async () => {
    let now = Date.now();
    const revocations = createMemorySessionRevocations(() => now);
    const verifyRevocable = verifierWith(revocations);
    const revokedToken = await sign(current, claims({ sid: 'session-revoked' }));
    const otherToken = await sign(current, claims({ sid: 'session-other' }));
    await expect(verifyRevocable(revokedToken)).resolves.toMatchObject({ sessionId: 'session-revoked' });

    await revocations.revoke(['session-revoked'], 60);
    await expectRefused(verifyRevocable(revokedToken), 'SESSION_REVOKED');
    await expect(verifyRevocable(otherToken)).resolves.toMatchObject({ sessionId: 'session-other' });

    now += 61_000;
    await expect(verifyRevocable(revokedToken)).resolves.toMatchObject({ sessionId: 'session-revoked' });
  });
});

describe('bearerToken', () => {
  it('treats a missing or empty header as anonymous', () => {
    expect(bearerToken(null)).toBeNull();
    expect(bearerToken('')).toBeNull();
  });

  it('extracts the token, whatever the case of the scheme', () => {
    expect(bearerToken('Bearer abc.def-_.ghi')).toBe('abc.def-_.ghi');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
  });

  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearer a,b', 'abc.def.ghi'])(
    'refuses the malformed header %j as UNAUTHENTICATED',
    (header) => {
      let thrown: unknown;
      try {
        bearerToken(header);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(GraphQLError);
      expect((thrown as GraphQLError).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'TOKEN_INVALID',
      });
    },
  );
});
