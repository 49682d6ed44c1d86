import { codeOf, extensionsOf, testRedisUrl } from '@parley/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN, REGISTER, startUsersTestServer, type UsersTestServer } from './users-test-server.js';

const MAX_PER_ACCOUNT = 3;
const MAX_PER_ACCOUNT_TOTAL = 8;
const MAX_PER_IP = 6;
const WINDOW_SECONDS = 2;

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer({
    maxFailuresPerAccount: MAX_PER_ACCOUNT,
    maxFailuresPerAccountTotal: MAX_PER_ACCOUNT_TOTAL,
    maxFailuresPerIp: MAX_PER_IP,
    failureWindowSeconds: WINDOW_SECONDS,
  });
});
afterAll(() => server?.stop());

describe('login throttling', () => {
  it('refuses an account with RATE_LIMITED after the configured failures, even with the right password, then recovers', async () => {
    const victim = await server.register('victim');
    const client = server.client(undefined, { 'x-forwarded-for': '198.51.100.10' });
    const attempt = (password: string) =>
      client.request(LOGIN, { input: { email: victim.input.email, password } });

    for (let i = 0; i < MAX_PER_ACCOUNT; i++)
      expect(codeOf(await attempt('wrong password!'))).toBe('UNAUTHENTICATED');
    const limited = await attempt(victim.input.password);
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    const retryAfter = extensionsOf(limited)['retryAfter'];
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);

    // The owner, from their own address, is not locked out by someone failing on purpose elsewhere.
    const owner = await server
      .client(undefined, { 'x-forwarded-for': '198.51.100.11' })
      .request(LOGIN, { input: { email: victim.input.email, password: victim.input.password } });
    expect(owner.errors).toBeUndefined();
    // Another address in the same IPv6 /64 is the same attacker.
    const v6 = (suffix: string) =>
      server
        .client(undefined, { 'x-forwarded-for': `2001:db8:1:2::${suffix}` })
        .request(LOGIN, { input: { email: victim.input.email, password: 'wrong password!' } });
    for (let i = 0; i < MAX_PER_ACCOUNT; i++) await v6(String(i + 1));
    expect(codeOf(await v6('ffff'))).toBe('RATE_LIMITED');

    // Waiting as long as the server said is enough: every login count that refuses ends by then (Redis expires
    // them), and once they have ended the right password works again. Their ending is Redis's own expiry,
    // brought forward here rather than waited for.
    const redis = new Redis(testRedisUrl());
    try {
      const counts = await redis.keys(`${server.prefix}throttle:login-*`);
      expect(counts.length).toBeGreaterThan(0);
      for (const key of counts) {
        const remaining = await redis.pttl(key);
        expect(remaining).toBeGreaterThan(0);
        expect(remaining).toBeLessThanOrEqual(Number(retryAfter) * 1000);
      }
      await redis.del(...counts);
    } finally {
      redis.disconnect();
    }
    const recovered = await attempt(victim.input.password);
    expect(recovered.errors).toBeUndefined();
  });

  it('parallel guesses from many addresses cannot outrun the account-wide count', async () => {
    const target = await server.register('burst');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server
          .client(undefined, { 'x-forwarded-for': `198.51.100.${100 + i}` })
          .request(LOGIN, { input: { email: target.input.email, password: `guess number ${i}` } }),
      ),
    );
    const codes = responses.map((response) => codeOf(response));
    expect(codes.filter((code) => code === 'UNAUTHENTICATED')).toHaveLength(MAX_PER_ACCOUNT_TOTAL);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(20 - MAX_PER_ACCOUNT_TOTAL);
  });

  it('the password re-check (deleteAccount) has a budget of its own, apart from login', async () => {
    const holder = await server.register('holder');
    const guess = (password: string) =>
      holder.api.request('mutation($p: String!) { deleteAccount(input: { password: $p }) }', { p: password });
    for (let i = 0; i < MAX_PER_ACCOUNT; i++)
      expect(codeOf(await guess(`guess ${i} wrong`))).toBe('FORBIDDEN');
    expect(codeOf(await guess(holder.input.password))).toBe('RATE_LIMITED');
    expect((await holder.api.request('{ me { id } }')).errors).toBeUndefined();
    // Login of the same account from the same address is unaffected, and vice versa.
    const login = await server
      .client()
      .request(LOGIN, { input: { email: holder.input.email, password: holder.input.password } });
    expect(login.errors).toBeUndefined();
  });

  it('a successful login clears the account’s failures', async () => {
    const user = await server.register('forgetful');
    const client = server.client(undefined, { 'x-forwarded-for': '198.51.100.20' });
    const attempt = (password: string) =>
      client.request(LOGIN, { input: { email: user.input.email, password } });
    for (let i = 0; i < MAX_PER_ACCOUNT - 1; i++) await attempt('wrong password!');
    expect((await attempt(user.input.password)).errors).toBeUndefined();
    for (let i = 0; i < MAX_PER_ACCOUNT - 1; i++)
      expect(codeOf(await attempt('wrong password!'))).toBe('UNAUTHENTICATED');
    expect((await attempt(user.input.password)).errors).toBeUndefined();
  });

  it('limits one address spraying many accounts', async () => {
    const sprayer = server.client(undefined, { 'x-forwarded-for': '198.51.100.30' });
    const codes: unknown[] = [];
    for (let i = 0; i <= MAX_PER_IP; i++) {
      const response = await sprayer.request(LOGIN, {
        input: { email: `spray${i}@example.test`, password: 'guess guess' },
      });
      codes.push(codeOf(response));
    }
    expect(codes.slice(0, MAX_PER_IP)).toEqual(Array(MAX_PER_IP).fill('UNAUTHENTICATED'));
    expect(codes[MAX_PER_IP]).toBe('RATE_LIMITED');
    const otherAddress = await server
      .client(undefined, { 'x-forwarded-for': '198.51.100.31' })
      .request(LOGIN, { input: { email: 'spray0@example.test', password: 'guess guess' } });
    expect(codeOf(otherAddress)).toBe('UNAUTHENTICATED');
  });
});

describe('registration throttling', () => {
  it('limits registrations per address', async () => {
    const limited = await startUsersTestServer({ maxRegistrationsPerIp: 2 });
    try {
      const register = (i: number, ip: string) =>
        limited.client(undefined, { 'x-forwarded-for': ip }).request(REGISTER, {
          input: {
            email: `reg${i}_${ip}@example.test`,
            username: `reg${i}_${ip.replace(/\./g, '_')}`,
            password: 'long password 1',
          },
        });
      expect((await register(1, '192.0.2.1')).errors).toBeUndefined();
      expect((await register(2, '192.0.2.1')).errors).toBeUndefined();
      expect(codeOf(await register(3, '192.0.2.1'))).toBe('RATE_LIMITED');
      expect((await register(4, '192.0.2.2')).errors).toBeUndefined();
    } finally {
      await limited.stop();
    }
  });
});
