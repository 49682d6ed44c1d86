import {
  createLogger,
  createMetricsRegistry,
  createServiceAuth,
  databaseAndRedisReady,
  listenService,
  openServiceDatabase,
  openServiceRedis,
  serviceTokenSecret,
  startWithResources,
  subgraphHttpConfig,
  systemClock,
  tokenVerificationFromEnv,
  type Clock,
  type Logger,
  type RunningService,
} from '@parley/kit';
import { createMembershipRepair, openMembershipProjection } from '@parley/membership';
import { createPrismaClient } from './data/database.js';
import { createPostgresPresenceRecordStore } from './data/presence-record-store.js';
import type { PresenceEnv } from './env.js';
import { SOCKET_DEVICE_TTL_MS } from './events.js';
import { createRelationsClient } from './relations.js';
import { followEvents } from './followed-events.js';
import { createPresenceServer } from './server.js';
import {
  createMemoryPresenceData,
  createMemoryPresenceStore,
  createRedisPresenceStore,
  type PresenceStore,
  type PresenceTimings,
} from './store/presence-store.js';

export const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;

export interface PresenceServiceOptions {
  /** What the service reads the time from (devices, AWAY, settling, leases, typing): the system's by default. */
  clock?: Clock;
}

/**
 * Builds every client the presence subgraph needs from its environment, applies migrations, starts the
 * publisher, follows the bus (the router's socket reports among it) and listens. Without DATABASE_URL it
 * runs on the embedded PostgreSQL server (its own database there); without REDIS_URL its live state is kept
 * in this process (the router's reports reach it on the in-process bus).
 */
export async function startPresenceService(
  env: PresenceEnv,
  logger: Logger = createLogger({ service: 'presence', level: env.LOG_LEVEL, format: env.LOG_FORMAT }),
  { clock = systemClock }: PresenceServiceOptions = {},
): Promise<RunningService> {
  return startWithResources(async (resources) => {
    const database = await openServiceDatabase(resources, { name: 'presence', env, migrationsDir, logger });
    const prisma = createPrismaClient(database);
    resources.add(() => prisma.$disconnect());
    const services = openServiceRedis(resources, env, logger);
    // One live state, two stores on it: heartbeats live PRESENCE_DEVICE_TTL_SECONDS, the router's sockets
    // SOCKET_DEVICE_TTL_MS (the TTL the router times its refreshes by).
    const memory = createMemoryPresenceData();
    const storeWith = (deviceTtlMs: number): PresenceStore => {
      const timings: Partial<PresenceTimings> = {
        deviceTtlMs,
        awayAfterMs: env.PRESENCE_AWAY_AFTER_SECONDS * 1000,
        typingTtlMs: env.TYPING_TTL_SECONDS * 1000,
        settleMs: env.PRESENCE_SETTLE_MS,
      };
      return services.redis
        ? createRedisPresenceStore({ redis: services.redis, prefix: env.REDIS_PREFIX, timings, clock })
        : createMemoryPresenceStore({ data: memory, timings, clock });
    };
    const store = storeWith(env.PRESENCE_DEVICE_TTL_SECONDS * 1000);
    const sockets = storeWith(SOCKET_DEVICE_TTL_MS);

    const records = createPostgresPresenceRecordStore(prisma);
    const metrics = createMetricsRegistry('presence');
    const { yoga, publisher, service } = createPresenceServer({
      store,
      records,
      relations: createRelationsClient({
        usersUrl: env.USERS_SUBGRAPH_URL,
        conversationsUrl: env.CONVERSATIONS_SUBGRAPH_URL,
        timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
        serviceAuth: createServiceAuth({ secret: serviceTokenSecret(env), service: 'presence' }),
      }),
      projection: openMembershipProjection(resources, { redis: services.redis, prefix: env.REDIS_PREFIX }),
      repairMembership: createMembershipRepair({
        url: env.CONVERSATIONS_SUBGRAPH_URL,
        timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
      }),
      log: services.log,
      revocations: services.revocations,
      logger,
      metrics,
      config: {
        token: tokenVerificationFromEnv(env, env.USERS_SUBGRAPH_URL),
        http: subgraphHttpConfig(env),
      },
      ready: databaseAndRedisReady(prisma, services.redis),
      clock,
    });

    resources.add(publisher.start(env.PRESENCE_SWEEP_INTERVAL_MS));
    resources.add(await followEvents({ events: services.events, store, sockets, records, service, logger }));

    return listenService(resources, yoga, { env, metrics, logger, name: 'presence subgraph' });
  });
}
