import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN, startUsersTestServer, type UsersTestServer } from './users-test-server.js';

const MAX_PER_ACCOUNT = 3;
const MAX_PER_IP = 6;
const WINDOW_SECONDS = 2;

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer({
    maxFailuresPerAccount: MAX_PER_ACCOUNT,
    maxFailuresPerIp: MAX_PER_IP,
    failureWindowSeconds: WINDOW_SECONDS,
  });
});
afterAll(() => server?.stop());

const extensionsOf = (response: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  response.errors?.[0]?.extensions ?? {};

describe('login throttling', () => {
  it('refuses an account with RATE_LIMITED after the configured failures, even with the right password, then recovers', async () => {
    const victim = await server.register('victim');
    const client = server.client(undefined, { 'x-forwarded-for': '198.51.100.10' });
    const attempt = (password: string) =>
      client.request(LOGIN, { input: { email: victim.input.email, password } });

    for (let i = 0; i < MAX_PER_ACCOUNT; i++)
      expect(extensionsOf(await attempt('wrong password!'))['code']).toBe('UNAUTHENTICATED');
    const limited = await attempt(victim.input.password);
    expect(extensionsOf(limited)['code']).toBe('RATE_LIMITED');
    const retryAfter = extensionsOf(limited)['retryAfter'];
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);

    // From another address the account is limited too: the limit protects the account, not the caller.
    const elsewhere = await server
      .client(undefined, { 'x-forwarded-for': '198.51.100.11' })
      .request(LOGIN, { input: { email: victim.input.email, password: victim.input.password } });
    expect(extensionsOf(elsewhere)['code']).toBe('RATE_LIMITED');

    // Waiting as long as the server said is enough (bounded: at most the window plus one poll).
    await new Promise((resolve) => setTimeout(resolve, Number(retryAfter) * 1000));
    let recovered = await attempt(victim.input.password);
    for (let i = 0; i < 20 && extensionsOf(recovered)['code'] === 'RATE_LIMITED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      recovered = await attempt(victim.input.password);
    }
    expect(recovered.errors).toBeUndefined();
  });

  it('a successful login clears the account’s failures', async () => {
    const user = await server.register('forgetful');
    const client = server.client(undefined, { 'x-forwarded-for': '198.51.100.20' });
    const attempt = (password: string) =>
      client.request(LOGIN, { input: { email: user.input.email, password } });
    for (let i = 0; i < MAX_PER_ACCOUNT - 1; i++) await attempt('wrong password!');
    expect((await attempt(user.input.password)).errors).toBeUndefined();
    for (let i = 0; i < MAX_PER_ACCOUNT - 1; i++)
      expect(extensionsOf(await attempt('wrong password!'))['code']).toBe('UNAUTHENTICATED');
    expect((await attempt(user.input.password)).errors).toBeUndefined();
  });

  it('limits one address spraying many accounts', async () => {
    const sprayer = server.client(undefined, { 'x-forwarded-for': '198.51.100.30' });
    const codes: unknown[] = [];
    for (let i = 0; i <= MAX_PER_IP; i++) {
      const response = await sprayer.request(LOGIN, {
        input: { email: `spray${i}@example.test`, password: 'guess guess' },
      });
      codes.push(extensionsOf(response)['code']);
    }
    expect(codes.slice(0, MAX_PER_IP)).toEqual(Array(MAX_PER_IP).fill('UNAUTHENTICATED'));
    expect(codes[MAX_PER_IP]).toBe('RATE_LIMITED');
    const otherAddress = await server
      .client(undefined, { 'x-forwarded-for': '198.51.100.31' })
      .request(LOGIN, { input: { email: 'spray0@example.test', password: 'guess guess' } });
    expect(extensionsOf(otherAddress)['code']).toBe('UNAUTHENTICATED');
  });
});
