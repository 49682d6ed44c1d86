import { KEY_PREFIX, systemClock, type Clock } from '@parley/kit';
import type { Redis } from 'ioredis';

export type PresenceStatus = 'ONLINE' | 'AWAY' | 'OFFLINE';

/** What the store knows of one user now. Times are epoch milliseconds. */
export interface PresenceState {
  status: PresenceStatus;
  /** The last sign of life from any device (a connect, heartbeat, refresh or disconnect); null if never seen (or forgotten). */
  lastSeenAt: number | null;
}

/** A user whose status changed and settled, to be published once. */
export interface PresenceChange extends PresenceState {
  userId: string;
  /** This claim (acknowledge or release it with this): a late answer to an older claim of the user does nothing. */
  claim: number;
}

/** A claim to acknowledge or release: the change's `userId` and `claim`. */
export type PresenceClaim = Pick<PresenceChange, 'userId' | 'claim'>;

export interface PresenceTimings {
  /** A device is online this long after its last connect, heartbeat or refresh. */
  deviceTtlMs: number;
  /** Online devices but no activity for this long: AWAY. */
  awayAfterMs: number;
  /** A typing indicator lasts this long unless renewed. */
  typingTtlMs: number;
  /** A status change is published once it has held this long (a flapping connection makes one event, not fifty). */
  settleMs: number;
  /** A claimed change neither acknowledged nor released within this long (its publisher died) is handed out again. */
  claimLeaseMs: number;
}

export const DEFAULT_PRESENCE_TIMINGS: PresenceTimings = {
  deviceTtlMs: 60_000,
  awayAfterMs: 300_000,
  typingTtlMs: 6_000,
  settleMs: 1_000,
  claimLeaseMs: 30_000,
};

export interface DeviceTouch {
  userId: string;
  /** Unique per device of the user: `ws:<connection>` for a router socket, `session:<id>` for heartbeats. */
  deviceId: string;
  /** The user did something (connected, typed, clicked): resets the AWAY clock. A new device always counts. */
  active: boolean;
}

/**
 * Live presence and typing, kept in Redis, written and read by the presence subgraph only (its heartbeats and
 * typing, and the router's sockets as the router reports them on the bus: see `presenceReports` in
 * events.ts). A user is ONLINE while any device is,
 * AWAY when online without activity for `awayAfterMs`, OFFLINE when every device disconnected or expired.
 * Status changes are not published by the writer: they are marked, and `claimChanges` hands each settled
 * change to exactly one caller (several presence instances may sweep at once).
 *
 * Clock: the caller's (`clock`, the system's by default), read once per operation and passed to Redis with
 * it; a test gives one of its own and makes devices expire, users turn AWAY, changes settle and leases lapse
 * by moving it on. Presence instances on one Redis are assumed to agree on the time to within the settle
 * time (one whose clock is ahead sees devices, indicators and leases end that much early). Redis's own key
 * expiry only collects what nobody reads any more, except the day a forgotten user's writes are ignored
 * (see FORGET_SCRIPT).
 */
export interface PresenceStore {
  readonly timings: PresenceTimings;
  /** Marks devices alive for `deviceTtlMs` (one round trip for the whole list). */
  touch(devices: readonly DeviceTouch[]): Promise<void>;
  /**
   * The device went away (its socket closed); the user stays online while another device is. When it was
   * the last one, the user's typing indicators end now (as if expired: `claimExpiredTyping` returns them).
   */
  disconnect(userId: string, deviceId: string): Promise<void>;
  /**
   * Each user's state, in the order asked: one round trip (one command) for the whole list. Going online or
   * away shows at once; going OFFLINE shows once that change was claimed for publishing (or after
   * `claimLeaseMs` without a sign of life, should no publisher run): until then the status last published
   * is read. So a quick reconnect (a socket closed, another opening, in either order) never reads OFFLINE,
   * which no event would correct, since a change that does not hold is never published.
   */
  read(userIds: readonly string[]): Promise<PresenceState[]>;
  /**
   * Finds devices that expired (a user left without any ends their typing, as `disconnect`) and users who
   * went AWAY, and marks them changed. Returns how many users it looked at.
   */
  sweep(limit: number): Promise<number>;
  /**
   * Settled changes not yet published, each handed to one caller (several presence instances may sweep at
   * once), who publishes them and then acknowledges or releases them. A user whose previous change is still
   * claimed is not handed out again until it is acknowledged, released or its lease ends, so one user's
   * changes are published in order.
   */
  claimChanges(limit: number): Promise<PresenceChange[]>;
  /** These claimed changes were published (an answer to a claim that lapsed and was made again does nothing). */
  acknowledgeChanges(claims: readonly PresenceClaim[]): Promise<void>;
  /** These claimed changes could not be published: they are handed out again (same rule). */
  releaseChanges(claims: readonly PresenceClaim[]): Promise<void>;
  /** The users did something (typed, sent a message): resets their AWAY clock (of users with a record only). */
  markActive(userIds: readonly string[]): Promise<void>;
  /**
   * Deletes everything kept about these users (deleted accounts), and ignores writes for them for a day (a
   * socket of theirs still open, a late event); their typing indicators end by themselves.
   */
  forget(userIds: readonly string[]): Promise<void>;
  /** Starts or renews the user's typing indicator; `started` is false for a renewal of one still running. */
  startTyping(conversationId: string, userId: string): Promise<{ started: boolean; expiresAt: number }>;
  /** Whether an indicator was stopped (one that ended by itself but was not yet claimed counts: no end was told). */
  stopTyping(conversationId: string, userId: string): Promise<boolean>;
  /** Who is typing in each conversation now, with when each indicator ends, soonest first: one round trip. */
  typingIn(conversationIds: readonly string[]): Promise<Array<Array<{ userId: string; expiresAt: number }>>>;
  /** Every indicator running now, anywhere, up to `limit` of them, soonest to end first (a resuming subscriber's state). */
  typingNow(limit: number): Promise<Array<{ conversationId: string; userId: string; expiresAt: number }>>;
  /** Indicators that ended without stopTyping, each returned once across every caller. */
  claimExpiredTyping(limit: number): Promise<Array<{ conversationId: string; userId: string }>>;
}

function checkPrefix(prefix: string): void {
  if (!KEY_PREFIX.test(prefix)) {
    throw new Error(`A presence key prefix is required and must end with ":" (got "${prefix}")`);
  }
}

function timingsWith(overrides: Partial<PresenceTimings>): PresenceTimings {
  const timings = { ...DEFAULT_PRESENCE_TIMINGS, ...overrides };
  for (const [name, value] of Object.entries(timings)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Presence timing ${name} must be a positive integer (got ${value})`);
    }
  }
  return timings;
}

/** How long a user's record outlives their last sign of life (then only the durable last seen remains). */
const USER_RETENTION_MS = 30 * 86_400_000;

/** How long writes for a forgotten (deleted) user are ignored: longer than any access token of theirs lives. */
const FORGOTTEN_MS = 86_400_000;

interface MemoryUser {
  devices: Map<string, number>;
  activeAt: number | null;
  seenAt: number | null;
  /** Null when unknown: a lapsed claim may or may not have been published. */
  published: PresenceStatus | null;
}

/**
 * The data in-process stores share: a presence service's store of heartbeats and its store of router sockets
 * (one record per user, whichever device kept it), or, in tests, the stores standing for two instances.
 */
export interface MemoryPresenceData {
  users: Map<string, MemoryUser>;
  /** Users marked changed, with when the first unpublished change happened. */
  dirty: Map<string, number>;
  /** Users whose change is being published: until when, and the status published before it. */
  claimed: Map<string, { until: number; previous: PresenceStatus | null; claim: number }>;
  /** Users forgotten (deleted accounts), until when a late write for them is ignored. */
  forgotten: Map<string, number>;
  /** The last claim number given out. */
  claims: number;
  /** conversationId → userId → when the indicator ends. */
  typing: Map<string, Map<string, number>>;
}

export const createMemoryPresenceData = (): MemoryPresenceData => ({
  users: new Map(),
  dirty: new Map(),
  claimed: new Map(),
  forgotten: new Map(),
  claims: 0,
  typing: new Map(),
});

/** For the single-process mode without Redis (`npm start`) and tests: the same rules as Redis, on `data`. */
export function createMemoryPresenceStore(options: {
  data: MemoryPresenceData;
  timings?: Partial<PresenceTimings>;
  /** Where the time is read (see PresenceStore): stores on the same data share one. */
  clock?: Clock;
}): PresenceStore {
  const { data, clock = systemClock } = options;
  const timings = timingsWith(options.timings ?? {});
  const nowMs = () => clock.now().getTime();

  function statusOf(user: MemoryUser | undefined, now: number): PresenceStatus {
    if (!user) return 'OFFLINE';
    for (const [deviceId, expiresAt] of user.devices) if (expiresAt <= now) user.devices.delete(deviceId);
    if (user.devices.size === 0) return 'OFFLINE';
    return user.activeAt !== null && now - user.activeAt < timings.awayAfterMs ? 'ONLINE' : 'AWAY';
  }
  function settle(userId: string, now: number) {
    const user = data.users.get(userId);
    if (statusOf(user, now) !== (user ? user.published : 'OFFLINE') && !data.dirty.has(userId)) {
      data.dirty.set(userId, now);
    }
  }
  /**
   * A claim answered as not published goes back to the status published before it; one whose lease lapsed
   * may or may not have been published, so the next claim publishes the status then, whatever it is.
   */
  function release(userId: string, now: number, claimNumber?: number) {
    const claim = data.claimed.get(userId);
    if (!claim || (claimNumber !== undefined && claim.claim !== claimNumber)) return;
    data.claimed.delete(userId);
    const user = data.users.get(userId);
    if (user) user.published = claimNumber === undefined ? null : claim.previous;
    if (!data.dirty.has(userId)) data.dirty.set(userId, now);
  }
  /** The user's last device went (closed or expired): their indicators end now (see claimExpiredTyping). */
  function endTypingOf(userId: string, now: number) {
    for (const typing of data.typing.values()) {
      const expiresAt = typing.get(userId);
      if (expiresAt !== undefined && expiresAt > now) typing.set(userId, now);
    }
  }
  const isForgotten = (userId: string, now: number) => (data.forgotten.get(userId) ?? 0) > now;
  function userOf(userId: string): MemoryUser {
    let user = data.users.get(userId);
    if (!user) {
      user = { devices: new Map(), activeAt: null, seenAt: null, published: 'OFFLINE' };
      data.users.set(userId, user);
    }
    return user;
  }
  const typingOf = (conversationId: string) => {
    let typing = data.typing.get(conversationId);
    if (!typing) {
      typing = new Map();
      data.typing.set(conversationId, typing);
    }
    return typing;
  };

  return {
    timings,
    async touch(devices) {
      const now = nowMs();
      for (const { userId, deviceId, active } of devices) {
        if (isForgotten(userId, now)) continue;
        const user = userOf(userId);
        if (active || !user.devices.has(deviceId)) user.activeAt = now;
        user.devices.set(deviceId, now + timings.deviceTtlMs);
        user.seenAt = now;
        settle(userId, now);
      }
    },
    async disconnect(userId, deviceId) {
      const now = nowMs();
      const user = data.users.get(userId);
      if (!user) return; // never seen, or forgotten: a late disconnect must not bring a deleted user back
      user.devices.delete(deviceId);
      user.seenAt = now;
      settle(userId, now);
      if (statusOf(user, now) === 'OFFLINE') endTypingOf(userId, now);
    },
    async read(userIds) {
      const now = nowMs();
      return userIds.map((userId) => {
        const user = data.users.get(userId);
        let status = statusOf(user, now);
        // See PresenceStore.read: an OFFLINE nobody was told of yet reads as what they were told.
        if (
          status === 'OFFLINE' &&
          user &&
          (user.published === 'ONLINE' || user.published === 'AWAY') &&
          user.seenAt !== null &&
          now - user.seenAt < timings.claimLeaseMs
        ) {
          status = user.published;
        }
        return { status, lastSeenAt: user?.seenAt ?? null };
      });
    },
    // In process there is no schedule to read: every user is looked at (embedded mode has few).
    async sweep() {
      const now = nowMs();
      for (const [userId, until] of data.forgotten) if (until <= now) data.forgotten.delete(userId);
      for (const [userId, { until }] of data.claimed) if (until <= now) release(userId, now);
      for (const [userId, user] of data.users) {
        const hadDevices = user.devices.size > 0;
        settle(userId, now);
        if (hadDevices && statusOf(user, now) === 'OFFLINE') endTypingOf(userId, now);
      }
      return data.users.size;
    },
    async claimChanges(limit) {
      const now = nowMs();
      const changes: PresenceChange[] = [];
      for (const [userId, since] of [...data.dirty]) {
        if (changes.length >= limit) break;
        if (since > now - timings.settleMs || data.claimed.has(userId)) continue;
        data.dirty.delete(userId);
        const user = data.users.get(userId);
        const status = statusOf(user, now);
        if (!user || status === user.published) continue;
        data.claims += 1;
        const claim = data.claims;
        data.claimed.set(userId, { until: now + timings.claimLeaseMs, previous: user.published, claim });
        user.published = status;
        changes.push({ userId, status, lastSeenAt: user.seenAt, claim });
      }
      return changes;
    },
    async acknowledgeChanges(claims) {
      for (const { userId, claim } of claims) {
        if (data.claimed.get(userId)?.claim === claim) data.claimed.delete(userId);
      }
    },
    async releaseChanges(claims) {
      const now = nowMs();
      for (const { userId, claim } of claims) release(userId, now, claim);
    },
    async markActive(userIds) {
      const now = nowMs();
      for (const userId of userIds) {
        const user = data.users.get(userId);
        if (!user) continue; // never seen, or forgotten (a deleted account)
        user.activeAt = now;
        settle(userId, now);
      }
    },
    async forget(userIds) {
      const until = nowMs() + FORGOTTEN_MS;
      for (const userId of userIds) {
        data.forgotten.set(userId, until);
        data.users.delete(userId);
        data.dirty.delete(userId);
        data.claimed.delete(userId);
      }
    },
    async startTyping(conversationId, userId) {
      const now = nowMs();
      const typing = typingOf(conversationId);
      const previous = typing.get(userId);
      const expiresAt = now + timings.typingTtlMs;
      typing.set(userId, expiresAt);
      return { started: previous === undefined || previous <= now, expiresAt };
    },
    async stopTyping(conversationId, userId) {
      const typing = data.typing.get(conversationId);
      const previous = typing?.get(userId);
      typing?.delete(userId);
      if (typing?.size === 0) data.typing.delete(conversationId);
      return previous !== undefined;
    },
    async typingIn(conversationIds) {
      const now = nowMs();
      return conversationIds.map((conversationId) =>
        [...(data.typing.get(conversationId) ?? [])]
          .filter(([, expiresAt]) => expiresAt > now)
          .map(([userId, expiresAt]) => ({ userId, expiresAt }))
          .sort((a, b) => a.expiresAt - b.expiresAt),
      );
    },
    async typingNow(limit) {
      const now = nowMs();
      return [...data.typing]
        .flatMap(([conversationId, typing]) =>
          [...typing]
            .filter(([, expiresAt]) => expiresAt > now)
            .map(([userId, expiresAt]) => ({ conversationId, userId, expiresAt })),
        )
        .sort((a, b) => a.expiresAt - b.expiresAt)
        .slice(0, limit);
    },
    async claimExpiredTyping(limit) {
      const now = nowMs();
      const expired: Array<{ conversationId: string; userId: string }> = [];
      for (const [conversationId, typing] of data.typing) {
        for (const [userId, expiresAt] of typing) {
          if (expired.length >= limit) return expired;
          if (expiresAt > now) continue;
          typing.delete(userId);
          expired.push({ conversationId, userId });
        }
        if (typing.size === 0) data.typing.delete(conversationId);
      }
      return expired;
    },
  };
}

// Heads every script (createRedisPresenceStore puts it before each): the caller's time, epoch milliseconds,
// comes last in ARGV, after the script's own ARGC arguments, so loops over a trailing list of arguments stop
// at ARGC, not #ARGV. No script reads Redis's TIME.
const LUA_NOW = `
local ARGC = #ARGV - 1
local function now_ms() return tonumber(ARGV[#ARGV]) end
`;

// Shared by the scripts that read or write users' records. A user's hash `<P>u:<id>`: `d:<device>` → expiry,
// `a` last activity, `s` last sign of life, `p` the last published status. `<P>due`: users by when a device of
// theirs expires. `<P>active`: users by their last activity (AWAY comes from it). `<P>dirty`: users by their
// first unpublished change.
const LUA_COMMON = `
-- The user's status now; with prune, expired devices are deleted. Also the earliest live expiry and 's'.
local function state(key, now, away_after, prune)
  local fields = redis.call('HGETALL', key)
  local alive, next_expiry, active, seen, published = 0, false, false, false, 'OFFLINE'
  local expired = {}
  for i = 1, #fields, 2 do
    local f, v = fields[i], fields[i + 1]
    if string.sub(f, 1, 2) == 'd:' then
      local e = tonumber(v)
      if e > now then
        alive = alive + 1
        if not next_expiry or e < next_expiry then next_expiry = e end
      else
        expired[#expired + 1] = f
      end
    elseif f == 'a' then active = tonumber(v)
    elseif f == 's' then seen = tonumber(v)
    elseif f == 'p' then published = v end
  end
  if prune and #expired > 0 then redis.call('HDEL', key, unpack(expired)) end
  local status = 'OFFLINE'
  if alive > 0 then
    if active and now - active < away_after then status = 'ONLINE' else status = 'AWAY' end
  end
  return status, next_expiry, seen, published
end
-- After a change: reschedule the next expiry, mark the user changed if the status differs from the published one.
-- Returns the status.
local function settle(P, user, now, away_after)
  local key = P .. 'u:' .. user
  local status, next_expiry, seen, published = state(key, now, away_after, true)
  if next_expiry then redis.call('ZADD', P .. 'due', next_expiry, user) else redis.call('ZREM', P .. 'due', user) end
  if status ~= published then redis.call('ZADD', P .. 'dirty', 'NX', now, user) end
  redis.call('PEXPIRE', key, ${USER_RETENTION_MS})
  return status
end
-- The user's last device went (closed or expired): each typing indicator of theirs ends now, and is told
-- as one that ended without stopTyping (claimExpiredTyping). \`<P>ut:<user>\` lists their conversations.
local function end_typing_of(P, user, now)
  local key = P .. 'ut:' .. user
  for _, conversation in ipairs(redis.call('SMEMBERS', key)) do
    local typing = P .. 't:' .. conversation
    local expires = redis.call('ZSCORE', typing, user)
    if expires and tonumber(expires) > now then
      redis.call('ZADD', typing, now, user)
      redis.call('ZADD', P .. 'typing-due', now, conversation .. ' ' .. user)
    end
  end
  redis.call('DEL', key)
end
`;

// ARGV: P, away_after, ttl, then triples user, device, active ('1'/'0').
const TOUCH_SCRIPT = `${LUA_COMMON}
local P, away_after, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
for i = 4, ARGC, 3 do
  local user, field, active = ARGV[i], 'd:' .. ARGV[i + 1], ARGV[i + 2]
  local key = P .. 'u:' .. user
  -- A forgotten (deleted) user's late socket or refresh keeps nothing.
  if redis.call('EXISTS', P .. 'forgotten:' .. user) == 0 then
    if active == '1' or redis.call('HEXISTS', key, field) == 0 then
      redis.call('HSET', key, 'a', now)
      redis.call('ZADD', P .. 'active', now, user)
    end
    redis.call('HSET', key, field, now + ttl, 's', now)
    settle(P, user, now, away_after)
  end
end
return 1
`;

// ARGV: P, away_after, user, device.
const DISCONNECT_SCRIPT = `${LUA_COMMON}
local P, away_after, user = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now = now_ms()
local key = P .. 'u:' .. user
-- Nothing kept (never seen, or forgotten: a late disconnect must not bring a deleted user back).
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HDEL', key, 'd:' .. ARGV[4])
redis.call('HSET', key, 's', now)
if settle(P, user, now, away_after) == 'OFFLINE' then end_typing_of(P, user, now) end
return 1
`;

// KEYS: the users' hashes. ARGV: away_after, lease. Returns status and last seen ('' if none) per key.
const READ_SCRIPT = `${LUA_COMMON}
local away_after, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local out = {}
for i = 1, #KEYS do
  local status, _, seen, published = state(KEYS[i], now, away_after, false)
  -- See PresenceStore.read: an OFFLINE nobody was told of yet reads as what they were told.
  if status == 'OFFLINE' and (published == 'ONLINE' or published == 'AWAY') and seen and now - seen < lease then
    status = published
  end
  out[#out + 1] = status
  out[#out + 1] = seen and tostring(seen) or ''
end
return out
`;

// A claimed change that was not published goes back to be claimed again.
const LUA_RELEASE = `
-- claim: the claim number it answers, or false for any (a lapsed lease).
local function release(P, user, now, claim)
  if not redis.call('ZSCORE', P .. 'claimed', user) then return end
  local key = P .. 'u:' .. user
  if claim and redis.call('HGET', key, 'c') ~= claim then return end
  redis.call('ZREM', P .. 'claimed', user)
  -- Its record is gone (expired, evicted, forgotten): nothing to publish again, nothing to write back.
  if redis.call('EXISTS', key) == 0 then return end
  -- Answered as not published: back to what was. Lapsed: it may have been published; '?' equals no
  -- status, so the next claim publishes the one then, whatever it is.
  local previous = redis.call('HGET', key, 'pp')
  if not claim then previous = '?' end
  if previous then redis.call('HSET', key, 'p', previous) end
  redis.call('HDEL', key, 'pp')
  redis.call('ZADD', P .. 'dirty', 'NX', now, user)
end
`;

// ARGV: P, away_after, limit. Leases that ended, users whose device expired, users whose last activity is
// older than away_after.
const SWEEP_SCRIPT = `${LUA_COMMON}${LUA_RELEASE}
local P, away_after, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local lapsed = redis.call('ZRANGEBYSCORE', P .. 'claimed', '-inf', now, 'LIMIT', 0, limit)
for _, user in ipairs(lapsed) do release(P, user, now, false) end
local due = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', now, 'LIMIT', 0, limit)
for _, user in ipairs(due) do
  if settle(P, user, now, away_after) == 'OFFLINE' then end_typing_of(P, user, now) end
end
local idle = redis.call('ZRANGEBYSCORE', P .. 'active', '-inf', now - away_after, 'LIMIT', 0, limit)
for _, user in ipairs(idle) do
  redis.call('ZREM', P .. 'active', user)
  settle(P, user, now, away_after)
end
return #due + #idle
`;

// ARGV: P, away_after, settle, limit, lease. Returns user, status, last seen ('' if none), claim number, claim
// time per claimed change. A user whose previous change is still claimed stays marked, for after it; those are
// passed over, so they cannot hold back everyone else's. At most limit * 20 entries are looked at a call.
const CLAIM_SCRIPT = `${LUA_COMMON}
local P, away_after, settle_ms, limit, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local out, claimed, offset, examined = {}, 0, 0, 0
while claimed < limit and examined < limit * 20 do
  local users = redis.call('ZRANGEBYSCORE', P .. 'dirty', '-inf', now - settle_ms, 'LIMIT', offset, limit)
  if #users == 0 then break end
  for _, user in ipairs(users) do
    if claimed >= limit then break end
    examined = examined + 1
    if redis.call('ZSCORE', P .. 'claimed', user) then
      offset = offset + 1
    else
      redis.call('ZREM', P .. 'dirty', user)
      local key = P .. 'u:' .. user
      local status, _, seen, published = state(key, now, away_after, false)
      if status ~= published then
        local claim = redis.call('INCR', P .. 'claims')
        redis.call('HSET', key, 'p', status, 'pp', published, 'c', claim)
        redis.call('ZADD', P .. 'claimed', now + lease, user)
        claimed = claimed + 1
        out[#out + 1] = user
        out[#out + 1] = status
        out[#out + 1] = seen and tostring(seen) or ''
        out[#out + 1] = tostring(claim)
      end
    end
  end
end
return out
`;

// ARGV: P, then user, claim number pairs that were published.
const ACKNOWLEDGE_SCRIPT = `
local P = ARGV[1]
for i = 2, ARGC, 2 do
  local key = P .. 'u:' .. ARGV[i]
  if redis.call('HGET', key, 'c') == ARGV[i + 1] and redis.call('ZSCORE', P .. 'claimed', ARGV[i]) then
    redis.call('ZREM', P .. 'claimed', ARGV[i])
    redis.call('HDEL', key, 'pp')
  end
end
return 1
`;

// ARGV: P, then user, claim number pairs that could not be published.
const RELEASE_SCRIPT = `${LUA_RELEASE}
local P = ARGV[1]
local now = now_ms()
for i = 2, ARGC, 2 do release(P, ARGV[i], now, ARGV[i + 1]) end
return 1
`;

// ARGV: P, how long later writes are ignored (ms), then users to forget. That day is the one thing timed by
// Redis (the key's PX) rather than by the callers' clocks: a test clock moved on by a day does not end it.
const FORGET_SCRIPT = `
local P = ARGV[1]
for i = 3, ARGC do
  local user = ARGV[i]
  redis.call('SET', P .. 'forgotten:' .. user, '1', 'PX', ARGV[2])
  redis.call('DEL', P .. 'u:' .. user, P .. 'ut:' .. user)
  for _, set in ipairs({ 'due', 'active', 'dirty', 'claimed' }) do redis.call('ZREM', P .. set, user) end
end
return 1
`;

// ARGV: P, away_after, then users who did something.
const MARK_ACTIVE_SCRIPT = `${LUA_COMMON}
local P, away_after = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
for i = 3, ARGC do
  -- Only users with a record (a late event must not bring back a forgotten, deleted user).
  if redis.call('EXISTS', P .. 'u:' .. ARGV[i]) == 1 then
    redis.call('HSET', P .. 'u:' .. ARGV[i], 'a', now)
    redis.call('ZADD', P .. 'active', now, ARGV[i])
    settle(P, ARGV[i], now, away_after)
  end
end
return 1
`;

// KEYS[1]: the conversation's typing set. ARGV: P, conversation, user, ttl. Returns started (1/0), expiry.
const START_TYPING_SCRIPT = `
local P, conversation, user, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
local previous = redis.call('ZSCORE', KEYS[1], user)
local expires = now + ttl
redis.call('ZADD', KEYS[1], expires, user)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('ZADD', P .. 'typing-due', expires, conversation .. ' ' .. user)
redis.call('SADD', P .. 'ut:' .. user, conversation)
redis.call('PEXPIRE', P .. 'ut:' .. user, ttl * 2)
if previous and tonumber(previous) > now then return {0, expires} end
return {1, expires}
`;

// KEYS[1]: the conversation's typing set. ARGV: P, conversation, user. Returns 1 if an indicator was running.
const STOP_TYPING_SCRIPT = `
local P, conversation, user = ARGV[1], ARGV[2], ARGV[3]
local previous = redis.call('ZSCORE', KEYS[1], user)
redis.call('ZREM', KEYS[1], user)
redis.call('SREM', P .. 'ut:' .. user, conversation)
local pending = redis.call('ZREM', P .. 'typing-due', conversation .. ' ' .. user)
-- One that ended by itself but whose end was not claimed yet counts (its set may even have expired):
-- nobody was told it ended.
if previous or pending == 1 then return 1 end
return 0
`;

// KEYS: the conversations' typing sets. Returns, per key, its user/expiry pairs still running (one array each).
const TYPING_IN_SCRIPT = `
local now = now_ms()
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. now, '+inf', 'WITHSCORES')
end
return out
`;

// ARGV: P, limit. Returns conversation, user, expiry triples of the indicators running now.
const TYPING_NOW_SCRIPT = `
local P, limit = ARGV[1], tonumber(ARGV[2])
local running = redis.call('ZRANGEBYSCORE', P .. 'typing-due', '(' .. now_ms(), '+inf', 'WITHSCORES', 'LIMIT', 0, limit)
local out = {}
for i = 1, #running, 2 do
  local entry = running[i]
  local space = string.find(entry, ' ', 1, true)
  out[#out + 1] = string.sub(entry, 1, space - 1)
  out[#out + 1] = string.sub(entry, space + 1)
  out[#out + 1] = running[i + 1]
end
return out
`;

// ARGV: P, limit. Returns conversation, user pairs whose indicator ended.
const CLAIM_TYPING_SCRIPT = `
local P, limit = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
local ended = redis.call('ZRANGEBYSCORE', P .. 'typing-due', '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, entry in ipairs(ended) do
  redis.call('ZREM', P .. 'typing-due', entry)
  local space = string.find(entry, ' ', 1, true)
  local conversation, user = string.sub(entry, 1, space - 1), string.sub(entry, space + 1)
  redis.call('ZREM', P .. 't:' .. conversation, user)
  redis.call('SREM', P .. 'ut:' .. user, conversation)
  out[#out + 1] = conversation
  out[#out + 1] = user
end
return out
`;

const SCRIPTS = {
  parleyPresenceTouch: { numberOfKeys: 0, lua: TOUCH_SCRIPT },
  parleyPresenceDisconnect: { numberOfKeys: 0, lua: DISCONNECT_SCRIPT },
  parleyPresenceRead: { lua: READ_SCRIPT },
  parleyPresenceSweep: { numberOfKeys: 0, lua: SWEEP_SCRIPT },
  parleyPresenceClaim: { numberOfKeys: 0, lua: CLAIM_SCRIPT },
  parleyPresenceAcknowledge: { numberOfKeys: 0, lua: ACKNOWLEDGE_SCRIPT },
  parleyPresenceRelease: { numberOfKeys: 0, lua: RELEASE_SCRIPT },
  parleyPresenceMarkActive: { numberOfKeys: 0, lua: MARK_ACTIVE_SCRIPT },
  parleyPresenceForget: { numberOfKeys: 0, lua: FORGET_SCRIPT },
  parleyTypingStart: { numberOfKeys: 1, lua: START_TYPING_SCRIPT },
  parleyTypingStop: { numberOfKeys: 1, lua: STOP_TYPING_SCRIPT },
  parleyTypingIn: { lua: TYPING_IN_SCRIPT },
  parleyTypingNow: { numberOfKeys: 0, lua: TYPING_NOW_SCRIPT },
  parleyTypingClaim: { numberOfKeys: 0, lua: CLAIM_TYPING_SCRIPT },
} as const;

type ScriptCommand = (...args: Array<string | number | string[]>) => Promise<unknown>;

/**
 * The Redis store: every operation is one Lua script (one command, one round trip), so concurrent writers
 * (presence instances, and each one's stores of heartbeats and of sockets) never interleave within a
 * user's record. Keys are built inside the scripts for sweep and claim (fine on a single Redis; a cluster
 * would need hash tags).
 */
export function createRedisPresenceStore(options: {
  redis: Redis;
  prefix: string;
  timings?: Partial<PresenceTimings>;
  /** Where the time is read (see PresenceStore): every store on one Redis should agree with the others. */
  clock?: Clock;
}): PresenceStore {
  const { redis, clock = systemClock } = options;
  checkPrefix(options.prefix);
  const timings = timingsWith(options.timings ?? {});
  const P = `${options.prefix}presence:`;
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    // defineCommand sends EVALSHA and falls back to EVAL once when Redis has not cached the script yet.
    if (!(name in redis)) redis.defineCommand(name, { ...definition, lua: `${LUA_NOW}${definition.lua}` });
  }
  /** Runs a script with the caller's time after its arguments (see LUA_NOW). */
  const run = (name: keyof typeof SCRIPTS, ...args: Array<string | number | string[]>) =>
    (redis as unknown as Record<string, ScriptCommand>)[name]!.call(redis, ...args, clock.now().getTime());
  const typingKey = (conversationId: string) => `${P}t:${conversationId}`;
  const seen = (value: string) => (value === '' ? null : Number(value));
  const claimArgs = (claims: readonly PresenceClaim[]) =>
    claims.flatMap(({ userId, claim }) => [userId, String(claim)]);

  return {
    timings,
    async touch(devices) {
      if (devices.length === 0) return;
      const args = devices.flatMap(({ userId, deviceId, active }) => [userId, deviceId, active ? '1' : '0']);
      await run('parleyPresenceTouch', P, timings.awayAfterMs, timings.deviceTtlMs, args);
    },
    async disconnect(userId, deviceId) {
      await run('parleyPresenceDisconnect', P, timings.awayAfterMs, userId, deviceId);
    },
    async read(userIds) {
      if (userIds.length === 0) return [];
      const keys = userIds.map((userId) => `${P}u:${userId}`);
      const flat = (await run(
        'parleyPresenceRead',
        keys.length,
        keys,
        timings.awayAfterMs,
        timings.claimLeaseMs,
      )) as string[];
      return userIds.map((_, index) => ({
        status: flat[index * 2] as PresenceStatus,
        lastSeenAt: seen(flat[index * 2 + 1]!),
      }));
    },
    async sweep(limit) {
      return (await run('parleyPresenceSweep', P, timings.awayAfterMs, limit)) as number;
    },
    async claimChanges(limit) {
      const flat = (await run(
        'parleyPresenceClaim',
        P,
        timings.awayAfterMs,
        timings.settleMs,
        limit,
        timings.claimLeaseMs,
      )) as string[];
      const changes: PresenceChange[] = [];
      for (let i = 0; i < flat.length; i += 4) {
        changes.push({
          userId: flat[i]!,
          status: flat[i + 1] as PresenceStatus,
          lastSeenAt: seen(flat[i + 2]!),
          claim: Number(flat[i + 3]),
        });
      }
      return changes;
    },
    async acknowledgeChanges(claims) {
      if (claims.length === 0) return;
      await run('parleyPresenceAcknowledge', P, claimArgs(claims));
    },
    async releaseChanges(claims) {
      if (claims.length === 0) return;
      await run('parleyPresenceRelease', P, claimArgs(claims));
    },
    async markActive(userIds) {
      if (userIds.length > 0) await run('parleyPresenceMarkActive', P, timings.awayAfterMs, [...userIds]);
    },
    async forget(userIds) {
      if (userIds.length > 0) await run('parleyPresenceForget', P, FORGOTTEN_MS, [...userIds]);
    },
    async startTyping(conversationId, userId) {
      const [started, expiresAt] = (await run(
        'parleyTypingStart',
        typingKey(conversationId),
        P,
        conversationId,
        userId,
        timings.typingTtlMs,
      )) as [number, number];
      return { started: started === 1, expiresAt };
    },
    async stopTyping(conversationId, userId) {
      return (await run('parleyTypingStop', typingKey(conversationId), P, conversationId, userId)) === 1;
    },
    async typingIn(conversationIds) {
      if (conversationIds.length === 0) return [];
      const keys = conversationIds.map(typingKey);
      const perKey = (await run('parleyTypingIn', keys.length, keys)) as string[][];
      return perKey.map((flat) => {
        const typing: Array<{ userId: string; expiresAt: number }> = [];
        for (let i = 0; i < flat.length; i += 2)
          typing.push({ userId: flat[i]!, expiresAt: Number(flat[i + 1]) });
        return typing;
      });
    },
    async typingNow(limit) {
      const flat = (await run('parleyTypingNow', P, limit)) as string[];
      const running: Array<{ conversationId: string; userId: string; expiresAt: number }> = [];
      for (let i = 0; i < flat.length; i += 3) {
        running.push({ conversationId: flat[i]!, userId: flat[i + 1]!, expiresAt: Number(flat[i + 2]) });
      }
      return running;
    },
    async claimExpiredTyping(limit) {
      const flat = (await run('parleyTypingClaim', P, limit)) as string[];
      const ended: Array<{ conversationId: string; userId: string }> = [];
      for (let i = 0; i < flat.length; i += 2) ended.push({ conversationId: flat[i]!, userId: flat[i + 1]! });
      return ended;
    },
  };
}
