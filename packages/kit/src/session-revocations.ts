import type { Redis } from 'ioredis';
import { serviceUnavailable } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Sessions revoked while their access tokens are still valid. Entries live as long as the longest
 * access token could, so the set stays small: after that, the token is refused for expiry anyway.
 */
export interface SessionRevocations {
  revoke(sessionIds: readonly string[], ttlSeconds: number): Promise<void>;
  /** Throws SERVICE_UNAVAILABLE when which sessions are revoked cannot be known well enough (see below). */
  isRevoked(sessionId: string): Promise<boolean>;
}

/** How often each process reads the whole set again, besides the revocations pushed to it. */
export const REVOCATION_SYNC_INTERVAL_MS = 1_000;
/**
 * How old a process's view of the set may grow while Redis cannot be read before it stops trusting it: past
 * this, signed-in requests are answered SERVICE_UNAVAILABLE until Redis answers again.
 */
export const REVOCATION_MAX_STALENESS_MS = 5 * 60_000;
/**
 * How much longer than the longest access token an entry is kept: a token signed while its session was being
 * ended, and processes whose clocks differ a little, are still covered.
 */
const REVOCATION_MARGIN_MS = 60_000;
/** How long a check made before the first read of the set waits for it. */
const FIRST_SYNC_WAIT_MS = 1_000;

export interface RedisSessionRevocations extends SessionRevocations {
  /** Reads the set from Redis now (the view also does so every `syncIntervalMs`). */
  sync(): Promise<void>;
  /** Resolves once pushes are listened to and the set was read once (or could not be). */
  started(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Session revocations kept in Redis (a sorted set of session ids scored by when their entry expires) and
 * known in memory by every process, so a check is a map lookup rather than a Redis round trip:
 * - a revocation is in this process's view at once, and pushed to every other process over Redis pub/sub
 *   (there within milliseconds);
 * - every process reads the whole set again every `syncIntervalMs`, so a push lost (a subscriber reconnecting)
 *   delays a revocation by at most that;
 * - while Redis cannot be reached, checks answer from the view as it was: no revocation can be recorded then
 *   anyway (revoking writes to Redis first). A view older than `maxStalenessMs` is no longer trusted
 *   (SERVICE_UNAVAILABLE), which bounds what a process cut off from Redis alone may miss;
 * - entries never leave a view before they expire, and a sync writes back those Redis lost (a restart without
 *   persistence), so a revoked session does not come back to life.
 */
export function createRedisSessionRevocations(options: {
  /** Commands; the view's own or shared, not closed by it. */
  redis: Redis;
  /** Pushes; a connection of its own, put in subscriber mode and disconnected by `close`. */
  subscriber: Redis;
  prefix: string;
  logger?: Logger;
  now?: () => number;
  syncIntervalMs?: number;
  maxStalenessMs?: number;
}): RedisSessionRevocations {
  const { redis, subscriber, prefix, logger } = options;
  const now = options.now ?? Date.now;
  const maxStalenessMs = options.maxStalenessMs ?? REVOCATION_MAX_STALENESS_MS;
  const key = `${prefix}revoked-sessions`;
  const channel = key;
  const expiries = new Map<string, number>();
  let syncedAt: number | null = null;
  let syncing: Promise<void> | null = null;
  let failing = false;

  const remember = (sessionId: string, expiresAt: number) => {
    if (expiresAt > (expiries.get(sessionId) ?? 0)) expiries.set(sessionId, expiresAt);
  };

  const readSet = async () => {
    const readAt = now();
    const entries = await redis.zrangebyscore(key, `(${readAt}`, '+inf', 'WITHSCORES');
    const inRedis = new Set<string>();
    for (let index = 0; index + 1 < entries.length; index += 2) {
      remember(entries[index]!, Number(entries[index + 1]));
      inRedis.add(entries[index]!);
    }
    const lost: Array<number | string> = [];
    for (const [sessionId, expiresAt] of expiries) {
      if (expiresAt <= readAt) expiries.delete(sessionId);
      else if (!inRedis.has(sessionId)) lost.push(expiresAt, sessionId);
    }
    syncedAt = readAt;
    // GT: never lowers a later expiry another process wrote. Best effort: the read above is what checks need.
    if (lost.length > 0) {
      await redis.zadd(key, 'GT', ...lost).catch((error: unknown) => {
        logger?.warn({ err: error }, 'revoked sessions Redis lost could not be written back');
      });
    }
    if (failing) logger?.info('session revocations readable again');
    failing = false;
  };

  /** The read under way, or a new one: what the timer and a first check need. */
  const read = () => {
    syncing ??= readSet().finally(() => (syncing = null));
    return syncing;
  };
  let next: Promise<void> | null = null;
  /**
   * A read that starts now, for callers who changed the set: one already under way may have read it before
   * their change, so the call waits for it and reads again (callers arriving meanwhile share that read).
   */
  const sync = (): Promise<void> => {
    if (!syncing) return read();
    next ??= syncing
      .catch(() => {})
      .then(() => {
        next = null;
        return read();
      });
    return next;
  };

  const syncInBackground = () =>
    read().catch((error: unknown) => {
      if (!failing)
        logger?.warn({ err: error }, 'session revocations unreadable; checking against the last view');
      failing = true;
    });

  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const pushed = JSON.parse(message) as { sessionIds?: unknown; expiresAt?: unknown };
      if (!Array.isArray(pushed.sessionIds) || typeof pushed.expiresAt !== 'number') return;
      for (const sessionId of pushed.sessionIds) {
        if (typeof sessionId === 'string') remember(sessionId, pushed.expiresAt);
      }
    } catch {
      // Not ours; the next sync reads the set anyway.
    }
  });
  // Subscribed before the first read, so nothing revoked in between is missed.
  // A SUBSCRIBE queued while Redis was down at start is dropped after a few attempts, and ioredis resubscribes
  // only channels Redis confirmed: tried again at each reconnection until it holds.
  const subscribe = (): Promise<void> =>
    subscriber.subscribe(channel).then(
      () => {},
      (error: unknown) => {
        logger?.warn({ err: error }, 'session revocations not pushed yet; reading them every second');
        subscriber.once('ready', () => void subscribe());
      },
    );
  const started = subscribe().then(syncInBackground);
  const timer = setInterval(
    () => void syncInBackground(),
    options.syncIntervalMs ?? REVOCATION_SYNC_INTERVAL_MS,
  );
  timer.unref();

  return {
    sync,
    started: async () => {
      await started;
    },
    async revoke(sessionIds, ttlSeconds) {
      if (sessionIds.length === 0) return;
      const revokedAt = now();
      const expiresAt = revokedAt + Math.max(1, Math.ceil(ttlSeconds)) * 1000 + REVOCATION_MARGIN_MS;
      const results = await redis
        .multi()
        .zadd(key, 'GT', ...sessionIds.flatMap((sessionId) => [expiresAt, sessionId]))
        .zremrangebyscore(key, '-inf', revokedAt - REVOCATION_MARGIN_MS)
        .publish(channel, JSON.stringify({ sessionIds, expiresAt }))
        .exec();
      const failed = results?.find(([error]) => error)?.[0];
      if (failed) throw failed;
      // Only once recorded: a revocation that failed (Redis down) changed nothing anywhere, so a retry is whole.
      for (const sessionId of sessionIds) remember(sessionId, expiresAt);
    },
    async isRevoked(sessionId) {
      if (syncedAt === null) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          read().catch(() => {}),
          new Promise((resolve) => (timer = setTimeout(resolve, FIRST_SYNC_WAIT_MS))),
        ]).finally(() => clearTimeout(timer));
        if (syncedAt === null) throw serviceUnavailable('Session revocations cannot be read yet');
      }
      const at = now();
      if (at - syncedAt > maxStalenessMs) {
        throw serviceUnavailable('Session revocations have not been readable for too long');
      }
      const expiresAt = expiries.get(sessionId);
      return expiresAt !== undefined && expiresAt > at;
    },
    async close() {
      clearInterval(timer);
      subscriber.disconnect();
      await Promise.all([syncing, next].map((reading) => reading?.catch(() => {})));
    },
  };
}

/** For the embedded single-process mode; not shared between processes. */
export function createMemorySessionRevocations(now: () => number = Date.now): SessionRevocations {
  const expiries = new Map<string, number>();
  return {
    async revoke(sessionIds, ttlSeconds) {
      for (const id of sessionIds) expiries.set(id, now() + ttlSeconds * 1000);
    },
    async isRevoked(sessionId) {
      const expiry = expiries.get(sessionId);
      if (expiry === undefined) return false;
      if (expiry > now()) return true;
      expiries.delete(sessionId);
      return false;
    },
  };
}
