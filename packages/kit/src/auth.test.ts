import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  bearerToken,
  createTokenVerifier,
  jwksFromJson,
  VERIFIED_TOKEN_TTL_MS,
  type TokenVerifier,
} from './auth.js';
import { REDIS_OPTIONS } from './service-redis.js';
import { freeLoopbackPort } from './testing/redis-server.js';
import {
  createMemorySessionRevocations,
  createRedisSessionRevocations,
  REVOCATION_MAX_STALENESS_MS,
  type RedisSessionRevocations,
  type SessionRevocations,
} from './session-revocations.js';

const ISSUER = 'https://users.parley.test';

const AUDIENCE = 'parley';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function createSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' },
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Claims of a valid access token; tests override or drop one at a time. */
function claims(overrides: Record<string, unknown> = {}, omit: string[] = []): Record<string, unknown> {
  const now = nowSeconds();
  const all: Record<string, unknown> = {
    sub: 'user-1',
    sid: 'session-1',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
  for (const name of omit) delete all[name];
  return all;
}

const sign = (key: SigningKey, payload = claims(), kid = key.kid) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(key.privateKey);

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

function decodePayload(token: string): Record<string, unknown> {
  const [, payload] = token.split('.');
  return JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ''))) as Record<string, unknown>;
}

/** The GraphQLError a refused verification rejects with. */
async function refusal(verification: Promise<unknown>): Promise<GraphQLError> {
  const outcome = await verification.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(GraphQLError);
  return outcome as GraphQLError;
}

async function expectRefused(verification: Promise<unknown>, reason: string): Promise<void> {
  const error = await refusal(verification);
  expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
}

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
  const verifierWith = (revocations: SessionRevocations) =>
    createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwksFromJson({ keys: [current.jwk] }),
      revocations,
    });

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

  describe('in Redis', () => {
    const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const prefix = `parley-test:auth:${randomUUID()}:`;
    const admin = new Redis(redisUrl);
    const views: RedisSessionRevocations[] = [];
    const connections: Redis[] = [admin];

    /** A process's view: its own connections, its own clock. */
    function processView(options: { now?: () => number; viewPrefix?: string; redisUrl?: string } = {}) {
      const redis = new Redis(options.redisUrl ?? redisUrl, REDIS_OPTIONS);
      const subscriber = new Redis(options.redisUrl ?? redisUrl, REDIS_OPTIONS);
      redis.on('error', () => {});
      subscriber.on('error', () => {});
      connections.push(redis, subscriber);
      const view = createRedisSessionRevocations({
        redis,
        subscriber,
        prefix: options.viewPrefix ?? prefix,
        // Pushes and explicit syncs only: the tests decide when a view reads the set.
        syncIntervalMs: 3_600_000,
        ...(options.now && { now: options.now }),
      });
      views.push(view);
      return { view, redis, verify: verifierWith(view) };
    }

    afterAll(async () => {
      await Promise.all(views.map((view) => view.close()));
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      for (const connection of connections) connection.disconnect();
    });

    it('a session revoked by one process is refused by another at once (pushed) with reason SESSION_REVOKED', async () => {
      const sessionId = `session-${randomUUID()}`;
      const token = await sign(current, claims({ sid: sessionId }));
      const otherToken = await sign(current, claims({ sid: `session-${randomUUID()}` }));
      const elsewhere = processView();
      await expect(elsewhere.verify(token)).resolves.toMatchObject({ sessionId });

      const revoker = processView();
      await revoker.view.revoke([sessionId], 300);
      // Refused by the revoking process itself at once, and by the other one as soon as the push arrives.
      await expectRefused(revoker.verify(token), 'SESSION_REVOKED');
      await expect
        .poll(() => elsewhere.view.isRevoked(sessionId), { timeout: 2_000, interval: 5 })
        .toBe(true);
      await expectRefused(elsewhere.verify(token), 'SESSION_REVOKED');
      await expect(elsewhere.verify(otherToken)).resolves.toBeTruthy();
      // A process started later reads it from Redis; another deployment (another prefix) is not affected.
      await expectRefused(processView().verify(token), 'SESSION_REVOKED');
      const otherDeployment = processView({ viewPrefix: `${prefix}other:` });
      await expect(otherDeployment.verify(token)).resolves.toMatchObject({ sessionId });
    });

    it('a revocation whose push was missed is read at the next sync', async () => {
      const sessionId = `session-${randomUUID()}`;
      const late = processView();
      await late.view.started();
      // Written as another process would, without the push.
      await admin.zadd(`${prefix}revoked-sessions`, Date.now() + 60_000, sessionId);
      expect(await late.view.isRevoked(sessionId)).toBe(false);
      await late.view.sync();
      expect(await late.view.isRevoked(sessionId)).toBe(true);
    });

    it('while Redis is unreachable, answers from its last view until that is older than the bound, then SERVICE_UNAVAILABLE', async () => {
      let now = Date.now();
      const revokedId = `session-${randomUUID()}`;
      const { view, redis, verify } = processView({ now: () => now });
      await view.revoke([revokedId], 900);
      await view.sync();
      const revokedToken = await sign(current, claims({ sid: revokedId }));
      const token = await sign(current, claims({ sid: `session-${randomUUID()}` }));

      // Redis gone for this process: reads fail, checks keep answering from the view.
      redis.disconnect();
      await expect(view.sync()).rejects.toThrow();
      now += REVOCATION_MAX_STALENESS_MS - 1_000;
      await expectRefused(verify(revokedToken), 'SESSION_REVOKED');
      await expect(verify(token)).resolves.toBeTruthy();

      now += 2_000;
      await expect(verify(token)).rejects.toMatchObject({
        extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: expect.any(Number) },
      });
    });

    it('a check before the set could ever be read is SERVICE_UNAVAILABLE, not an answer', async () => {
      const { verify } = processView({ redisUrl: `redis://127.0.0.1:${await freeLoopbackPort()}` });
      const token = await sign(current, claims({ sid: `session-${randomUUID()}` }));
      await expect(verify(token)).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    });

    it('writes back what Redis lost (restarted empty), so a revoked session does not come back', async () => {
      const sessionId = `session-${randomUUID()}`;
      const { view } = processView();
      await view.revoke([sessionId], 300);
      await admin.del(`${prefix}revoked-sessions`);
      await view.sync();
      expect(await admin.zscore(`${prefix}revoked-sessions`, sessionId)).not.toBeNull();
      const newcomer = processView();
      expect(await newcomer.view.isRevoked(sessionId)).toBe(true);
    });
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
