import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from './env.js';
import type { Logger } from './logger.js';
import { readPayload, type PayloadInputOf, type PayloadOf, type Topic } from './topics.js';

/**
 * Durable work between services, where an event must not be lost while its consumer is down (PubSub
 * delivers only to whoever listens at that moment). Payloads are JSON, as with PubSub.
 */
export interface EventStream {
  /** Appends one entry to `topic`'s stream (its payload checked against the topic's schema); resolves once stored. */
  append<T extends Topic>(topic: T, payload: PayloadInputOf<T>): Promise<void>;
  /**
   * Delivers every entry appended to `topic` to one consumer of `group` (consumer groups: each entry to one
   * consumer per group; a new group starts at the beginning of the retained stream), calling `handler` one entry at a time in order; an entry is acknowledged
   * only after `handler` resolves, so entries a crashed or failing consumer left unacknowledged are delivered again
   * (at least once). An entry that does not match the topic's schema is logged and passed over (handling it
   * again could never succeed). Returns a stop function that waits for the handler in progress.
   */
  consume<T extends Topic>(
    topic: T,
    group: string,
    handler: (payload: PayloadOf<T>) => Promise<void>,
  ): Promise<() => Promise<void>>;
}

/** The transports below work on topic names and raw payloads; `typedStream` puts the topics' schemas on top. */
interface RawEventStream {
  append(topic: string, payload: unknown): Promise<void>;
  consume(
    topic: string,
    group: string,
    handler: (payload: unknown) => Promise<void>,
  ): Promise<() => Promise<void>>;
}

function typedStream(raw: RawEventStream, logger: Logger | undefined): EventStream {
  return {
    async append(topic, payload) {
      readPayload(topic, payload);
      await raw.append(topic.name, payload);
    },
    consume: (topic, group, handler) =>
      raw.consume(topic.name, group, async (payload) => {
        let read;
        try {
          read = readPayload(topic, payload);
        } catch (error) {
          logger?.error(
            { err: error, topic: topic.name, group },
            'event passed over: not what its topic declares',
          );
          return;
        }
        await handler(read);
      }),
  };
}

/** Entries each topic's stream keeps by default; older ones are dropped, delivered or not. */
export const DEFAULT_STREAM_MAX_LENGTH = 100_000;

/** Shared by the realtime log, whose options follow the same rules; `what` names the thing in the error. */
export function checkOptions(
  prefix: string,
  numbers: Record<string, number>,
  what = 'An event stream',
): void {
  if (!KEY_PREFIX.test(prefix)) {
    throw new Error(`${what} key prefix is required and must end with ":" (got "${prefix}")`);
  }
  for (const [name, value] of Object.entries(numbers)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`${name} must be a positive integer (got ${value})`);
    }
  }
}

export function serialize(topic: string, payload: unknown): string {
  const message = JSON.stringify(payload) as string | undefined;
  // `undefined` (or a function) has no JSON form: stored anyway, it could never be delivered.
  if (message === undefined) throw new TypeError(`Event payload for ${topic} is not representable as JSON`);
  return message;
}

/** A consumer's stop switch; `until` waits for something that stopping cuts short. */
export function createStopSignal() {
  let stopped = false;
  const wakers = new Set<() => void>();
  return {
    get stopped() {
      return stopped;
    },
    stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
    },
    /** Resolves when `arm`'s wake-up is called, or at once when stopped; `arm` returns how to disarm. */
    until(arm: (wake: () => void) => () => void): Promise<void> {
      return new Promise((resolve) => {
        if (stopped) return resolve();
        let disarm = () => {};
        const wake = () => {
          wakers.delete(wake);
          disarm();
          resolve();
        };
        wakers.add(wake);
        disarm = arm(wake);
      });
    },
  };
}

export type StopSignal = ReturnType<typeof createStopSignal>;

export const pause = (signal: StopSignal, ms: number) =>
  signal.until((wake) => {
    const timer = setTimeout(wake, ms);
    return () => clearTimeout(timer);
  });

/** 100 ms after the first failure, doubling up to 5 s: a database that is down is not hammered. */
export const retryDelayMs = (attempt: number) => Math.min(100 * 2 ** attempt, 5_000);

/**
 * Calls `handler` until it resolves. Retrying here, before any later entry, is what keeps entries in
 * order. False when stopped first: the entry stays unacknowledged for the next consumer.
 */
async function handleUntilDone(
  handler: (payload: unknown) => Promise<void>,
  message: string,
  signal: StopSignal,
): Promise<boolean> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      // Parsed per attempt: a handler that changed the payload before failing gets a fresh copy.
      await handler(JSON.parse(message));
      return true;
    } catch {
      if (signal.stopped) return false;
      await pause(signal, retryDelayMs(attempt));
      if (signal.stopped) return false;
    }
  }
}

export const once = (stop: () => Promise<void>) => {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stop());
};

/** Trimmed in chunks, as Redis does for MAXLEN ~: one splice per maxLength / 10 appends, not per append. */
export function trimInChunks(log: { entries: unknown[]; dropped: number }, maxLength: number): void {
  if (log.entries.length >= maxLength + Math.ceil(maxLength / 10)) {
    const excess = log.entries.length - maxLength;
    log.entries.splice(0, excess);
    log.dropped += excess;
  }
}

interface MemoryGroup {
  /** Position (counted from the first entry ever appended) of the next entry never delivered. */
  next: number;
  /** Entries a stopped consumer left unacknowledged: delivered before `next`. */
  returned: string[];
}

interface MemoryTopic {
  entries: string[];
  /** How many entries were trimmed from the front of `entries`. */
  dropped: number;
  groups: Map<string, MemoryGroup>;
  wakers: Set<() => void>;
}

/**
 * In-process streams for the embedded single-process mode and tests: durable while the process lives,
 * which is what `npm start` needs (every service shares one instance; see openServiceRedis).
 */
export function createMemoryEventStream({
  prefix,
  maxLength = DEFAULT_STREAM_MAX_LENGTH,
  logger,
}: {
  prefix: string;
  maxLength?: number;
  /** Where entries that do not match their topic are reported. */
  logger?: Logger;
}): EventStream {
  checkOptions(prefix, { maxLength });
  const topics = new Map<string, MemoryTopic>();
  const topicOf = (name: string) => {
    let topic = topics.get(name);
    if (!topic) {
      topic = { entries: [], dropped: 0, groups: new Map(), wakers: new Set() };
      topics.set(name, topic);
    }
    return topic;
  };
  const wakeAll = (topic: MemoryTopic) => {
    for (const wake of [...topic.wakers]) wake();
  };
  const take = (topic: MemoryTopic, group: MemoryGroup): string | undefined => {
    const returned = group.returned.shift();
    if (returned !== undefined) return returned;
    group.next = Math.max(group.next, topic.dropped);
    const entry = topic.entries[group.next - topic.dropped];
    if (entry !== undefined) group.next += 1;
    return entry;
  };

  return typedStream(
    {
      async append(name, payload) {
        const topic = topicOf(name);
        topic.entries.push(serialize(name, payload));
        trimInChunks(topic, maxLength);
        wakeAll(topic);
      },
      async consume(name, groupName, handler) {
        const topic = topicOf(name);
        const group = topic.groups.get(groupName) ?? { next: topic.dropped, returned: [] };
        topic.groups.set(groupName, group);
        const signal = createStopSignal();
        const loop = (async () => {
          while (!signal.stopped) {
            const entry = take(topic, group);
            if (entry === undefined) {
              await signal.until((wake) => {
                topic.wakers.add(wake);
                return () => topic.wakers.delete(wake);
              });
            } else if (!(await handleUntilDone(handler, entry, signal))) {
              group.returned.unshift(entry);
              wakeAll(topic);
            }
          }
        })();
        return once(async () => {
          signal.stop();
          await loop;
        });
      },
    },
    logger,
  );
}

export interface RedisEventStreamOptions {
  /** Command connection; each consumer duplicates it for its blocking reads. */
  redis: Redis;
  /** Where entries that do not match their topic are reported. */
  logger?: Logger;
  /** Required, so several deployments (or test workers) can share one Redis. */
  prefix: string;
  /** Entries each topic's stream keeps (approximately: `XADD MAXLEN ~`); older ones are trimmed, delivered or not. */
  maxLength?: number;
  /**
   * This consumer's name in its group. By default each `consume` gets a unique one. A name reused after a
   * crash gets back at once the entries it held unacknowledged; otherwise they wait for `claimIdleMs`.
   * Two live `consume` calls on one topic and group must not share a name.
   */
  consumerName?: string;
  /** How long one blocking read waits for new entries before looking again for abandoned ones. */
  blockMs?: number;
  /**
   * How long an entry may stay unacknowledged with another consumer before this one takes it over (that
   * consumer crashed). A live consumer whose handler takes longer may see the entry delivered twice.
   */
  claimIdleMs?: number;
}

/** Entries read (or claimed) per round trip. */
const BATCH = 100;

/** Idle time given to the entries a stopping consumer hands back, so any consumer claims them at once. */
const RELEASED_IDLE_MS = 86_400_000;

type StreamEntry = [id: string, fields: string[] | null];
type ReadReply = Array<[key: string, entries: StreamEntry[]]> | null;

// KEYS[1]: the stream. ARGV: group, consumer, idle time to set. Hands the consumer's unacknowledged entries
// back to the group, or deletes the consumer when it holds none. One script: a blocked read of this consumer
// that Redis serves meanwhile either precedes it (and is handed back) or follows it (and recreates the
// consumer, whose entry is then claimed after claimIdleMs): an entry is never dropped with the consumer.
const RELEASE_SCRIPT = `
local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1000, ARGV[2])
if #held == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
local ids = {}
for i, entry in ipairs(held) do ids[i] = entry[1] end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids), 'IDLE', ARGV[3], 'JUSTID')
return #ids
`;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The entry's `p` field when it holds JSON. */
function messageOf(fields: string[] | null): string | undefined {
  const at = fields?.findIndex((value, index) => index % 2 === 0 && value === 'p') ?? -1;
  const message = at >= 0 ? fields?.[at + 1] : undefined;
  if (message === undefined) return undefined;
  try {
    JSON.parse(message);
    return message;
  } catch {
    return undefined;
  }
}

/**
 * Redis Streams: one stream per topic at `${prefix}stream:${topic}`, each entry's JSON in field `p`, and a
 * consumer group per consuming service. A consumer first takes back entries it or a dead consumer left
 * unacknowledged (`XREADGROUP ... 0`, `XAUTOCLAIM`), then blocks on `XREADGROUP ... >`, and `XACK`s each
 * entry once its handler resolved.
 */
export function createRedisEventStream({
  redis,
  prefix,
  maxLength = DEFAULT_STREAM_MAX_LENGTH,
  consumerName,
  blockMs = 5_000,
  claimIdleMs = 60_000,
  logger,
}: RedisEventStreamOptions): EventStream {
  checkOptions(prefix, { maxLength, blockMs, claimIdleMs });
  const keyOf = (topic: string) => `${prefix}stream:${topic}`;

  return typedStream(
    {
      async append(topic, payload) {
        await redis.xadd(keyOf(topic), 'MAXLEN', '~', maxLength, '*', 'p', serialize(topic, payload));
      },

      async consume(topic, group, handler) {
        const key = keyOf(topic);
        const consumer = consumerName ?? `${hostname()}:${process.pid}:${randomUUID()}`;
        const createGroup = async () => {
          try {
            await redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
          } catch (error) {
            if (!errorText(error).startsWith('BUSYGROUP')) throw error;
          }
        };
        await createGroup();

        // A blocked XREADGROUP holds its connection; stopping disconnects it rather than wait up to blockMs.
        // Its read blocks on purpose; it waits for its own connection (the original may fail fast by then).
        const blocking = redis.duplicate({ commandTimeout: undefined, enableOfflineQueue: true });
        // Failed reads are retried by the loop; without a listener ioredis would print each connection error.
        blocking.on('error', () => {});
        const signal = createStopSignal();
        let ownPendingFirst = true;
        let claimCursor = '0-0';
        let lastClaimAt = -Infinity;

        const read = async (): Promise<StreamEntry[]> => {
          if (Date.now() - lastClaimAt >= Math.min(blockMs, claimIdleMs)) {
            lastClaimAt = Date.now();
            const [cursor, claimed] = (await redis.xautoclaim(
              key,
              group,
              consumer,
              claimIdleMs,
              claimCursor,
              'COUNT',
              BATCH,
              'JUSTID',
            )) as [string, string[]];
            claimCursor = cursor;
            if (claimed.length > 0) ownPendingFirst = true;
          }
          if (ownPendingFirst) {
            const reply = (await redis.xreadgroup(
              'GROUP',
              group,
              consumer,
              'COUNT',
              BATCH,
              'STREAMS',
              key,
              '0',
            )) as ReadReply;
            const entries = reply?.[0]?.[1] ?? [];
            if (entries.length > 0) return entries;
            ownPendingFirst = false;
          }
          const reply = (await blocking.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            BATCH,
            'BLOCK',
            blockMs,
            'STREAMS',
            key,
            '>',
          )) as ReadReply;
          return reply?.[0]?.[1] ?? [];
        };

        const loop = (async () => {
          for (let failures = 0; !signal.stopped;) {
            try {
              for (const [id, fields] of await read()) {
                if (signal.stopped) break;
                const message = messageOf(fields);
                // A trimmed entry (no fields) or one that is not our JSON can never be handled: acked, skipped.
                if (message !== undefined && !(await handleUntilDone(handler, message, signal))) break;
                await redis.xack(key, group, id);
              }
              failures = 0;
            } catch (error) {
              if (signal.stopped) break;
              // The stream (and its group) vanished, e.g. Redis restarted without persistence: start over.
              if (errorText(error).startsWith('NOGROUP')) await createGroup().catch(() => {});
              // An entry whose XACK failed is still ours: deliver it again rather than leave it behind.
              ownPendingFirst = true;
              await pause(signal, retryDelayMs(failures));
              failures += 1;
            }
          }
        })();

        return once(async () => {
          signal.stop();
          blocking.disconnect();
          await loop;
          try {
            await redis.eval(RELEASE_SCRIPT, 1, key, group, consumer, RELEASED_IDLE_MS);
          } catch {
            // Whatever this consumer holds is claimed by another after claimIdleMs instead.
          }
        });
      },
    },
    logger,
  );
}
