import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { createTestClock, deleteRedisKeys, testRedisUrl } from '@parley/kit/testing';
import { createRedisPresenceStore } from '../src/store/presence-store.js';
import { describePresenceStoreContract } from './presence-contract.js';

describePresenceStoreContract('redis', async ({ prefix, timings, clock }) => {
  const redis = new Redis(testRedisUrl());
  return {
    store: createRedisPresenceStore({ redis, prefix, timings, clock }),
    cleanup: async () => {
      await deleteRedisKeys(redis, prefix);
      redis.disconnect();
    },
  };
});

describe('Redis PresenceStore beyond the contract', () => {
  it('reads 100 users with one command on the socket', async () => {
    const redis = new Redis(testRedisUrl());
    const prefix = `parley-test:presence:${crypto.randomUUID()}:`;
    try {
      const store = createRedisPresenceStore({ redis, prefix, clock: createTestClock() });
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
    } finally {
      await deleteRedisKeys(redis, prefix);
      redis.disconnect();
    }
  });

  it("keeps the caller's time, not Redis's", async () => {
    const redis = new Redis(testRedisUrl());
    const prefix = `parley-test:presence:${crypto.randomUUID()}:`;
    try {
      const clock = createTestClock(new Date('2001-02-03T04:05:06.789Z'));
      const store = createRedisPresenceStore({ redis, prefix, clock, timings: { deviceTtlMs: 60_000 } });
      await store.touch([{ userId: 'ann', deviceId: 'tab', active: true }]);
      const now = clock.now().getTime();
      expect(await store.read(['ann'])).toEqual([{ status: 'ONLINE', lastSeenAt: now }]);
      expect(Number(await redis.hget(`${prefix}presence:u:ann`, 'd:tab'))).toBe(now + 60_000);
      expect(await store.startTyping('c1', 'ann')).toEqual({
        started: true,
        expiresAt: now + store.timings.typingTtlMs,
      });
    } finally {
      await deleteRedisKeys(redis, prefix);
      redis.disconnect();
    }
  });

  it('writes nothing back when a lapsed claim finds its record gone (expired or evicted)', async () => {
    const redis = new Redis(testRedisUrl());
    const prefix = `parley-test:presence:${crypto.randomUUID()}:`;
    try {
      const clock = createTestClock();
      const store = createRedisPresenceStore({ redis, prefix, clock });
      await store.touch([{ userId: 'ann', deviceId: 'd', active: true }]);
      clock.advance(store.timings.settleMs);
      expect(await store.claimChanges(10)).toHaveLength(1);
      await redis.del(`${prefix}presence:u:ann`); // gone while its change was being published
      // Once the lease lapses, a sweep lets the claim go...
      clock.advance(store.timings.claimLeaseMs);
      await store.sweep(10);
      expect(await redis.zcard(`${prefix}presence:claimed`)).toBe(0);
      // ...and writes nothing back for the record that is gone.
      expect(await redis.exists(`${prefix}presence:u:ann`)).toBe(0);
      expect(await redis.zcard(`${prefix}presence:dirty`)).toBe(0);
    } finally {
      await deleteRedisKeys(redis, prefix);
      redis.disconnect();
    }
  });

  it('stops an indicator that ended unclaimed even once Redis collected its set', async () => {
    const redis = new Redis(testRedisUrl());
    const prefix = `parley-test:presence:${crypto.randomUUID()}:`;
    try {
      const clock = createTestClock();
      const store = createRedisPresenceStore({ redis, prefix, clock });
      await store.startTyping('c1', 'bob');
      clock.advance(store.timings.typingTtlMs * 3);
      // As Redis does twice the TTL after their last write (in its own time, which the test's clock does not move).
      await redis.del(`${prefix}presence:t:c1`, `${prefix}presence:ut:bob`);
      expect(await store.typingIn(['c1'])).toEqual([[]]);
      // Nobody was told it ended: stopping it counts, and it is not claimed afterwards.
      expect(await store.stopTyping('c1', 'bob')).toBe(true);
      expect(await store.claimExpiredTyping(100)).toEqual([]);
    } finally {
      await deleteRedisKeys(redis, prefix);
      redis.disconnect();
    }
  });

  it('refuses a prefix without a trailing colon and non-positive timings', () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true });
    expect(() => createRedisPresenceStore({ redis, prefix: 'nocolon' })).toThrow(/prefix/);
    expect(() => createRedisPresenceStore({ redis, prefix: 'p:', timings: { settleMs: 0 } })).toThrow(
      /settleMs/,
    );
    redis.disconnect();
  });
});
