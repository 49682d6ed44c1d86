import { GraphQLError } from 'graphql';
import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EnvError, parseEnv } from './env.js';
import {
  createServiceAuth,
  DEVELOPMENT_SERVICE_TOKEN_SECRET,
  requireService,
  SERVICE_TOKEN_AUDIENCE,
  SERVICE_TOKEN_TYPE,
  serviceAuthEnvShape,
  serviceTokenSecret,
} from './service-auth.js';

const SECRET = 'a-test-secret-of-at-least-thirty-two-characters';
const presence = createServiceAuth({ secret: SECRET, service: 'presence' });
const users = createServiceAuth({ secret: SECRET, service: 'users' });

const tokenOf = (header: string) => header.slice('Service '.length);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A service token signed with jose directly, so a test can give it any claims. */
const signed = (claims: { iat: number; exp: number }, secret = SECRET) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: SERVICE_TOKEN_TYPE })
    .setIssuer('presence')
    .setAudience(SERVICE_TOKEN_AUDIENCE)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(secret));

afterEach(() => {
  vi.useRealTimers();
});

describe('createServiceAuth', () => {
  it('signs a token that any service sharing the secret verifies to the caller’s name', async () => {
    const header = await presence.authorization();
    expect(header).toMatch(/^Service [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await users.verify(header)).toBe('presence');
    expect(await presence.verify(header)).toBe('presence');
    expect(decodeProtectedHeader(tokenOf(header))).toEqual({ alg: 'HS256', typ: SERVICE_TOKEN_TYPE });
    const claims = decodeJwt(tokenOf(header));
    expect(claims).toMatchObject({ iss: 'presence', aud: 'parley-internal' });
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it('accepts the scheme in any case and surrounding spaces, as HTTP allows', async () => {
    const token = tokenOf(await presence.authorization());
    expect(await users.verify(`service ${token}`)).toBe('presence');
    expect(await users.verify(` SERVICE ${token} `)).toBe('presence');
  });

  it('reuses its token while more than 20 seconds remain, then signs a new one', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-22T09:30:00.000Z') });
    const auth = createServiceAuth({ secret: SECRET, service: 'presence' });
    const first = await auth.authorization();
    vi.setSystemTime(new Date('2026-11-22T09:30:39.000Z'));
    expect(await auth.authorization()).toBe(first);
    vi.setSystemTime(new Date('2026-11-22T09:30:41.000Z'));
    const second = await auth.authorization();
    expect(second).not.toBe(first);
    expect(decodeJwt(tokenOf(second)).exp).toBe(Date.parse('2026-11-22T09:31:41.000Z') / 1000);
    expect(await auth.verify(second)).toBe('presence');
  });

  it('refuses a token signed with another secret', async () => {
    const other = createServiceAuth({ secret: `${SECRET}-other`, service: 'presence' });
    expect(await users.verify(await other.authorization())).toBeNull();
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const [header, , signature] = tokenOf(await presence.authorization()).split('.');
    const claims = { iss: 'users', aud: SERVICE_TOKEN_AUDIENCE, iat: nowSeconds(), exp: nowSeconds() + 60 };
    const payload = base64url.encode(JSON.stringify(claims));
    expect(await users.verify(`Service ${header}.${payload}.${signature}`)).toBeNull();
  });

  it('refuses an expired token, and one that claims a lifetime longer than 60 seconds once it is older', async () => {
    const expired = await signed({ iat: nowSeconds() - 180, exp: nowSeconds() - 120 });
    expect(await users.verify(`Service ${expired}`)).toBeNull();
    const longLived = await signed({ iat: nowSeconds() - 120, exp: nowSeconds() + 3600 });
    expect(await users.verify(`Service ${longLived}`)).toBeNull();
    const fresh = await signed({ iat: nowSeconds(), exp: nowSeconds() + 60 });
    expect(await users.verify(`Service ${fresh}`)).toBe('presence');
  });

  it('refuses a user’s access token, whatever the scheme it comes under', async () => {
    const { privateKey } = await generateKeyPair('EdDSA');
    const accessToken = await new SignJWT({ sid: 'session-1' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })
      .setSubject('user-1')
      .setIssuer('parley')
      .setAudience('parley')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await users.verify(`Bearer ${accessToken}`)).toBeNull();
    expect(await users.verify(`Service ${accessToken}`)).toBeNull();
    // Signed with the shared secret but not typed as a service token.
    const untyped = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('presence')
      .setAudience(SERVICE_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(SECRET));
    expect(await users.verify(`Service ${untyped}`)).toBeNull();
  });

  it('gives null, never an exception, for garbage, a missing header and a bare token', async () => {
    const token = tokenOf(await presence.authorization());
    for (const header of [null, '', 'Service', 'Service ', 'Service x.y.z', 'Basic dXNlcjpwYXNz', token])
      expect(await users.verify(header)).toBeNull();
    expect(await users.verify(`Bearer ${token}`)).toBeNull();
    expect(await users.verify(`Service ${token} ${token}`)).toBeNull();
  });

  it('refuses a secret shorter than 32 characters', () => {
    expect(() => createServiceAuth({ secret: 'short', service: 'presence' })).toThrow(/32/);
  });
});

describe('requireService', () => {
  it('names the calling service, or throws FORBIDDEN', async () => {
    expect(await requireService(await presence.authorization(), users)).toBe('presence');
    for (const header of [null, 'Bearer abc.def.ghi', 'Service abc.def.ghi']) {
      const error = await requireService(header, users).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GraphQLError);
      expect((error as GraphQLError).extensions['code']).toBe('FORBIDDEN');
    }
  });
});

describe('serviceTokenSecret', () => {
  it('uses SERVICE_TOKEN_SECRET when set', () => {
    expect(serviceTokenSecret({ NODE_ENV: 'production', SERVICE_TOKEN_SECRET: SECRET })).toBe(SECRET);
    expect(serviceTokenSecret({ NODE_ENV: 'development', SERVICE_TOKEN_SECRET: SECRET })).toBe(SECRET);
  });

  it('falls back to the development secret outside production', () => {
    expect(serviceTokenSecret({ NODE_ENV: 'development' })).toBe(DEVELOPMENT_SERVICE_TOKEN_SECRET);
    expect(serviceTokenSecret({ NODE_ENV: 'test', SERVICE_TOKEN_SECRET: undefined })).toBe(
      DEVELOPMENT_SERVICE_TOKEN_SECRET,
    );
    expect(DEVELOPMENT_SERVICE_TOKEN_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it('reads as an optional variable of at least 32 characters', () => {
    const schema = z.object(serviceAuthEnvShape);
    expect(parseEnv(schema, {})).toEqual({});
    expect(parseEnv(schema, { SERVICE_TOKEN_SECRET: SECRET })).toEqual({ SERVICE_TOKEN_SECRET: SECRET });
    expect(() => parseEnv(schema, { SERVICE_TOKEN_SECRET: 'too-short' })).toThrow(/SERVICE_TOKEN_SECRET/);
  });

  it('throws EnvError in production without it', () => {
    expect(() => serviceTokenSecret({ NODE_ENV: 'production' })).toThrow(EnvError);
    expect(() => serviceTokenSecret({ NODE_ENV: 'production' })).toThrow(/SERVICE_TOKEN_SECRET/);
  });
});
