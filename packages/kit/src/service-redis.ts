/** A service's Redis: its connections, the structures on them, and in-process stand-ins without REDIS_URL. */
import { Redis, type RedisOptions } from 'ioredis';
import { createMemoryEventStream, createRedisEventStream, type EventStream } from './event-stream.js';
import type { Logger } from './logger.js';
import { createMemoryPubSub, createRedisPubSub, type PubSub } from './pubsub.js';
import { createMemoryRealtimeLog, createRedisRealtimeLog, type RealtimeLog } from './realtime-log.js';
import { closeRedis } from './redis-close.js';
import type { Resources } from './resources.js';
import {
  createMemorySessionRevocations,
  createRedisSessionRevocations,
  type SessionRevocations,
} from './session-revocations.js';

export interface ServiceRedis {
  /** The command connection; null without REDIS_URL. */
  redis: Redis | null;
  /** Events to whoever listens now (realtime fan-out, cache invalidation). */
  events: PubSub;
  /** Work between services that must survive a consumer being down (`messages.added`). */
  stream: EventStream;
  /** Committed domain events in order, which realtime subscriptions follow and replay from a cursor. */
  log: RealtimeLog;
  /** Sessions revoked before their access tokens expire (written by the users service, checked by all). */
  revocations: SessionRevocations;
}

type InProcessClients = Omit<ServiceRedis, 'redis'>;

/** Things one process's services share, by key, each with its number of users and how to close it. */
export type SharedRegistry<T> = Map<string, { value: T; close: () => Promise<void>; users: number }>;

/**
 * The shared thing under `key`, created by `create` for its first user; each user releases it when its
 * resources close, and the last one closes it.
 */
export function acquireShared<T>(
  resources: Resources,
  registry: SharedRegistry<T>,
  key: string,
  create: () => { value: T; close: () => Promise<void> },
): T {
  let shared = registry.get(key);
  if (!shared) {
    shared = { ...create(), users: 0 };
    registry.set(key, shared);
  }
  const acquired = shared;
  acquired.users += 1;
  let released = false;
  resources.add(async () => {
    if (released) return;
    released = true;
    acquired.users -= 1;
    if (acquired.users > 0) return;
    registry.delete(key);
    await acquired.close();
  });
  return acquired.value;
}

/**
 * Without Redis, the services of one process (`npm start`) must share their bus, streams and realtime log,
 * or nothing one publishes reaches another. One set per REDIS_PREFIX, closed when its last user stops.
 */
const inProcess: SharedRegistry<InProcessClients> = new Map();

function acquireInProcessClients(
  resources: Resources,
  prefix: string,
  logger: Logger | undefined,
): InProcessClients {
  return acquireShared(resources, inProcess, prefix, () => {
    const clients: InProcessClients = {
      events: createMemoryPubSub({ prefix, ...(logger && { logger }) }),
      stream: createMemoryEventStream({ prefix, ...(logger && { logger }) }),
      log: createMemoryRealtimeLog({ prefix }),
      revocations: createMemorySessionRevocations(),
    };
    return { value: clients, close: () => clients.events.close() };
  });
}

/**
 * Every service connection to Redis fails a command within a second while Redis is silent (rather than wait
 * for as long as reconnecting takes), and reconnects within a second of Redis being back. Connections that
 * block on purpose (stream reads) turn `commandTimeout` off for themselves. See `connectRedis`.
 */
export const REDIS_OPTIONS = {
  maxRetriesPerRequest: 2,
  enableOfflineQueue: true,
  commandTimeout: 1_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
} as const;

/**
 * A service connection to Redis (REDIS_OPTIONS): commands wait for its first connection (a service starting
 * alongside Redis), then, while it is down, fail at once instead of queueing (answered SERVICE_UNAVAILABLE,
 * never a request left waiting for several timeouts in a row). Its outage and return are logged once each.
 */
export function connectRedis(
  url: string,
  name: string,
  logger: Logger | undefined,
  overrides: Partial<RedisOptions> = {},
): Redis {
  const connection = new Redis(url, { ...REDIS_OPTIONS, ...overrides });
  connection.once('ready', () => {
    connection.options.enableOfflineQueue = false;
  });
  return watched(connection, name, logger);
}

/**
 * Reports a connection's outage once (warn) and its return (info), rather than ioredis printing every failed
 * reconnection attempt to stderr; commands meanwhile fail with errors answered as SERVICE_UNAVAILABLE.
 */
function watched(connection: Redis, name: string, logger: Logger | undefined): Redis {
  let down = false;
  connection.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger?.warn({ err: error, connection: name }, 'Redis unreachable; reconnecting');
  });
  connection.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({ connection: name }, 'Redis reachable again');
  });
  return connection;
}

/**
 * One view of the revoked sessions per Redis and prefix in a process, shared by its services, so a session
 * revoked by one is refused by the others at once (other processes hear of it by push). Closed with its last user.
 */
const revocationViews: SharedRegistry<SessionRevocations> = new Map();

function acquireRevocations(
  resources: Resources,
  redisUrl: string,
  prefix: string,
  logger: Logger | undefined,
): SessionRevocations {
  return acquireShared(resources, revocationViews, `${redisUrl}\n${prefix}`, () => {
    const redis = connectRedis(redisUrl, 'revocations', logger);
    const subscriber = connectRedis(redisUrl, 'revocations-subscriber', logger, {
      commandTimeout: undefined,
    });
    const view = createRedisSessionRevocations({
      redis,
      subscriber,
      prefix,
      ...(logger && { logger: logger.child({ component: 'session-revocations' }) }),
    });
    return {
      value: view,
      close: async () => {
        await view.close();
        redis.disconnect();
      },
    };
  });
}

/**
 * A service's Redis command connection, event bus (its own publisher and subscriber connections), event
 * streams, realtime log (on the command connection; each follower opens its own) and session revocations. Without REDIS_URL: no connection, and in-process equivalents shared
 * by every service of this process with the same REDIS_PREFIX. Registers them with `resources`.
 */
export function openServiceRedis(
  resources: Resources,
  env: { REDIS_URL?: string | undefined; REDIS_PREFIX: string },
  logger?: Logger,
): ServiceRedis {
  const prefix = env.REDIS_PREFIX;
  if (!env.REDIS_URL) return { redis: null, ...acquireInProcessClients(resources, prefix, logger) };
  const connect = (name: string) => connectRedis(env.REDIS_URL!, name, logger);
  const redis = connect('commands');
  resources.add(() => closeRedis(redis));
  const events = createRedisPubSub({
    publisher: connect('publisher'),
    subscriber: connect('subscriber'),
    prefix,
    ...(logger && { logger }),
  });
  resources.add(() => events.close());
  return {
    redis,
    events,
    stream: createRedisEventStream({ redis, prefix, ...(logger && { logger }) }),
    log: createRedisRealtimeLog({ redis, prefix }),
    revocations: acquireRevocations(resources, env.REDIS_URL, prefix, logger),
  };
}

/**
 * A subgraph's readiness: its database answers a query and, when it has one, its Redis a PING (a failure
 * of either makes `/ready` answer 503).
 */
export function databaseAndRedisReady(
  prisma: { $queryRaw(query: TemplateStringsArray): PromiseLike<unknown> },
  redis: Redis | null,
): () => Promise<boolean> {
  return async () => {
    await prisma.$queryRaw`SELECT 1`;
    if (redis) await redis.ping();
    return true;
  };
}
