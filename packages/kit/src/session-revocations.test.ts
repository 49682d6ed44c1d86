import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_OPTIONS } from './service-redis.js';
import { createRedisSessionRevocations, type RedisSessionRevocations } from './session-revocations.js';
import { startTestRedisServer, type TestRedisServer } from './testing/redis-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function redisServer(): Promise<TestRedisServer> {
  const server = await startTestRedisServer();
  cleanups.push(() => server.stop());
  return server;
}

/** A process's view on `url`: its own connections, as openServiceRedis makes them; pushes and explicit syncs only. */
function viewOn(url: string, now?: () => number): RedisSessionRevocations {
  const redis = new Redis(url, REDIS_OPTIONS);
  const subscriber = new Redis(url, { ...REDIS_OPTIONS, commandTimeout: undefined });
  for (const connection of [redis, subscriber]) connection.on('error', () => {});
  const view = createRedisSessionRevocations({
    redis,
    subscriber,
    prefix: 'revocations-test:',
    syncIntervalMs: 3_600_000,
    ...(now && { now }),
  });
  cleanups.push(async () => {
    await view.close();
    redis.disconnect();
  });
  return view;
}

describe('session revocations in Redis', () => {
  it('a process started while Redis was down hears of revocations by push once Redis is up', async () => {
    const server = await redisServer();
    await server.stop();
    const late = viewOn(server.url);
    // Its SUBSCRIBE is dropped while Redis cannot be reached...
    await late.started();
    await server.start();
    // Read once, so what it learns next can only come by push (its own reads are an hour apart).
    await expect
      .poll(
        () =>
          late.sync().then(
            () => true,
            () => false,
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    const revoker = viewOn(server.url);
    await revoker.started();
    // ...and made again once it can: the push arrives without waiting for a sync.
    await expect
      .poll(
        async () => {
          await revoker.revoke(['session-1'], 60);
          return late.isRevoked('session-1');
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
  });

  it('keeps an entry a minute past the token lifetime it was given (clocks apart, a token signed meanwhile)', async () => {
    const server = await redisServer();
    let now = Date.now();
    const view = viewOn(server.url, () => now);
    await view.started();
    await view.revoke(['session-2'], 60);
    now += 60_000 + 59_000;
    expect(await view.isRevoked('session-2')).toBe(true);
    now += 2_000;
    expect(await view.isRevoked('session-2')).toBe(false);
  });

  it('never shortens an entry another process wrote with a later expiry', async () => {
    const server = await redisServer();
    const admin = new Redis(server.url);
    cleanups.push(() => admin.disconnect());
    const later = Date.now() + 3_600_000;
    await admin.zadd('revocations-test:revoked-sessions', later, 'session-3');
    const view = viewOn(server.url);
    await view.started();
    await view.revoke(['session-3'], 60);
    expect(Number(await admin.zscore('revocations-test:revoked-sessions', 'session-3'))).toBe(later);
  });
});
