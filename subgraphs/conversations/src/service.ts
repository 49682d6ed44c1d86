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
  tokenVerificationFromEnv,
  type Logger,
  type RunningService,
} from '@parley/kit';
import { openMembershipProjection } from '@parley/membership';
import { createBlockRelationsClient, createUserRelationsClient } from '@parley/users/client';
import { createPrismaClient } from './data/database.js';
import type { ConversationsEnv } from './env.js';
import { startFellowMemberUpdates } from './fellow-member-updates.js';
import { startActivityChangePrune } from './jobs/prune-activity-changes.js';
import { startMessageActivity } from './message-activity.js';
import { createConversationsServer } from './server.js';

export const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;

/**
 * Builds every client the conversations subgraph needs from its environment, applies migrations, and
 * listens. Without DATABASE_URL it runs on
 * the embedded PostgreSQL server (its own database there); without REDIS_URL on in-process equivalents.
 */
export async function startConversationsService(
  env: ConversationsEnv,
  logger: Logger = createLogger({ service: 'conversations', level: env.LOG_LEVEL, format: env.LOG_FORMAT }),
): Promise<RunningService> {
  // First: in production without SERVICE_TOKEN_SECRET this throws before anything is opened.
  const serviceAuth = createServiceAuth({ secret: serviceTokenSecret(env), service: 'conversations' });
  return startWithResources(async (resources) => {
    const database = await openServiceDatabase(resources, {
      name: 'conversations',
      env,
      migrationsDir,
      logger,
    });
    const prisma = createPrismaClient(database);
    resources.add(() => prisma.$disconnect());
    const { redis, events, stream, log, revocations } = openServiceRedis(resources, env, logger);
    const projection = openMembershipProjection(resources, { redis, prefix: env.REDIS_PREFIX });

    const metrics = createMetricsRegistry('conversations');
    const { yoga, relay, conversations } = createConversationsServer({
      prisma,
      events,
      log,
      projection,
      users: createUserRelationsClient({ url: env.USERS_SUBGRAPH_URL, timeoutMs: env.USERS_TIMEOUT_MS }),
      revocations,
      serviceAuth,
      logger,
      metrics,
      config: {
        token: tokenVerificationFromEnv(env, env.USERS_SUBGRAPH_URL),
        http: subgraphHttpConfig(env),
        maxGroupMembers: env.MAX_GROUP_MEMBERS,
        listCursorTtlSeconds: env.LIST_CURSOR_TTL_SECONDS,
        receiptsMaxMembers: env.RECEIPTS_MAX_MEMBERS,
      },
      ready: databaseAndRedisReady(prisma, redis),
    });

    const blockRelations = createBlockRelationsClient({
      url: env.USERS_SUBGRAPH_URL,
      timeoutMs: env.USERS_TIMEOUT_MS,
      serviceAuth,
    });
    resources.add(await startMessageActivity({ stream, conversations, blockRelations, relay, logger }));
    resources.add(
      await startFellowMemberUpdates({ stream, conversations, blockRelations, events, log, logger }),
    );
    const stopRelay = relay.start();
    resources.add(stopRelay);
    const stopPrune = startActivityChangePrune({
      conversations,
      cursorTtlSeconds: env.LIST_CURSOR_TTL_SECONDS,
      logger,
    });
    resources.add(async () => stopPrune());

    return listenService(resources, yoga, {
      env,
      metrics,
      logger,
      name: 'conversations subgraph',
    });
  });
}
