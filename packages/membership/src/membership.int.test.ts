import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createMembershipReader,
  createRedisMembershipProjection,
  type ConversationKind,
  type MemberRole,
  type RedisMembershipProjectionOptions,
} from './membership.js';
import { deleteRedisKeys, testRedisUrl } from '@parley/kit/testing';
import { describeMembershipProjectionContract } from './testing/index.js';

/** A Redis projection on its own connection; cleanup deletes its keys and disconnects. */
function openRedisProjection(prefix: string, options: Partial<RedisMembershipProjectionOptions> = {}) {
  const redis = new Redis(testRedisUrl());
  try {
    return {
      projection: createRedisMembershipProjection({ redis, prefix, ...options }),
      redis,
      cleanup: async () => {
        await deleteRedisKeys(redis, prefix);
        redis.disconnect();
      },
    };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

const members = (entries: Record<string, MemberRole>) => new Map(Object.entries(entries));
/** The state replace takes: these members, in a GROUP unless `kind` says otherwise. */
const state = (entries: Record<string, MemberRole>, kind: ConversationKind = 'GROUP') => ({
  kind,
  members: members(entries),
});
const randomPrefix = () => `parley-test:membership:${randomUUID()}:`;

describeMembershipProjectionContract('redis', async ({ prefix }) => openRedisProjection(prefix));

describe('Redis MembershipProjection beyond the contract', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  const open = (prefix = randomPrefix(), options: Partial<RedisMembershipProjectionOptions> = {}) => {
    const instance = openRedisProjection(prefix, options);
    cleanups.push(instance.cleanup);
    return { ...instance, prefix };
  };

  it('answers membershipsOf for 50 conversations with one write to the socket', async () => {
    const { projection, redis } = open();
    const ids = Array.from({ length: 50 }, (_, index) => `c${index}`);
    for (const [index, id] of ids.entries()) {
      if (index % 2 === 0) await projection.replace(id, 1, state({ ann: 'MEMBER' }, 'DIRECT'));
    }
    await redis.ping();
    // Every command ioredis sends goes through this socket's write: 50 awaited HMGETs would be 50 writes.
    const write = vi.spyOn(redis.stream, 'write');
    const memberships = await projection.membershipsOf('ann', ids);
    expect(write).toHaveBeenCalledTimes(1);
    write.mockRestore();
    expect(memberships).toEqual(
      ids.map((_, index) => (index % 2 === 0 ? { role: 'MEMBER', kind: 'DIRECT' } : undefined)),
    );
  });

  it('keeps the documented layout: one hash per conversation with v, d, k and u:<userId>', async () => {
    const { projection, redis, prefix } = open();
    await projection.replace('c1', 12, state({ ann: 'OWNER', bob: 'MEMBER' }));
    expect(await redis.hgetall(`${prefix}membership:c1`)).toEqual({
      v: '12',
      k: 'GROUP',
      'u:ann': 'OWNER',
      'u:bob': 'MEMBER',
    });
    await projection.markDeleted('c1', 13);
    expect(await redis.hgetall(`${prefix}membership:c1`)).toEqual({ v: '13', d: '1' });
  });

  it('treats a hash written before kinds were stored (no k) as unknown, and lets the same version repair it', async () => {
    const { projection, redis, prefix } = open();
    await redis.hset(`${prefix}membership:c1`, { v: '7', 'u:ann': 'OWNER', 'u:bob': 'MEMBER' });
    expect(await projection.membershipsOf('ann', ['c1'])).toEqual([undefined]);
    expect(await projection.membershipsOf('eve', ['c1'])).toEqual([undefined]);
    expect(await projection.snapshot('c1')).toBeUndefined();
    // An older version could still bring back an old membership: refused as always.
    expect(await projection.replace('c1', 6, state({ eve: 'OWNER' }))).toBe(false);
    expect(await projection.replace('c1', 7, state({ ann: 'MEMBER', bob: 'MEMBER' }, 'DIRECT'))).toBe(true);
    expect(await projection.membershipsOf('ann', ['c1'])).toEqual([{ role: 'MEMBER', kind: 'DIRECT' }]);
    // Once it has its kind, the same version is refused again.
    expect(await projection.replace('c1', 7, state({ eve: 'OWNER' }))).toBe(false);
  });

  it('still knows an old deleted tombstone (no k either): null, and an equal version does not revive it', async () => {
    const { projection, redis, prefix } = open();
    await redis.hset(`${prefix}membership:c1`, { v: '9', d: '1' });
    expect(await projection.membershipsOf('ann', ['c1'])).toEqual([null]);
    expect(await projection.replace('c1', 9, state({ ann: 'OWNER' }))).toBe(false);
    expect(await projection.snapshot('c1')).toEqual({
      version: 9,
      deleted: true,
      kind: null,
      members: new Map(),
    });
  });

  it('a reader repairs a hash written before kinds were stored', async () => {
    const { projection, redis, prefix } = open();
    await redis.hset(`${prefix}membership:c1`, { v: '4', 'u:ann': 'OWNER' });
    const repairs: string[][] = [];
    const reader = createMembershipReader({
      projection,
      repair: async (ids) => {
        repairs.push(ids);
        await projection.replace('c1', 4, state({ ann: 'OWNER' }));
      },
    });
    expect(await reader.membershipsOf('ann', ['c1'])).toEqual([{ role: 'OWNER', kind: 'GROUP' }]);
    expect(repairs).toEqual([['c1']]);
  });

  it('expires a deleted conversation after deletedTtlSeconds, and a newer replace keeps no expiry', async () => {
    const { projection, redis, prefix } = open(randomPrefix(), { deletedTtlSeconds: 600 });
    const key = `${prefix}membership:c1`;
    await projection.replace('c1', 1, state({ ann: 'OWNER' }));
    expect(await redis.ttl(key)).toBe(-1);
    await projection.markDeleted('c1', 2);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    await projection.replace('c1', 3, state({ ann: 'OWNER' }));
    expect(await redis.ttl(key)).toBe(-1);
  });

  it.each([0, -5, 1.5])('refuses deletedTtlSeconds %s', (deletedTtlSeconds) => {
    expect(() => open(randomPrefix(), { deletedTtlSeconds })).toThrow(RangeError);
  });

  it('shares the projection between two connections with the same prefix, as between two processes', async () => {
    const prefix = randomPrefix();
    const writer = open(prefix).projection;
    const reader = open(prefix).projection;
    await writer.replace('c1', 3, state({ ann: 'ADMIN' }));
    expect(await reader.membershipsOf('ann', ['c1'])).toEqual([{ role: 'ADMIN', kind: 'GROUP' }]);
    expect(await reader.replace('c1', 2, state({ ann: 'OWNER' }))).toBe(false);
  });
});
