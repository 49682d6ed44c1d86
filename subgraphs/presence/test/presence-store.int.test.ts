import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import {
  createTestClock,
  openTestRedis,
  testRedisPrefix,
  testRedisUrl,
  type TestClock,
} from '@parley/kit/testing';
import {
  createRedisPresenceStore,
  type PresenceStore,
  type PresenceTimings,
} from '../src/store/presence-store.js';
import { describePresenceStoreContract } from './presence-contract.js';

describePresenceStoreContract('redis', async ({ prefix, timings, clock }) => {
  const { built: store, cleanup } = openTestRedis(prefix, (redis) =>
    createRedisPresenceStore({ redis, prefix, timings, clock }),
  );
  return { store, cleanup };
});

/** A Redis store on a connection and prefix of its own, on a test clock, for `run` (`keys`: its keys' prefix); its keys deleted after. */
async function withRedisStore(
  options: { clock?: TestClock; timings?: Partial<PresenceTimings> },
  run: (opened: { store: PresenceStore; redis: Redis; keys: string; clock: TestClock }) => Promise<void>,
) {
  const prefix = testRedisPrefix('presence');
  const clock = options.clock ?? createTestClock();
  const {
    built: store,
    redis,
    cleanup,
  } = openTestRedis(prefix, (redis) =>
    createRedisPresenceStore({ redis, prefix, clock, ...(options.timings && { timings: options.timings }) }),
  );
  try {
    await run({ store, redis, keys: `${prefix}presence:`, clock });
  } finally {
    await cleanup();
  }
}

describe('Redis PresenceStore beyond the contract', () => {
  it('reads 100 users with one command on the socket', () =>
    withRedisStore({}, async ({ store, redis }) => {
      const userIds = Array.from({ length: 100 }, (_, index) => `user-${index}`);
      await store.touch(
        userIds
          .filter((_, index) => index % 3 === 0)
          .map((userId) => ({ userId, deviceId: 'd', active: true })),
      );
      await store.read(['warm-up']); // the first call may load the script (EVALSHA, then EVAL)
      const write = vi.spyOn(redis.stream, 'write');
      const states = await store.read(userIds);
      expect(write).toHaveBeenCalledTimes(1);
      write.mockRestore();
      expect(states.filter((state) => state.status === 'ONLINE')).toHaveLength(34);
    }));

  it("keeps the caller's time, not Redis's", () =>
    withRedisStore(
      { clock: createTestClock(new Date('2001-02-03T04:05:06.789Z')), timings: { deviceTtlMs: 60_000 } },
      async ({ store, redis, keys, clock }) => {
        await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
        const now = clock.now().getTime();
        expect(await store.read(['ann'])).toEqual([{ status: 'ONLINE', lastSeenAt: now }]);
        expect(Number(await redis.hget(`${keys}u:ann`, 'd:tab'))).toBe(now + 60_000);
        expect(await store.startTyping('c1', 'ann')).toEqual({
          started: true,
          expiresAt: now + store.timings.typingTtlMs,
        });
      },
    ));

  it('writes nothing back when a lapsed claim finds its record gone (expired or evicted)', () =>
    withRedisStore({}, async ({ store, redis, keys, clock }) => {
      await store.touch([{ userId: 'ann', deviceId: 'd', active: true }]);
      clock.advance(store.timings.settleMs);
      expect(await store.claimChanges(10)).toHaveLength(1);
      await redis.del(`${keys}u:ann`); // gone while its change was being published
      // Once the lease lapses, a sweep lets the claim go...
      clock.advance(store.timings.claimLeaseMs);
      await store.sweep(10);
      expect(await redis.zcard(`${keys}claimed`)).toBe(0);
      // ...and writes nothing back for the record that is gone.
      expect(await redis.exists(`${keys}u:ann`)).toBe(0);
      expect(await redis.zcard(`${keys}dirty`)).toBe(0);
    }));

  it('stops an indicator that ended unclaimed even once Redis collected its set', () =>
    withRedisStore({}, async ({ store, redis, keys, clock }) => {
      await store.startTyping('c1', 'bob');
      clock.advance(store.timings.typingTtlMs * 3);
      // As Redis does twice the TTL after their last write (in its own time, which the test's clock does not move).
      await redis.del(`${keys}t:c1`, `${keys}ut:bob`);
      expect(await store.typingIn(['c1'])).toEqual([[]]);
      // Nobody was told it ended: stopping it counts, and it is not claimed afterwards.
      expect(await store.stopTyping('c1', 'bob')).toBe(true);
      expect(await store.claimExpiredTyping(100)).toEqual([]);
    }));

  it('refuses a prefix without a trailing colon and non-positive timings', () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true });
    expect(() => createRedisPresenceStore({ redis, prefix: 'nocolon' })).toThrow(/prefix/);
    expect(() => createRedisPresenceStore({ redis, prefix: 'p:', timings: { settleMs: 0 } })).toThrow(
      /settleMs/,
    );
    redis.disconnect();
  });
});
