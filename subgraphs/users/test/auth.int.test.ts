import { codeOf, createTestClock, reasonOf } from '@parley/kit/testing';
import { createTokenVerifier, jwksFromJson } from '@parley/kit';
import { importJWK, SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, generateSigningKey } from '../src/auth/keyring.js';
import { hashRefreshToken } from '../src/auth/refresh-tokens.js';
import { createSessionStore } from '../src/data/session-store.js';
import {
  AUDIENCE,
  ISSUER,
  LOGIN,
  ME,
  REFRESH,
  startUsersTestServer,
  type SignedInResult,
  type UsersTestServer,
} from './users-test-server.js';

const sessionStore = () =>
  createSessionStore(server.prisma, { refreshTokenTtlSeconds: 3600, refreshTokenReuseGraceSeconds: 30 });
let server: UsersTestServer;

beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

async function refresh(refreshToken: string) {
  return server.client().request<{ refreshSession: SignedInResult }>(REFRESH, { input: { refreshToken } });
}

describe('register, login, me, refresh, logout', () => {
  it('signs a new account in, and `me` answers with the caller only', async () => {
    const alice = await server.register('alice');
    expect(alice.user.username).toBe(alice.input.username);
    expect(alice.session.ip).toBe('203.0.113.7');
    expect(alice.session.userAgent).toBe('vitest');

    const me = await alice.api.request(ME);
    expect(me.errors).toBeUndefined();
    expect(me.data?.me).toMatchObject({
      id: alice.user.id,
      email: alice.input.email,
      sessions: [{ id: alice.session.id, current: true, ip: '203.0.113.7', userAgent: 'vitest' }],
    });
    const current = await server
      .client()
      .request<{ login: { session: { id: string; current: boolean } } }>(
        'mutation($input: LoginInput!) { login(input: $input) { session { id current } } }',
        { input: { email: alice.input.email, password: alice.input.password } },
      );
    expect(current.data?.login.session.current).toBe(true);
  });

  it('logs in with the email in any case, and refuses a wrong password without saying which part was wrong', async () => {
    const bob = await server.register('bob');
    const wrong = await server
      .client()
      .request(LOGIN, { input: { email: bob.input.email, password: 'nope nope nope' } });
    const unknown = await server
      .client()
      .request(LOGIN, { input: { email: 'nobody@example.test', password: 'whatever1' } });
    expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
    expect(codeOf(unknown)).toBe('UNAUTHENTICATED');
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
    const ok = await server.client().request<{ login: SignedInResult }>(LOGIN, {
      input: { email: bob.input.email.toUpperCase(), password: bob.input.password },
    });
    expect(ok.data?.login.user.id).toBe(bob.user.id);
    expect(ok.data?.login.session.id).not.toBe(bob.session.id);
  });

  it('rotates the refresh token on every use', async () => {
    const carol = await server.register('carol');
    const first = await refresh(carol.refreshToken);
    expect(first.errors).toBeUndefined();
    const rotated = first.data!.refreshSession;
    expect(rotated.refreshToken).not.toBe(carol.refreshToken);
    expect(rotated.session.id).toBe(carol.session.id);
    const second = await refresh(rotated.refreshToken);
    expect(second.data?.refreshSession.session.id).toBe(carol.session.id);
    const me = await server.client(second.data!.refreshSession.accessToken).request(ME);
    expect(me.data?.me).toMatchObject({ id: carol.user.id });
    const stored = await server.sql<{ token_hash: string }>('SELECT token_hash FROM refresh_tokens');
    const storedHashes = stored.map((row) => row.token_hash);
    expect(storedHashes).not.toContain(carol.refreshToken);
    expect(storedHashes.some((hash) => hash.includes(rotated.refreshToken))).toBe(false);
  });

  it('reusing a rotated refresh token revokes the whole family, and only that family', async () => {
    const dave = await server.register('dave');
    const other = await server.login(dave);

    // The victim goes on refreshing; a thief presents the token it stole before.
    const rotated = (await refresh(dave.refreshToken)).data!.refreshSession;
    const newest = (await refresh(rotated.refreshToken)).data!.refreshSession;
    const reuse = await refresh(dave.refreshToken);
    expect(codeOf(reuse)).toBe('UNAUTHENTICATED');
    expect(reasonOf(reuse)).toBe('REFRESH_TOKEN_REUSED');

    // The attacker's and the victim's newest token are both dead, and so is the family's access token.
    const afterReuse = await refresh(newest.refreshToken);
    expect(codeOf(afterReuse)).toBe('UNAUTHENTICATED');
    expect(reasonOf(afterReuse)).toBe('SESSION_REVOKED');
    const me = await server.client(newest.accessToken).request(ME);
    expect(reasonOf(me)).toBe('SESSION_REVOKED');
    const [row] = await server.sql<{ revoked_reason: string }>(
      'SELECT revoked_reason FROM sessions WHERE id = $1',
      [dave.session.id],
    );
    expect(row?.revoked_reason).toBe('REFRESH_TOKEN_REUSE');

    // A separate login is a separate family and keeps working.
    const otherRefresh = await refresh(other.refreshToken);
    expect(otherRefresh.errors).toBeUndefined();
  });

  it('lets a client that lost the answer to its refresh present the token again, once, within the grace period', async () => {
    const frank = await server.register('frank');
    const lost = (await refresh(frank.refreshToken)).data!.refreshSession;
    const again = await refresh(frank.refreshToken);
    expect(again.errors).toBeUndefined();
    const retried = again.data!.refreshSession;
    expect(retried.session.id).toBe(frank.session.id);
    expect(retried.refreshToken).not.toBe(lost.refreshToken);
    expect((await server.client(retried.accessToken).request(ME)).data?.me).toMatchObject({
      id: frank.user.id,
    });
    // One live token per session still: the answer that was lost is retired.
    const live = await server.sql<{ token_hash: string }>(
      'SELECT token_hash FROM refresh_tokens WHERE session_id = $1 AND rotated_at IS NULL',
      [frank.session.id],
    );
    expect(live.map((token) => token.token_hash)).toEqual([hashRefreshToken(retried.refreshToken)]);

    // Only once: a third presentation is reuse.
    expect(reasonOf(await refresh(frank.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
    expect(reasonOf(await refresh(retried.refreshToken))).toBe('SESSION_REVOKED');
  });

  it('treats the lost answer, if it turns up later, and a token past the grace period as reuse', async () => {
    const gina = await server.register('gina');
    const lost = (await refresh(gina.refreshToken)).data!.refreshSession;
    const retried = (await refresh(gina.refreshToken)).data!.refreshSession;
    expect((await refresh(retried.refreshToken)).errors).toBeUndefined();
    // Whoever held the retired token (a thief, if the first client did get its answer) ends the family.
    expect(reasonOf(await refresh(lost.refreshToken))).toBe('REFRESH_TOKEN_REUSED');

    // At once too, while the retry's token is unused: a retired token has no grace of its own, so a thief
    // and the owner cannot take turns re-presenting their old tokens.
    const jo = await server.register('jo');
    const stolenAnswer = (await refresh(jo.refreshToken)).data!.refreshSession;
    const thiefs = (await refresh(jo.refreshToken)).data!.refreshSession;
    expect(reasonOf(await refresh(stolenAnswer.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
    expect(reasonOf(await refresh(thiefs.refreshToken))).toBe('SESSION_REVOKED');

    const hal = await server.register('hal');
    const rotated = (await refresh(hal.refreshToken)).data!.refreshSession;
    await server.sql(
      `UPDATE refresh_tokens SET rotated_at = now() - interval '31 seconds' WHERE token_hash = $1`,
      [hashRefreshToken(hal.refreshToken)],
    );
    expect(reasonOf(await refresh(hal.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
    expect(reasonOf(await refresh(rotated.refreshToken))).toBe('SESSION_REVOKED');
  });

  it('of two concurrent refreshes with one token, both are answered and only the later answer lives on', async () => {
    const erin = await server.register('erin');
    const results = await Promise.all([refresh(erin.refreshToken), refresh(erin.refreshToken)]);
    const issued = results.map((result) => result.data!.refreshSession.refreshToken);
    expect(issued.every(Boolean)).toBe(true);
    const [live] = await server.sql<{ token_hash: string }>(
      'SELECT token_hash FROM refresh_tokens WHERE session_id = $1 AND rotated_at IS NULL',
      [erin.session.id],
    );
    const survivor = issued.find((token) => hashRefreshToken(token) === live?.token_hash);
    const retired = issued.find((token) => token !== survivor);
    expect(survivor && retired).toBeTruthy();
    expect((await refresh(survivor!)).errors).toBeUndefined();
    expect(reasonOf(await refresh(retired!))).toBe('REFRESH_TOKEN_REUSED');
  });

  it('with no grace period, presenting a rotated token at once is reuse', async () => {
    const strict = await startUsersTestServer({ refreshTokenReuseGraceSeconds: 0 });
    try {
      const ivy = await strict.register('ivy');
      const refreshAt = (token: string) =>
        strict
          .client()
          .request<{ refreshSession: SignedInResult }>(REFRESH, { input: { refreshToken: token } });
      const rotated = (await refreshAt(ivy.refreshToken)).data!.refreshSession;
      expect(reasonOf(await refreshAt(ivy.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
      expect(reasonOf(await refreshAt(rotated.refreshToken))).toBe('SESSION_REVOKED');
    } finally {
      await strict.stop();
    }
  });

  it('a refresh racing a logout never outlives it', async () => {
    for (let round = 0; round < 5; round++) {
      const racer = await server.register('racer');
      const [refreshed] = await Promise.all([
        refresh(racer.refreshToken),
        racer.api.request('mutation { logout }'),
      ]);
      // Whichever ran first, the session is over: a token the refresh may have issued is refused.
      const issued = refreshed.data?.refreshSession;
      if (issued) {
        expect(reasonOf(await server.client(issued.accessToken).request(ME))).toBe('SESSION_REVOKED');
        expect(reasonOf(await refresh(issued.refreshToken))).toBe('SESSION_REVOKED');
      } else {
        expect(reasonOf(refreshed)).toBe('SESSION_REVOKED');
      }
    }
  });

  it('a refresh racing the account deletion fails cleanly, never as an internal error', async () => {
    const doomed = await server.register('doomed');
    const [refreshed] = await Promise.all([
      refresh(doomed.refreshToken),
      doomed.api.request('mutation($p: String!) { deleteAccount(input: { password: $p }) }', {
        p: doomed.input.password,
      }),
    ]);
    if (refreshed.errors) expect(codeOf(refreshed)).toBe('UNAUTHENTICATED');
    else
      expect(reasonOf(await server.client(refreshed.data!.refreshSession.accessToken).request(ME))).toBe(
        'SESSION_REVOKED',
      );
  });

  it('logout ends the session: its access token and its refresh token stop working', async () => {
    const frank = await server.register('frank');
    const out = await frank.api.request<{ logout: boolean }>('mutation { logout }');
    expect(out.data?.logout).toBe(true);
    expect(reasonOf(await frank.api.request(ME))).toBe('SESSION_REVOKED');
    expect(reasonOf(await refresh(frank.refreshToken))).toBe('SESSION_REVOKED');
  });

  it('an unknown refresh token is refused', async () => {
    expect(reasonOf(await refresh('rt_not-a-real-token'))).toBe('REFRESH_TOKEN_INVALID');
  });
});

describe('sessions', () => {
  it('lists own sessions and revokes one of them, but never another user’s', async () => {
    const gina = await server.register('gina');
    const second = await server.login(gina, {
      'user-agent': 'phone',
      'x-forwarded-for': '::ffff:198.51.100.4',
    });
    expect(second.session).toMatchObject({ ip: '198.51.100.4', userAgent: 'phone' });

    const list = await gina.api.request<{ me: { sessions: { id: string; current: boolean }[] } }>(ME);
    expect(list.data!.me.sessions.map((session) => session.id).sort()).toEqual(
      [gina.session.id, second.session.id].sort(),
    );

    const intruder = await server.register('intruder');
    const foreign = await intruder.api.request('mutation($id: ID!) { revokeSession(id: $id) { id } }', {
      id: second.session.id,
    });
    expect(codeOf(foreign)).toBe('NOT_FOUND');

    const revoked = await gina.api.request('mutation($id: ID!) { revokeSession(id: $id) { id } }', {
      id: second.session.id,
    });
    expect(revoked.errors).toBeUndefined();
    expect(reasonOf(await server.client(second.accessToken).request(ME))).toBe('SESSION_REVOKED');
    expect((await gina.api.request(ME)).errors).toBeUndefined();
  });

  it('revokeOtherSessions keeps only the current one', async () => {
    const hank = await server.register('hank');
    const others = [await server.login(hank), await server.login(hank)];
    const expired = await server.login(hank);
    await server.sql(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
      expired.session.id,
    ]);

    const result = await hank.api.request<{ revokeOtherSessions: number }>(
      'mutation { revokeOtherSessions }',
    );
    expect(result.data?.revokeOtherSessions).toBe(2);
    for (const other of others)
      expect(reasonOf(await server.client(other.accessToken).request(ME))).toBe('SESSION_REVOKED');
    expect((await hank.api.request(ME)).errors).toBeUndefined();
  });
});

describe('access tokens', () => {
  const claimsFor = (signedIn: SignedInResult) => ({ sub: signedIn.user.id, sid: signedIn.session.id });

  async function signWith(key: JWK, kid: string, claims: Record<string, unknown>, expiresIn = '5m') {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(await importJWK({ ...key, alg: 'EdDSA' }, 'EdDSA'));
  }

  it('publishes the public keys only, with kid, at /.well-known/jwks.json', async () => {
    const response = await server.yoga.fetch('http://users.test/.well-known/jwks.json');
    const jwks = (await response.json()) as { keys: JWK[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: 'test-key-1', kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('accepts a token signed with the service key (control for the refusals below)', async () => {
    const ivy = await server.register('ivy');
    const token = await signWith(server.signingKeys[0]!, 'test-key-1', claimsFor(ivy));
    expect((await server.client(token).request(ME)).data?.me).toMatchObject({ id: ivy.user.id });
  });

  it('refuses expired, tampered, unknown-kid, alg none and HS256-with-the-public-key tokens', async () => {
    const jack = await server.register('jack');
    const claims = claimsFor(jack);
    const key = server.signingKeys[0]!;
    const expired = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'test-key-1', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(await importJWK({ ...key, alg: 'EdDSA' }, 'EdDSA'));

    const [header, payload, signature] = jack.accessToken.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    forged['sub'] = '00000000-0000-7000-8000-000000000000';
    const tampered = `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;

    const stranger = await generateSigningKey('test-key-1');
    const unknownKid = await signWith(stranger, 'not-a-known-kid', claims);
    const sameKidOtherKey = await signWith(stranger, 'test-key-1', claims);

    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 300;
    const body = { ...claims, iss: ISSUER, aud: AUDIENCE, iat: exp - 300, exp };
    const none = `${b64({ alg: 'none', kid: 'test-key-1' })}.${b64(body)}.`;
    // The classic alg confusion: HMAC "signed" with public material the attacker can read.
    const signHs256 = (secret: Uint8Array) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: 'test-key-1', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(secret);
    const hs256 = await signHs256(Buffer.from(key.x!, 'base64url'));
    const jwksText = await (await server.yoga.fetch('http://users.test/.well-known/jwks.json')).text();
    const hs256Jwk = await signHs256(new TextEncoder().encode(jwksText));

    const cases = {
      expired,
      tampered,
      unknownKid,
      sameKidOtherKey,
      none,
      hs256,
      hs256Jwk,
      garbage: 'abc.def.ghi',
    };
    for (const [name, token] of Object.entries(cases)) {
      const response = await server.client(token).request(ME);
      expect(response.data ?? null, name).toBeNull();
      expect(codeOf(response), name).toBe('UNAUTHENTICATED');
      expect(reasonOf(response), name).toBe(name === 'expired' ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID');
    }
  });

  it('a token signed before a key rotation still verifies; new tokens carry the new kid', async () => {
    const kate = await server.register('kate');
    const oldKey = server.signingKeys[0]!;
    const newKey = await generateSigningKey('test-key-2');
    const rotated = await startUsersTestServer(
      { signingKeys: [oldKey, newKey], activeKid: 'test-key-2' },
      server,
    );
    try {
      const jwks = (await (await rotated.yoga.fetch('http://users.test/.well-known/jwks.json')).json()) as {
        keys: JWK[];
      };
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual(['test-key-1', 'test-key-2']);

      const me = await rotated.client(kate.accessToken).request(ME);
      expect(me.data?.me).toMatchObject({ id: kate.user.id });

      const renewed = (
        await rotated.client().request<{ refreshSession: SignedInResult }>(REFRESH, {
          input: { refreshToken: kate.refreshToken },
        })
      ).data!.refreshSession;
      const header = JSON.parse(Buffer.from(renewed.accessToken.split('.')[0]!, 'base64url').toString()) as {
        kid: string;
      };
      expect(header.kid).toBe('test-key-2');
      expect((await rotated.client(renewed.accessToken).request(ME)).data?.me).toMatchObject({
        id: kate.user.id,
      });
    } finally {
      await rotated.stop();
    }
  });

  it('another service verifies an access token with the published JWKS alone', async () => {
    const lena = await server.register('lena');
    const jwks = (await (
      await server.yoga.fetch('http://users.test/.well-known/jwks.json')
    ).json()) as JSONWebKeySet;
    const verify = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: jwksFromJson(jwks) });
    await expect(verify(lena.accessToken)).resolves.toMatchObject({
      userId: lena.user.id,
      sessionId: lena.session.id,
    });
    const otherAudience = createTokenVerifier({
      issuer: ISSUER,
      audience: 'someone-else',
      keys: jwksFromJson(jwks),
    });
    await expect(otherAudience(lena.accessToken)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});

describe('keyring', () => {
  it('refuses two keys with one kid, which would make every token ambiguous', async () => {
    const keys = [await generateSigningKey('same'), await generateSigningKey('same')];
    await expect(
      createKeyring({ privateJwks: keys, issuer: ISSUER, audience: AUDIENCE, accessTokenTtlSeconds: 60 }),
    ).rejects.toThrow(/Duplicate kid/);
  });
});

describe('time', () => {
  it('goes by its clock: tokens are issued at its time, and refused once it passes their lifetime', async () => {
    // An hour ahead of the system's time: every expiry below can only come from the clock.
    const clock = createTestClock(new Date(Date.now() + 3_600_000));
    const timed = await startUsersTestServer({ clock, accessTokenTtlSeconds: 40 });
    const refreshAt = (refreshToken: string) =>
      timed.client().request<{ refreshSession: SignedInResult }>(REFRESH, { input: { refreshToken } });
    const clockSeconds = () => Math.floor(clock.now().getTime() / 1000);
    try {
      const kim = await timed.register('kim');
      const payload = JSON.parse(Buffer.from(kim.accessToken.split('.')[1]!, 'base64url').toString()) as {
        iat: number;
        exp: number;
      };
      expect(payload).toMatchObject({ iat: clockSeconds(), exp: clockSeconds() + 40 });
      expect(Date.parse(kim.accessTokenExpiresAt)).toBe((clockSeconds() + 40) * 1000);
      expect(Date.parse(kim.refreshTokenExpiresAt)).toBe(clock.now().getTime() + 30 * 24 * 3600 * 1000);

      clock.advance(39_000);
      expect((await timed.client(kim.accessToken).request(ME)).data?.me).toMatchObject({ id: kim.user.id });
      clock.advance(2_000);
      expect(reasonOf(await timed.client(kim.accessToken).request(ME))).toBe('TOKEN_EXPIRED');

      // A refresh issues a token good for its lifetime from the clock's time, and pushes the session's end.
      const renewed = (await refreshAt(kim.refreshToken)).data!.refreshSession;
      expect(Date.parse(renewed.accessTokenExpiresAt)).toBe((clockSeconds() + 40) * 1000);
      expect((await timed.client(renewed.accessToken).request(ME)).data?.me).toMatchObject({
        id: kim.user.id,
      });

      // The refresh token lives 30 days from its last use, by the clock.
      clock.advance(30 * 24 * 3600 * 1000 - 1_000);
      const lastOne = (await refreshAt(renewed.refreshToken)).data!.refreshSession;
      clock.advance(30 * 24 * 3600 * 1000 + 1_000);
      expect(reasonOf(await refreshAt(lastOne.refreshToken))).toBe('SESSION_EXPIRED');
    } finally {
      await timed.stop();
    }
  });
});

describe('ended sessions', () => {
  it('are purged (with their refresh tokens) once past retention; live and recently ended ones stay', async () => {
    const store = sessionStore();
    const user = await server.register('purge');
    const [oldRevoked, oldExpired, recentRevoked] = [
      await server.login(user),
      await server.login(user),
      await server.login(user),
    ];
    await server.sql(`UPDATE sessions SET revoked_at = now() - interval '10 days' WHERE id = $1`, [
      oldRevoked.session.id,
    ]);
    await server.sql(`UPDATE sessions SET expires_at = now() - interval '10 days' WHERE id = $1`, [
      oldExpired.session.id,
    ]);
    await server.sql(`UPDATE sessions SET revoked_at = now() - interval '1 day' WHERE id = $1`, [
      recentRevoked.session.id,
    ]);

    await store.purgeEnded(new Date(Date.now() - 7 * 24 * 3600 * 1000));

    const left = await server.sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [
      user.user.id,
    ]);
    expect(left.map((row) => row.id).sort()).toEqual([user.session.id, recentRevoked.session.id].sort());
    const orphans = await server.sql('SELECT id FROM refresh_tokens WHERE session_id = ANY($1::uuid[])', [
      [oldRevoked.session.id, oldExpired.session.id],
    ]);
    expect(orphans).toEqual([]);
  });
});

describe('changePassword', () => {
  const CHANGE = 'mutation($input: ChangePasswordInput!) { changePassword(input: $input) }';

  it('needs the current password, validates the new one, then ends every other session', async () => {
    const user = await server.register('changer');
    const other = await server.login(user);

    const wrong = await user.api.request(CHANGE, {
      input: { currentPassword: 'not the password', newPassword: 'a brand new password' },
    });
    expect(codeOf(wrong)).toBe('FORBIDDEN');
    const weak = await user.api.request(CHANGE, {
      input: { currentPassword: user.input.password, newPassword: 'short' },
    });
    expect(codeOf(weak)).toBe('BAD_USER_INPUT');

    const changed = await user.api.request<{ changePassword: number }>(CHANGE, {
      input: { currentPassword: user.input.password, newPassword: 'a brand new password' },
    });
    expect(changed.data?.changePassword).toBe(1);
    expect(reasonOf(await server.client(other.accessToken).request(ME))).toBe('SESSION_REVOKED');
    expect(reasonOf(await refresh(other.refreshToken))).toBe('SESSION_REVOKED');
    expect((await user.api.request(ME)).errors).toBeUndefined();

    const oldLogin = await server
      .client()
      .request(LOGIN, { input: { email: user.input.email, password: user.input.password } });
    expect(codeOf(oldLogin)).toBe('UNAUTHENTICATED');
    const newLogin = await server
      .client()
      .request(LOGIN, { input: { email: user.input.email, password: 'a brand new password' } });
    expect(newLogin.errors).toBeUndefined();
  });
});

describe('password change and deletion racing logins', () => {
  it('no login with the old password outlives a password change', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await server.register('racechange');
      const loginOld = () =>
        server.client().request<{ login: SignedInResult }>(LOGIN, {
          input: { email: user.input.email, password: user.input.password },
        });
      await Promise.all([
        loginOld(),
        loginOld(),
        user.api.request('mutation($input: ChangePasswordInput!) { changePassword(input: $input) }', {
          input: { currentPassword: user.input.password, newPassword: `new password ${round}` },
        }),
        loginOld(),
      ]);
      const live = await server.sql<{ id: string }>(
        'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL',
        [user.user.id],
      );
      expect(live.map((row) => row.id)).toEqual([user.session.id]);
    }
  });

  it('no login outlives an account deletion', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await server.register('racedelete');
      const login = () =>
        server.client().request(LOGIN, { input: { email: user.input.email, password: user.input.password } });
      await Promise.all([
        login(),
        user.api.request('mutation($p: String!) { deleteAccount(input: { password: $p }) }', {
          p: user.input.password,
        }),
        login(),
      ]);
      expect(await server.sql('SELECT id FROM sessions WHERE user_id = $1', [user.user.id])).toEqual([]);
    }
  });
});

describe('SessionStore.create', () => {
  it('refuses to start a session when the password hash checked is no longer the stored one', async () => {
    const store = sessionStore();
    const user = await server.register('stale');
    const [row] = await server.sql<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [user.user.id],
    );
    const client = { ip: null, userAgent: null };
    expect(await store.create(user.user.id, `${row!.password_hash}x`, client)).toBeNull();
    expect(await store.create(user.user.id, row!.password_hash, client)).toMatchObject({
      session: { userId: user.user.id },
    });
    await server.sql(`UPDATE users SET deleted_at = now() WHERE id = $1`, [user.user.id]);
    expect(await store.create(user.user.id, row!.password_hash, client)).toBeNull();
  });
});
