import { PrismaPg } from '@prisma/adapter-pg';
import { Redis, type RedisOptions } from 'ioredis';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { createMemoryEventStream, createRedisEventStream, type EventStream } from './event-stream.js';
import { createLogger, type Logger, type LoggerConfig } from './logger.js';
import {
  createMemoryMembershipProjection,
  createRedisMembershipProjection,
  type MembershipProjection,
} from './membership.js';
import { applyMigrations } from './migrations.js';
import {
  createMemoryPresenceData,
  createMemoryPresenceStore,
  createRedisPresenceStore,
  type MemoryPresenceData,
  type PresenceStore,
  type PresenceTimings,
} from './presence.js';
import { createMemoryPubSub, createRedisPubSub, type PubSub } from './pubsub.js';
import { createMemoryRealtimeLog, createRedisRealtimeLog, type RealtimeLog } from './realtime-log.js';
import type { Resources } from './resources.js';
import {
  createMemorySessionRevocations,
  createRedisSessionRevocations,
  type RedisSessionRevocations,
  type SessionRevocations,
} from './session-revocations.js';

export type ServiceDatabase = PrismaConnectionOptions;

/**
 * A service's PostgreSQL, migrated: DATABASE_URL, or, when it is unset (a service started alone with nothing
 * installed), its own database `parley_<name>` on the embedded server under EMBEDDED_DATA_DIR, registered
 * with `resources` to stop. `npm start` starts that server once and gives each service its DATABASE_URL.
 */
export async function openServiceDatabase(
  resources: Resources,
  options: {
    name: string;
    env: {
      DATABASE_URL?: string | undefined;
      DATABASE_SCHEMA: string;
      DATABASE_POOL_MAX: number;
      EMBEDDED_DATA_DIR: string;
    };
    migrationsDir: string;
    logger: Logger;
  },
): Promise<ServiceDatabase> {
  const { env, logger } = options;
  let url = env.DATABASE_URL;
  if (!url) {
    const embedded = await startEmbeddedPostgres({ dataDir: env.EMBEDDED_DATA_DIR, logger });
    resources.add(() => embedded.stop());
    const database = embeddedDatabaseName(options.name);
    await embedded.ensureDatabase(database);
    logger.info({ port: embedded.port, database }, 'no DATABASE_URL: using embedded PostgreSQL');
    url = embedded.urlFor(database);
  }
  await applyMigrations({
    connectionString: url,
    migrationsDir: options.migrationsDir,
    schema: env.DATABASE_SCHEMA,
    logger,
  });
  return { connectionString: url, schema: env.DATABASE_SCHEMA, poolMax: env.DATABASE_POOL_MAX };
}

/** A service's database on the embedded server. */
export const embeddedDatabaseName = (service: string) => `parley_${service}`;

export interface PrismaConnectionOptions {
  connectionString: string;
  /** The Postgres schema the service's tables live in. */
  schema: string;
  poolMax: number;
}

/** How long opening a connection to a service's database may take before the statement fails. */
export const DATABASE_CONNECT_TIMEOUT_MS = 1_000;

/** Prisma's pg driver adapter for a service's database: its own pool, its tables found through search_path. */
const createPrismaPgAdapter = (options: PrismaConnectionOptions) =>
  new PrismaPg(
    {
      connectionString: options.connectionString,
      max: options.poolMax,
      // A server that does not answer (rather than refuse) fails the statement in a second, not a minute.
      connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
      options: `-c search_path="${options.schema}"`,
    },
    { schema: options.schema },
  );

export interface ServicePrismaOptions extends PrismaConnectionOptions {
  /** Called with every SQL statement and its parameters as JSON (tests count and explain them). */
  onQuery?: (sql: string, params: string) => void;
}

type QueryLog = Array<{ emit: 'event'; level: 'query' }>;
interface QueryEvents {
  $on(event: 'query', listener: (event: { query: string; params: string }) => void): void;
}

/**
 * A service's own generated PrismaClient on the pg driver adapter; with `onQuery`, every statement is
 * reported too. Each service calls it with its own client class (`createPrismaClient` in its database.ts).
 */
export function createServicePrismaClient<Client>(
  PrismaClient: new (options: { adapter: PrismaPg; log?: QueryLog }) => Client,
  options: ServicePrismaOptions,
): Client {
  const adapter = createPrismaPgAdapter(options);
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  (client as unknown as QueryEvents).$on('query', (event) => onQuery(event.query, event.params));
  return client;
}

export interface ServiceRedis {
  /** The command connection; null without REDIS_URL. */
  redis: Redis | null;
  /** Events to whoever listens now (realtime fan-out, cache invalidation). */
  events: PubSub;
  /** Work between services that must survive a consumer being down (`messages.added`). */
  stream: EventStream;
  /** Committed domain events in order, which realtime subscriptions follow and replay from a cursor. */
  log: RealtimeLog;
  /** Who belongs to each conversation (written by the conversations service, read by the others). */
  projection: MembershipProjection;
  /** Sessions revoked before their access tokens expire (written by the users service, checked by all). */
  revocations: SessionRevocations;
  /** Live presence and typing (written by the router for its sockets and by the presence service, read by it). */
  presence(timings?: Partial<PresenceTimings>): PresenceStore;
}

type InProcessClients = Omit<ServiceRedis, 'redis'>;

const presenceOn =
  (data: MemoryPresenceData) =>
  (timings?: Partial<PresenceTimings>): PresenceStore =>
    createMemoryPresenceStore({ data, ...(timings && { timings }) });

/**
 * Without Redis, the services of one process (`npm start`) must share their bus, streams, realtime log and
 * projection, or nothing one publishes reaches another. One set per REDIS_PREFIX, closed when its last user stops.
 */
const inProcess = new Map<string, { clients: InProcessClients; users: number }>();

function acquireInProcessClients(
  resources: Resources,
  prefix: string,
  logger: Logger | undefined,
): InProcessClients {
  let shared = inProcess.get(prefix);
  if (!shared) {
    shared = {
      clients: {
        events: createMemoryPubSub({ prefix, ...(logger && { logger }) }),
        stream: createMemoryEventStream({ prefix, ...(logger && { logger }) }),
        log: createMemoryRealtimeLog({ prefix }),
        projection: createMemoryMembershipProjection({ prefix }),
        revocations: createMemorySessionRevocations(),
        presence: presenceOn(createMemoryPresenceData()),
      },
      users: 0,
    };
    inProcess.set(prefix, shared);
  }
  const acquired = shared;
  acquired.users += 1;
  let released = false;
  resources.add(async () => {
    if (released) return;
    released = true;
    acquired.users -= 1;
    if (acquired.users > 0) return;
    inProcess.delete(prefix);
    await acquired.clients.events.close();
  });
  return acquired.clients;
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
const revocationViews = new Map<string, { view: RedisSessionRevocations; redis: Redis; users: number }>();

function acquireRevocations(
  resources: Resources,
  redisUrl: string,
  prefix: string,
  logger: Logger | undefined,
): SessionRevocations {
  const viewKey = `${redisUrl}\n${prefix}`;
  let shared = revocationViews.get(viewKey);
  if (!shared) {
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
    shared = { view, redis, users: 0 };
    revocationViews.set(viewKey, shared);
  }
  const acquired = shared;
  acquired.users += 1;
  let released = false;
  resources.add(async () => {
    if (released) return;
    released = true;
    acquired.users -= 1;
    if (acquired.users > 0) return;
    revocationViews.delete(viewKey);
    await acquired.view.close();
    acquired.redis.disconnect();
  });
  return acquired.view;
}

/**
 * Whether a Prisma error is a unique-constraint violation: P2002 from the client, or a raw query's
 * (P2010, which carries the driver's error kind).
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, meta } = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
  };
  if (code === 'P2002') return true;
  return code === 'P2010' && meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation';
}

/**
 * A service's Redis command connection, event bus (its own publisher and subscriber connections), event
 * streams, realtime log (on the command connection; each follower opens its own), membership projection and
 * session revocations. Without REDIS_URL: no connection, and in-process equivalents shared
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
  resources.add(() => redis.quit());
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
    projection: createRedisMembershipProjection({ redis, prefix }),
    revocations: acquireRevocations(resources, env.REDIS_URL, prefix, logger),
    presence: (timings) => createRedisPresenceStore({ redis, prefix, timings }),
  };
}

/**
 * The body of each service's `npm run migrate`: applies pending migrations to DATABASE_URL (required:
 * the embedded database migrates itself on start), logs them, and exits 1 on failure.
 */
export function runMigrateCommand(options: {
  service: string;
  readEnv: () => {
    DATABASE_URL?: string | undefined;
    DATABASE_SCHEMA: string;
    LOG_LEVEL: LoggerConfig['level'];
  };
  migrationsDir: string;
}) {
  const main = async () => {
    const env = options.readEnv();
    if (!env.DATABASE_URL)
      throw new Error('DATABASE_URL is required to migrate (the embedded database migrates on start)');
    const logger = createLogger({ service: `${options.service}-migrate`, level: env.LOG_LEVEL });
    const applied = await applyMigrations({
      connectionString: env.DATABASE_URL,
      migrationsDir: options.migrationsDir,
      schema: env.DATABASE_SCHEMA,
      logger,
    });
    logger.info({ applied: applied.map((migration) => migration.name) }, 'migrations up to date');
  };
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
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
