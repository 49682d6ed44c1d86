import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { deleteRedisKeys, testRedisUrl } from '@parley/kit/testing';
import { createRedisPresenceStore } from '../src/store/presence-store.js';
import { describePresenceStoreContract } from './presence-contract.js';

describePresenceStoreContract('redis', async ({ prefix, timings }) => {
  const redis = new Redis(testRedisUrl());
  return {
    store: createRedisPresenceStore({ redis, prefix, timings }),
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
      const store = createRedisPresenceStore({ redis, prefix });
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

  it('writes nothing back when a lapsed claim finds its record gone (expired or evicted)', async () => {
    const redis = new Redis(testRedisUrl());
    const prefix = `parley-test:presence:${crypto.randomUUID()}:`;
    try {
      const store = createRedisPresenceStore({ redis, prefix, timings: { settleMs: 10, claimLeaseMs: 100 } });
      await store.touch([{ userId: 'ann', deviceId: 'd', active: true }]);
      await vi.waitFor(async () => expect(await store.claimChanges(10)).toHaveLength(1));
      await redis.del(`${prefix}presence:u:ann`); // gone while its change was being published
      // Once the lease lapses, a sweep lets the claim go...
      await vi.waitFor(async () => {
        await store.sweep(10);
        expect(await redis.zcard(`${prefix}presence:claimed`)).toBe(0);
      });
      // ...and writes nothing back for the record that is gone.
      expect(await redis.exists(`${prefix}presence:u:ann`)).toBe(0);
      expect(await redis.zcard(`${prefix}presence:dirty`)).toBe(0);
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
