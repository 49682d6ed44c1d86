import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  checkOptions,
  createStopSignal,
  DEFAULT_STREAM_MAX_LENGTH,
  once,
  pause,
  retryDelayMs,
  serialize,
  trimInChunks,
  type StopSignal,
} from './event-stream.js';

/** One domain event. `id` is unique per event at its source (e.g. `messages:1234`, the outbox row): appending the same id again within the dedupe window changes nothing. */
export interface RealtimeEvent {
  id: string;
  topic: string;
  payload: Record<string, unknown>;
}

/** An event as stored, with its position. */
export interface LoggedEvent extends RealtimeEvent {
  cursor: string;
}

export type RealtimeLogRead = { expired: false; events: LoggedEvent[] } | { expired: true };

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
  constructor(cursor: string) {
    super(`Not a realtime log cursor: ${JSON.stringify(String(cursor).slice(0, MAX_CURSOR_LENGTH + 1))}`);
  }
}

/**
 * The ordered log realtime subscriptions read: services append domain events once committed, routers follow it
 * live and replay it from a client's cursor when the client resubscribes. A cursor is `<epoch>:<ms>-<seq>`: the
 * epoch names one life of the log, so a cursor from a log since lost (or from another log) reads as expired
 * instead of silently skipping what that log held.
 */
export interface RealtimeLog {
  /** Appends in order; an event whose id was appended within `dedupeSeconds` is skipped. Resolves once stored. */
  append(events: readonly RealtimeEvent[]): Promise<void>;
  /** The cursor of the latest event: a position before every event appended later. */
  head(): Promise<string>;
  /**
   * Up to `limit` events after `cursor` (exclusive), oldest first. `expired: true` when events after the cursor may have
   * been dropped: trimmed by retention, the log the cursor came from was lost (e.g. Redis restarted empty), or the
   * cursor is past the log's newest entry (Redis came back with older data). Entries lost from the end of the log
   * before a cursor older than the newest one kept cannot be seen: run Redis with `appendfsync always`.
   * Throws InvalidCursorError for a string that is not a cursor of this log's format.
   */
  readAfter(cursor: string, limit: number): Promise<RealtimeLogRead>;
  /**
   * Calls `onEvents` with every batch appended after `cursor`, in order, one call at a time (awaits it), until stopped.
   * Connection errors are retried with backoff (reported to `onError`), continuing after the last delivered event, so
   * nothing is skipped or delivered twice while Redis is briefly down. When the log itself was lost (its epoch changed),
   * calls `onReset(cursor)` and continues from the start of the new log; likewise when events after the last delivered
   * one were trimmed (the cursor was older than retention, or the follower fell that far behind), continuing with the
   * oldest event retained; likewise when the log went back in time (Redis came back with older data: entries
   * after the newest it has are lost), continuing after that newest one. `cursor` is where it continues: every
   * event after it is delivered next. A batch whose `onEvents` throws is reported to `onError` and counts as delivered: retrying
   * it would hold back every later event. `stop()` waits for the batch in progress.
   * Throws InvalidCursorError at once for a string that is not a cursor.
   */
  follow(
    cursor: string,
    handlers: {
      onEvents(events: LoggedEvent[]): void | Promise<void>;
      onReset?(cursor: string): void | Promise<void>;
      onError?(error: unknown): void;
    },
  ): { stop(): Promise<void> };
}

const DEFAULT_DEDUPE_SECONDS = 3_600;

/** Events one follow step reads. */
const FOLLOW_BATCH = 500;

/** Events one append script stores: a larger batch would hold Redis up for everyone else. */
const APPEND_CHUNK = 500;

// Redis stream ids are two unsigned 64-bit numbers. Leading zeros are refused so that one position has one cursor.
const MAX_ID_PART = 2n ** 64n - 1n;
const ID_PART = '(0|[1-9]\\d{0,19})';
const CURSOR = new RegExp(`^([0-9a-f]{16}):${ID_PART}-${ID_PART}$`);
const MAX_CURSOR_LENGTH = 16 + 1 + 20 + 1 + 20;

interface Position {
  epoch: string;
  /** A stream id, `<ms>-<seq>`. */
  id: string;
}

function parseCursor(value: string): Position | undefined {
  if (typeof value !== 'string' || value.length > MAX_CURSOR_LENGTH) return undefined;
  const [, epoch = '', ms = '', seq = ''] = CURSOR.exec(value) ?? [];
  if (!epoch || BigInt(ms) > MAX_ID_PART || BigInt(seq) > MAX_ID_PART) return undefined;
  return { epoch, id: `${ms}-${seq}` };
}

function positionOf(cursor: string): Position {
  const position = parseCursor(cursor);
  if (!position) throw new InvalidCursorError(cursor);
  return position;
}

export const isLogCursor = (value: string): boolean => parseCursor(value) !== undefined;

const newEpoch = () => randomBytes(8).toString('hex');

const idParts = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];

/** Ids compare as numbers: as strings, `9-0` would sort after `10-0`. */
function isBefore(a: string, b: string): boolean {
  const [aMs, aSeq] = idParts(a);
  const [bMs, bSeq] = idParts(b);
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
}

/** The smallest id after `id`, where XRANGE starts; undefined after the largest id. */
function idAfter(id: string): string | undefined {
  const [ms, seq] = idParts(id);
  if (seq < MAX_ID_PART) return `${ms}-${seq + 1n}`;
  return ms < MAX_ID_PART ? `${ms + 1n}-0` : undefined;
}

interface EncodedEvent {
  id: string;
  json: string;
}

function encode({ id, topic, payload }: RealtimeEvent): EncodedEvent {
  if (typeof id !== 'string' || id === '' || typeof topic !== 'string' || topic === '') {
    throw new TypeError('A realtime event needs a non-empty string id and topic');
  }
  const json = serialize(topic, payload);
  // A payload with toJSON (a Date) or an array would not come back as an object.
  if (!json.startsWith('{')) throw new TypeError(`Event payload for ${topic} is not a JSON object`);
  return { id, json: `{"id":${JSON.stringify(id)},"topic":${JSON.stringify(topic)},"payload":${json}}` };
}

/** The event stored as `json`, or undefined when it is not one (never written by `append`). */
function decode(json: unknown): RealtimeEvent | undefined {
  if (typeof json !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const { id, topic, payload } = (value ?? {}) as Partial<Record<keyof RealtimeEvent, unknown>>;
  if (typeof id !== 'string' || typeof topic !== 'string') return undefined;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  return { id, topic, payload: payload as Record<string, unknown> };
}

/** What a backend reads in one atomic step, so entries are never judged against a later state of the log. */
interface Snapshot {
  epoch: string;
  /** Events at or before this id may have been dropped; `0-0` when none were. */
  trimmed: string;
  /** The latest id appended, `0-0` before the first. */
  newest: string;
  /** Up to the requested count after the requested id; `event` is undefined for a malformed entry. */
  entries: Array<{ id: string; event: RealtimeEvent | undefined }>;
}

interface LogBackend {
  append(events: EncodedEvent[]): Promise<void>;
  /** Creates the epoch when the log has none. */
  snapshot(after: string, count: number): Promise<Snapshot>;
  /** For one follower: waits until an entry after `after` may exist, or a while passed. */
  openWaiter(): { wait(after: string): Promise<void>; close(): void };
}

/**
 * `work`'s value, or undefined as soon as `signal` stops. Stopping must not wait for a Redis command: ioredis never
 * settles one queued while it reconnects when it is disconnected meanwhile.
 */
async function unlessStopped<T>(signal: StopSignal, work: Promise<T>): Promise<T | undefined> {
  let outcome: PromiseSettledResult<T> | undefined;
  const settled = work.then(
    (value) => void (outcome = { status: 'fulfilled', value }),
    (reason: unknown) => void (outcome = { status: 'rejected', reason }),
  );
  await signal.until((wake) => {
    void settled.then(wake);
    return () => {};
  });
  if (outcome?.status === 'rejected') throw outcome.reason;
  return outcome?.value;
}

/** What both implementations share: cursors, paging and following over a backend's snapshots. */
function createLog(backend: LogBackend): RealtimeLog {
  return {
    async append(events) {
      const encoded = events.map(encode);
      if (encoded.length > 0) await backend.append(encoded);
    },

    async head() {
      const { epoch, newest } = await backend.snapshot('0-0', 0);
      return `${epoch}:${newest}`;
    },

    async readAfter(cursor, limit) {
      const from = positionOf(cursor);
      if (!Number.isSafeInteger(limit) || limit <= 0) {
        throw new RangeError(`limit must be a positive integer (got ${limit})`);
      }
      const events: LoggedEvent[] = [];
      let after = from.id;
      // Loops only past malformed entries, which take room in a read without filling the page.
      while (events.length < limit) {
        const requested = limit - events.length;
        const snapshot = await backend.snapshot(after, requested);
        // A cursor past the newest entry comes from entries the log no longer has: Redis came back with older
        // data (an AOF synced every second, a restored snapshot, a failover to a lagging replica).
        const lost = snapshot.epoch !== from.epoch || isBefore(snapshot.newest, after);
        if (lost || isBefore(after, snapshot.trimmed)) return { expired: true };
        for (const { id, event } of snapshot.entries) {
          if (event) events.push({ ...event, cursor: `${from.epoch}:${id}` });
          after = id;
        }
        if (snapshot.entries.length < requested) break;
      }
      return { expired: false, events };
    },

    follow(cursor, handlers) {
      let { epoch, id: after } = positionOf(cursor);
      const waiter = backend.openWaiter();
      const signal = createStopSignal();
      const report = (error: unknown) => {
        try {
          handlers.onError?.(error);
        } catch {
          // A failing error handler must not end the follow: nothing else would restart it.
        }
      };
      const settle = async (call: () => void | Promise<void>) => {
        try {
          await call();
        } catch (error) {
          report(error);
        }
      };

      const step = async () => {
        const snapshot = await unlessStopped(signal, backend.snapshot(after, FOLLOW_BATCH));
        if (!snapshot || signal.stopped) return;
        // As in readAfter: another epoch, entries trimmed past the position, or a log that went back in time.
        const wentBack = snapshot.epoch === epoch && isBefore(snapshot.newest, after);
        if (snapshot.epoch !== epoch || isBefore(after, snapshot.trimmed) || wentBack) {
          epoch = snapshot.epoch;
          after = wentBack ? snapshot.newest : snapshot.trimmed;
          await settle(() => handlers.onReset?.(`${epoch}:${after}`));
          return;
        }
        if (snapshot.entries.length === 0) return void (await unlessStopped(signal, waiter.wait(after)));
        const events: LoggedEvent[] = [];
        for (const { id, event } of snapshot.entries) {
          if (event) events.push({ ...event, cursor: `${epoch}:${id}` });
          else report(new Error(`Skipped a malformed realtime log entry (${id})`));
          after = id;
        }
        if (events.length > 0) await settle(() => handlers.onEvents(events));
      };

      const loop = (async () => {
        for (let failures = 0; !signal.stopped;) {
          try {
            await step();
            failures = 0;
          } catch (error) {
            if (signal.stopped) break;
            report(error);
            await pause(signal, retryDelayMs(failures));
            failures += 1;
          }
        }
      })();

      return {
        stop: once(async () => {
          signal.stop();
          waiter.close();
          await loop;
        }),
      };
    },
  };
}

/**
 * In-process log for the embedded single-process mode and tests: every service of the process shares one
 * instance (see openServiceRedis). Cursors are `<epoch>:0-<n>`, n counting appended events; the epoch is new for
 * each instance, so a cursor from before a restart reads as expired.
 */
export function createMemoryRealtimeLog({
  prefix,
  maxLength = DEFAULT_STREAM_MAX_LENGTH,
  dedupeSeconds = DEFAULT_DEDUPE_SECONDS,
}: {
  prefix: string;
  maxLength?: number;
  dedupeSeconds?: number;
}): RealtimeLog {
  checkOptions(prefix, { maxLength, dedupeSeconds }, 'A realtime log');
  const epoch = newEpoch();
  const log = { entries: [] as string[], dropped: 0 };
  const newest = () => log.dropped + log.entries.length;
  // Ids by expiry, oldest first. Bounded by maxLength as well: the log keeps no more events than that anyway.
  const seen = new Map<string, number>();
  /** Followers waiting for the next append (one a stopped follower left is dropped by that append). */
  const wakers = new Set<() => void>();

  const firstSeen = (id: string) => {
    const now = Date.now();
    for (const [seenId, expiresAt] of seen) {
      if (expiresAt > now && seen.size < maxLength) break;
      seen.delete(seenId);
    }
    if (seen.has(id)) return false;
    seen.set(id, now + dedupeSeconds * 1_000);
    return true;
  };

  return createLog({
    async append(events) {
      for (const { id, json } of events) {
        if (!firstSeen(id)) continue;
        log.entries.push(json);
        trimInChunks(log, maxLength);
      }
      const waiting = [...wakers];
      wakers.clear();
      for (const wake of waiting) wake();
    },
    async snapshot(after, count) {
      const [ms, seq] = idParts(after);
      const from = ms > 0n ? newest() : Math.min(Number(seq), newest());
      const start = Math.max(from - log.dropped, 0);
      const entries = log.entries.slice(start, start + count).map((json, index) => ({
        id: `0-${log.dropped + start + index + 1}`,
        event: decode(json),
      }));
      return { epoch, trimmed: `0-${log.dropped}`, newest: `0-${newest()}`, entries };
    },
    openWaiter: () => ({
      async wait(after) {
        if (isBefore(after, `0-${newest()}`)) return;
        await new Promise<void>((resolve) => wakers.add(resolve));
      },
      close: () => {},
    }),
  });
}

export interface RedisRealtimeLogOptions {
  /** Command connection; each follow duplicates it for its blocking reads. */
  redis: Redis;
  /** Required, so several deployments (or test workers) can share one Redis. */
  prefix: string;
  /** Events the log keeps (approximately: `XADD MAXLEN ~`); a cursor older than that reads as expired. */
  maxLength?: number;
  /** How long an appended id is remembered, so a redelivered event is not appended again. */
  dedupeSeconds?: number;
  /** How long one blocking read waits before a follower looks again whether the log was lost. */
  blockMs?: number;
}

const APPEND_COMMAND = 'parleyRealtimeLogAppend';
const SNAPSHOT_COMMAND = 'parleyRealtimeLogSnapshot';

// KEYS: the log, its epoch, then each event's dedupe marker. ARGV: an epoch for a log that has none, maxLength,
// dedupeSeconds, then each event's JSON in KEYS' order. Each entry records the id before it (`p`): the first
// entry retained then tells which ids trimming dropped (XINFO's max-deleted-entry-id counts XDEL only, not trims).
// The marker is set after XADD, so an XADD that fails leaves the event to its redelivery instead of skipping it.
const APPEND_SCRIPT = `
redis.call('SET', KEYS[2], ARGV[1], 'NX')
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local previous = newest and newest[1] or '0-0'
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    previous = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[i + 1], 'p', previous)
    redis.call('SET', KEYS[i], previous, 'EX', ARGV[3])
  end
end
return 0
`;

// KEYS: the log, its epoch. ARGV: an epoch for a log that has none, the first id to return, how many (0: none).
// Returns the epoch, the first entry retained, the newest id and the entries.
const SNAPSHOT_SCRIPT = `
redis.call('SET', KEYS[2], ARGV[1], 'NX')
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local entries = {}
if tonumber(ARGV[3]) > 0 then
  entries = redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT', ARGV[3])
end
return {redis.call('GET', KEYS[2]), first or false, newest and newest[1] or '0-0', entries}
`;

type StreamEntry = [id: string, fields: unknown];
type AppendCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<number>;
type SnapshotCommand = (
  log: string,
  epoch: string,
  candidate: string,
  start: string,
  count: string,
) => Promise<[epoch: string, first: StreamEntry | null, newest: string, entries: StreamEntry[]]>;

function fieldOf(fields: unknown, name: string): string | undefined {
  if (!Array.isArray(fields)) return undefined;
  const at = fields.findIndex((value, index) => index % 2 === 0 && value === name);
  const value: unknown = at >= 0 ? fields[at + 1] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The newest id trimming may have dropped before the log's first entry. */
function trimmedBefore(first: StreamEntry | null): string {
  if (!first) return '0-0';
  const previous = fieldOf(first[1], 'p');
  // An entry `append` did not write may follow dropped ones: then only the entry itself is known to remain.
  return previous !== undefined && /^\d+-\d+$/.test(previous) ? previous : first[0];
}

/**
 * A Redis Stream at `${prefix}realtime:log`, each entry the event's JSON in field `e` (and the id before it in
 * `p`), with the epoch at `${prefix}realtime:epoch` and a marker per appended id at `${prefix}realtime:seen:<id>`.
 * The epoch is created (SET NX) by whichever script first touches the log, so a log never exists without one and
 * a log lost with its Redis comes back with another. Both keys are assumed to be lost together, as with a restart
 * or a flush: a stream deleted alone would come back under the old epoch, its loss unseen.
 *
 * A follower reads with the same atomic snapshot as readAfter, and uses its own connection's `XREAD BLOCK` only to
 * wait for something new: entries taken straight from XREAD could come from a log lost or trimmed since the
 * last look.
 */
export function createRedisRealtimeLog({
  redis,
  prefix,
  maxLength = DEFAULT_STREAM_MAX_LENGTH,
  dedupeSeconds = DEFAULT_DEDUPE_SECONDS,
  blockMs = 5_000,
}: RedisRealtimeLogOptions): RealtimeLog {
  checkOptions(prefix, { maxLength, dedupeSeconds, blockMs }, 'A realtime log');
  const logKey = `${prefix}realtime:log`;
  const epochKey = `${prefix}realtime:epoch`;
  // defineCommand sends EVALSHA and falls back to EVAL once when Redis has not cached the script yet.
  redis.defineCommand(APPEND_COMMAND, { lua: APPEND_SCRIPT });
  redis.defineCommand(SNAPSHOT_COMMAND, { numberOfKeys: 2, lua: SNAPSHOT_SCRIPT });
  const commands = redis as unknown as Record<typeof APPEND_COMMAND, AppendCommand> &
    Record<typeof SNAPSHOT_COMMAND, SnapshotCommand>;

  return createLog({
    async append(events) {
      for (let start = 0; start < events.length; start += APPEND_CHUNK) {
        const chunk = events.slice(start, start + APPEND_CHUNK);
        await commands[APPEND_COMMAND].call(
          redis,
          2 + chunk.length,
          logKey,
          epochKey,
          ...chunk.map(({ id }) => `${prefix}realtime:seen:${id}`),
          newEpoch(),
          String(maxLength),
          String(dedupeSeconds),
          ...chunk.map(({ json }) => json),
        );
      }
    },

    async snapshot(after, count) {
      const start = idAfter(after);
      const [epoch, first, newest, entries] = await commands[SNAPSHOT_COMMAND].call(
        redis,
        logKey,
        epochKey,
        newEpoch(),
        start ?? after,
        String(start === undefined ? 0 : count),
      );
      return {
        epoch,
        trimmed: trimmedBefore(first),
        newest,
        entries: entries.map(([id, fields]) => ({ id, event: decode(fieldOf(fields, 'e')) })),
      };
    },

    openWaiter() {
      // A blocked XREAD holds its connection: its own, so stopping can disconnect it rather than wait up to blockMs.
      // Without autoResendUnfulfilledCommands, ioredis drops a command in flight at a reconnect and never settles
      // it: the follower and its stop would wait forever. Sending this read again is harmless.
      const blocking = redis.duplicate({
        connectionName: `${prefix}realtime:follow`,
        autoResendUnfulfilledCommands: true,
        // Its read blocks on purpose, for up to blockMs, and waits for its own connection.
        commandTimeout: undefined,
        enableOfflineQueue: true,
      });
      // Failed reads are reported by the follow loop; without a listener ioredis would print each connection error.
      blocking.on('error', () => {});
      return {
        async wait(after) {
          await blocking.xread('COUNT', 1, 'BLOCK', blockMs, 'STREAMS', logKey, after);
        },
        close: () => blocking.disconnect(),
      };
    },
  });
}
