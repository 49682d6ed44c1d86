import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '@parley/kit';

export type MemberRole = 'OWNER' | 'ADMIN' | 'MEMBER';

export type ConversationKind = 'DIRECT' | 'GROUP';

/** A user's place in one conversation, with what a sender check needs beyond the role (blocks matter in DIRECT). */
export interface Membership {
  role: MemberRole;
  kind: ConversationKind;
}

export interface MembershipSnapshot {
  version: number;
  deleted: boolean;
  /** null when deleted. */
  kind: ConversationKind | null;
  members: ReadonlyMap<string, MemberRole>;
}

/**
 * Who belongs to each conversation, as the conversations subgraph (its only writer) last wrote it after a
 * committed change, so other subgraphs can check membership without calling it or reading its tables.
 * Every write carries the version of the conversations database's membership counter; a write never
 * replaces a newer or equal one, so writes that arrive out of order cannot bring back an old membership.
 */
export interface MembershipProjection {
  /** Stores the conversation's kind and complete membership unless the stored version is >= `version` (then a no-op). Returns whether it was stored. */
  replace(
    conversationId: string,
    version: number,
    state: { kind: ConversationKind; members: ReadonlyMap<string, MemberRole> },
  ): Promise<boolean>;
  /** Marks the conversation deleted at `version` (same version rule); a deleted conversation has no members. */
  markDeleted(conversationId: string, version: number): Promise<boolean>;
  /**
   * For each conversation, in order: the user's membership (role and the conversation's kind); null when the
   * projection knows the conversation and the user is not a member (or it was deleted); undefined when the
   * projection holds nothing usable for it (never written, lost, e.g. Redis restarted, or written before
   * kinds were stored). One round trip.
   */
  membershipsOf(
    userId: string,
    conversationIds: readonly string[],
  ): Promise<Array<Membership | null | undefined>>;
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
    async replace(conversationId, version, { kind, members }) {
      return store(conversationId, { version, deleted: false, kind, members: new Map(members) });
    },
    async markDeleted(conversationId, version) {
      return store(conversationId, { version, deleted: true, kind: null, members: new Map() });
    },
    async membershipsOf(userId, conversationIds) {
      return conversationIds.map((id) => {
        const stored = snapshots.get(id);
        if (stored === undefined) return undefined;
        const role = stored.members.get(userId);
        return role && stored.kind ? { role, kind: stored.kind } : null;
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
// A live hash without 'k' was written before kinds were stored: readers treat it as unknown and repair it
// by rewriting the same version, so for such a hash only an older version is refused.
// The pairs go to HSET in chunks: unpack() of a whole large group would overflow Lua's C stack (~8000).
const WRITE_SCRIPT = `
local stored = redis.call('HMGET', KEYS[1], 'v', 'k', 'd')
if stored[1] then
  local storedVersion, version = tonumber(stored[1]), tonumber(ARGV[1])
  local withoutKind = not stored[2] and stored[3] ~= '1'
  if storedVersion > version or (storedVersion == version and not withoutKind) then return 0 end
end
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
 * deleted, `k` the kind (absent once deleted), `u:${userId}` each member's role. Writes compare and replace
 * the whole hash in one Lua script.
 *
 * A live hash without `k` was written by code that predates kinds: it reads as unknown (undefined), so
 * createMembershipReader repairs it, and the conversations service rewrites it with its kind.
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
    async replace(conversationId, version, { kind, members }) {
      const fieldsAndValues: string[] = ['k', kind];
      for (const [userId, role] of members) fieldsAndValues.push(`u:${userId}`, role);
      return write(conversationId, version, 0, fieldsAndValues);
    },
    async markDeleted(conversationId, version) {
      return write(conversationId, version, deletedTtlSeconds, ['d', '1']);
    },
    async membershipsOf(userId, conversationIds) {
      if (conversationIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of conversationIds) pipeline.hmget(key(id), 'v', 'd', 'k', `u:${userId}`);
      const results = await pipeline.exec();
      if (results === null) throw new Error('Redis discarded the membership pipeline');
      return results.map(([error, fields]) => {
        if (error) throw error;
        const [version, deleted, kind, role] = fields as Array<string | null>;
        if (version === null || version === undefined) return undefined;
        if (deleted === '1') return null;
        if (!kind) return undefined; // written before kinds were stored: unknown, so the reader repairs it
        return role ? { role: role as MemberRole, kind: kind as ConversationKind } : null;
      });
    },
    async snapshot(conversationId) {
      const fields = await redis.hgetall(key(conversationId));
      if (fields['v'] === undefined) return undefined;
      const deleted = fields['d'] === '1';
      const kind = (fields['k'] as ConversationKind | undefined) ?? null;
      if (!deleted && kind === null) return undefined; // written before kinds were stored: unknown
      const members = new Map<string, MemberRole>();
      for (const [field, value] of Object.entries(fields)) {
        if (field.startsWith('u:')) members.set(field.slice(2), value as MemberRole);
      }
      return { version: Number(fields['v']), deleted, kind, members };
    },
    async forget(conversationId) {
      await redis.del(key(conversationId));
    },
  };
}

export interface MembershipReader {
  /** The user's membership in each conversation, in order; null when not a member or the conversation does not exist. */
  membershipsOf(userId: string, conversationIds: readonly string[]): Promise<Array<Membership | null>>;
}

/**
 * membershipsOf, asking `repair` (which makes the conversations service rewrite the projection from its
 * database) for conversations the projection does not know, then reading again; still unknown → null (the
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
    async membershipsOf(userId, conversationIds) {
      const memberships = await projection.membershipsOf(userId, conversationIds);
      const unknown = [...new Set(conversationIds.filter((_, index) => memberships[index] === undefined))];
      const repaired = new Map<string, Membership | null>();
      if (unknown.length > 0) {
        await repair(unknown);
        const reread = await projection.membershipsOf(userId, unknown);
        unknown.forEach((id, index) => repaired.set(id, reread[index] ?? null));
      }
      return conversationIds.map((id, index) => {
        const membership = memberships[index];
        return membership === undefined ? (repaired.get(id) ?? null) : membership;
      });
    },
  };
}
