import { EnvError } from '@parley/kit';
import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../src/auth/keyring.js';
import { readUsersEnv } from '../src/env.js';
import { startUsersService } from '../src/service.js';

describe('users environment', () => {
  it('runs on embedded defaults with nothing set', () => {
    const env = readUsersEnv({});
    expect(env).toMatchObject({ PORT: 4001, REDIS_PREFIX: 'parley:', DATABASE_SCHEMA: 'public' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
  });

  it('parses AUTH_SIGNING_KEYS as private Ed25519 JWKs', async () => {
    const key = await generateSigningKey('k1');
    const env = readUsersEnv({ AUTH_SIGNING_KEYS: JSON.stringify([key]) });
    expect(env.AUTH_SIGNING_KEYS).toEqual([key]);
  });

  it('reports every problem at once: bad JSON keys, a non-Postgres URL, a prefix without separator', () => {
    let error: unknown;
    try {
      readUsersEnv({
        AUTH_SIGNING_KEYS: '[{not json',
        DATABASE_URL: 'mysql://x/y',
        REDIS_PREFIX: 'parley',
        PORT: 'eighty',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvError);
    const issues = (error as EnvError).issues.join('\n');
    for (const name of ['AUTH_SIGNING_KEYS', 'DATABASE_URL', 'REDIS_PREFIX', 'PORT'])
      expect(issues).toContain(name);
  });

  it('refuses a public key (no `d`) as a signing key', async () => {
    const { d: _private, ...publicOnly } = await generateSigningKey('k1');
    expect(() => readUsersEnv({ AUTH_SIGNING_KEYS: JSON.stringify([publicOnly]) })).toThrow(
      /AUTH_SIGNING_KEYS/,
    );
  });

  it('requires AUTH_SIGNING_KEYS in production', () => {
    expect(() => readUsersEnv({ NODE_ENV: 'production' })).toThrow(/AUTH_SIGNING_KEYS/);
  });

  it('takes SERVICE_TOKEN_SECRET of at least 32 characters', () => {
    const secret = 'a-service-token-secret-of-32-chars!';
    expect(readUsersEnv({ SERVICE_TOKEN_SECRET: secret }).SERVICE_TOKEN_SECRET).toBe(secret);
    expect(() => readUsersEnv({ SERVICE_TOKEN_SECRET: 'short' })).toThrow(/SERVICE_TOKEN_SECRET/);
  });

  it('refuses to start in production without SERVICE_TOKEN_SECRET, before opening anything', async () => {
    const env = readUsersEnv({
      NODE_ENV: 'production',
      AUTH_SIGNING_KEYS: JSON.stringify([await generateSigningKey('k1')]),
      DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
    });
    await expect(startUsersService(env)).rejects.toThrow(EnvError);
  });
});
