import type { Redis } from 'ioredis';
import { KEY_PREFIX } from './env.js';

export type MemberRole = 'OWNER' | 'ADMIN' | 'MEMBER';

export interface MembershipSnapshot {
  version: number;
  deleted: boolean;
  members: ReadonlyMap<string, MemberRole>;
}

/**
 * Who belongs to each conversation, as the conversations subgraph (its only writer) last wrote it after a
 * committed change, so other subgraphs can check membership without calling it or reading its tables.
 * Every write carries the version of the conversations database's membership counter; a write never
 * replaces a newer or equal one, so writes that arrive out of order cannot bring back an old membership.
 */
export interface MembershipProjection {
  /** Stores the conversation's complete membership unless the stored version is >= `version` (then a no-op). Returns whether it was stored. */
  replace(
    conversationId: string,
    version: number,
    members: ReadonlyMap<string, MemberRole>,
  ): Promise<boolean>;
  /** Marks the conversation deleted at `version` (same version rule); a deleted conversation has no members. */
  markDeleted(conversationId: string, version: number): Promise<boolean>;
  /**
   * For each conversation, in order: the user's role; null when the projection knows the conversation and
   * the user is not a member (or it was deleted); undefined when the projection holds nothing for it (never
   * written, or lost, e.g. Redis restarted). One round trip.
   */
  rolesOf(userId: string, conversationIds: readonly string[]): Promise<Array<MemberRole | null | undefined>>;
  /** The whole snapshot, or undefined when unknown (realtime fan-out). */
  snapshot(conversationId: string): Promise<MembershipSnapshot | undefined>;
  /** Forgets a conversation (tests simulate a lost projection with it). */
  forget(conversationId: string): Promise<void>;
}

function checkPrefix(prefix: string): void {
  if (!KEY_PREFIX.test(prefix)) {
    throw new Error(`A membership projection key prefix is required and must end with ":" (got "${prefix}")`);
  }
}

function checkVersion(version: number): void {
  // Lua compares versions as doubles: beyond 2^53 two different versions could compare equal.
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError(`A membership version must be a non-negative safe integer (got ${version})`);
  }
}

/** For the embedded single-process mode and tests; every subgraph in the process must share this one instance. */
export function createMemoryMembershipProjection({ prefix }: { prefix: string }): MembershipProjection {
  checkPrefix(prefix);
  const snapshots = new Map<string, MembershipSnapshot>();
  const store = (conversationId: string, snapshot: MembershipSnapshot) => {
    checkVersion(snapshot.version);
    const stored = snapshots.get(conversationId);
    if (stored !== undefined && stored.version >= snapshot.version) return false;
    snapshots.set(conversationId, snapshot);
    return true;
  };
  return {
    // Maps are copied in and out, as Redis would: a caller changing its map later changes nothing stored.
    async replace(conversationId, version, members) {
      return store(conversationId, { version, deleted: false, members: new Map(members) });
    },
    async markDeleted(conversationId, version) {
      return store(conversationId, { version, deleted: true, members: new Map() });
    },
    async rolesOf(userId, conversationIds) {
      return conversationIds.map((id) => {
        const stored = snapshots.get(id);
        return stored && (stored.members.get(userId) ?? null);
      });
    },
    async snapshot(conversationId) {
      const stored = snapshots.get(conversationId);
      return stored && { ...stored, members: new Map(stored.members) };
    },
    async forget(conversationId) {
      snapshots.delete(conversationId);
    },
  };
}

export interface RedisMembershipProjectionOptions {
  redis: Redis;
  /** Required, so several deployments (or test workers) can share one Redis. */
  prefix: string;
  /** How long a deleted conversation's tombstone refuses older writes; after that it is unknown again. */
  deletedTtlSeconds?: number;
}

const WRITE_COMMAND = 'parleyMembershipWrite';

// KEYS[1]: the conversation's hash. ARGV: version, TTL in seconds (0: none), then field/value pairs.
// The pairs go to HSET in chunks: unpack() of a whole large group would overflow Lua's C stack (~8000).
const WRITE_SCRIPT = `
local stored = redis.call('HGET', KEYS[1], 'v')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1])
for i = 3, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
`;

// ioredis flattens array arguments: passing the pairs as one array avoids spreading thousands of call arguments.
type WriteCommand = (key: string, version: string, ttl: string, fieldsAndValues: string[]) => Promise<number>;

/**
 * One hash per conversation at `${prefix}membership:${conversationId}`: `v` the version, `d` "1" once
 * deleted, `u:${userId}` each member's role. Writes compare and replace the whole hash in one Lua script.
 */
export function createRedisMembershipProjection({
  redis,
  prefix,
  deletedTtlSeconds = 86_400,
}: RedisMembershipProjectionOptions): MembershipProjection {
  checkPrefix(prefix);
  if (!Number.isSafeInteger(deletedTtlSeconds) || deletedTtlSeconds <= 0) {
    throw new RangeError(`deletedTtlSeconds must be a positive integer (got ${deletedTtlSeconds})`);
  }
  // defineCommand sends EVALSHA and falls back to EVAL once when Redis has not cached the script yet.
  redis.defineCommand(WRITE_COMMAND, { numberOfKeys: 1, lua: WRITE_SCRIPT });
  const key = (conversationId: string) => `${prefix}membership:${conversationId}`;
  const write = async (conversationId: string, version: number, ttl: number, fieldsAndValues: string[]) => {
    checkVersion(version);
    const command = (redis as unknown as Record<typeof WRITE_COMMAND, WriteCommand>)[WRITE_COMMAND];
    const stored = await command.call(
      redis,
      key(conversationId),
      String(version),
      String(ttl),
      fieldsAndValues,
    );
    return stored === 1;
  };

  return {
    async replace(conversationId, version, members) {
      const fieldsAndValues: string[] = [];
      for (const [userId, role] of members) fieldsAndValues.push(`u:${userId}`, role);
      return write(conversationId, version, 0, fieldsAndValues);
    },
    async markDeleted(conversationId, version) {
      return write(conversationId, version, deletedTtlSeconds, ['d', '1']);
    },
    async rolesOf(userId, conversationIds) {
      if (conversationIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of conversationIds) pipeline.hmget(key(id), 'v', 'd', `u:${userId}`);
      const results = await pipeline.exec();
      if (results === null) throw new Error('Redis discarded the membership pipeline');
      return results.map(([error, fields]) => {
        if (error) throw error;
        const [version, deleted, role] = fields as Array<string | null>;
        if (version === null || version === undefined) return undefined;
        return deleted === '1' ? null : ((role as MemberRole | null | undefined) ?? null);
      });
    },
    async snapshot(conversationId) {
      const fields = await redis.hgetall(key(conversationId));
      if (fields['v'] === undefined) return undefined;
      const members = new Map<string, MemberRole>();
      for (const [field, value] of Object.entries(fields)) {
        if (field.startsWith('u:')) members.set(field.slice(2), value as MemberRole);
      }
      return { version: Number(fields['v']), deleted: fields['d'] === '1', members };
    },
    async forget(conversationId) {
      await redis.del(key(conversationId));
    },
  };
}

export interface MembershipReader {
  /** Each conversation's role of the user, in order; null when not a member or the conversation does not exist. */
  rolesOf(userId: string, conversationIds: readonly string[]): Promise<Array<MemberRole | null>>;
}

/**
 * rolesOf, asking `repair` (which makes the conversations service rewrite the projection from its database)
 * for conversations the projection does not know, then reading again; still unknown → null (the
 * conversation does not exist).
 */
export function createMembershipReader({
  projection,
  repair,
}: {
  projection: MembershipProjection;
  repair: (conversationIds: string[]) => Promise<void>;
}): MembershipReader {
  return {
    async rolesOf(userId, conversationIds) {
      const roles = await projection.rolesOf(userId, conversationIds);
      const unknown = [...new Set(conversationIds.filter((_, index) => roles[index] === undefined))];
      const repaired = new Map<string, MemberRole | null>();
      if (unknown.length > 0) {
        await repair(unknown);
        const reread = await projection.rolesOf(userId, unknown);
        unknown.forEach((id, index) => repaired.set(id, reread[index] ?? null));
      }
      return conversationIds.map((id, index) => {
        const role = roles[index];
        return role === undefined ? (repaired.get(id) ?? null) : role;
      });
    },
  };
}
