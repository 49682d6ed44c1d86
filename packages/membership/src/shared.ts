import { acquireShared, type Resources, type SharedRegistry } from '@parley/kit';
import type { Redis } from 'ioredis';
import {
  createMemoryMembershipProjection,
  createRedisMembershipProjection,
  type MembershipProjection,
} from './membership.js';

const inProcess: SharedRegistry<MembershipProjection> = new Map();

/**
 * A service's membership projection: on its Redis when it has one. Without Redis (`npm start`'s one process)
 * the writer and every reader must see the same one: one in memory per prefix, shared by the process's
 * services and released with the last of them.
 */
export function openMembershipProjection(
  resources: Resources,
  { redis, prefix }: { redis: Redis | null; prefix: string },
): MembershipProjection {
  if (redis) return createRedisMembershipProjection({ redis, prefix });
  return acquireShared(resources, inProcess, prefix, () => ({
    value: createMemoryMembershipProjection({ prefix }),
    close: async () => {},
  }));
}
