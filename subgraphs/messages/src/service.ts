import {
  createLogger,
  createMetricsRegistry,
  databaseAndRedisReady,
  listenService,
  openServiceDatabase,
  openServiceRedis,
  startWithResources,
  subgraphHttpConfig,
  tokenVerificationFromEnv,
  type Logger,
  type RunningService,
} from '@parley/kit';
import { openMembershipProjection } from '@parley/membership';
import { createUserRelationsClient } from '@parley/users/client';
import { createPrismaClient } from './data/database.js';
import { createPostgresMessageStore } from './data/postgres-message-store.js';
import type { MessagesEnv } from './env.js';
import { createMessagesServer } from './server.js';
import { createConversationsClient } from './conversations-client.js';
import { createFilesClient } from './files-client.js';

export const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;

/**
 * Builds every client the messages subgraph needs from its environment, applies migrations, and listens.
 * Without DATABASE_URL it runs on
 * the embedded PostgreSQL server (its own database there); without REDIS_URL on in-process equivalents.
 */
export async function startMessagesService(
  env: MessagesEnv,
  logger: Logger = createLogger({ service: 'messages', level: env.LOG_LEVEL, format: env.LOG_FORMAT }),
): Promise<RunningService> {
  return startWithResources(async (resources) => {
    const database = await openServiceDatabase(resources, { name: 'messages', env, migrationsDir, logger });
    const prisma = createPrismaClient(database);
    resources.add(() => prisma.$disconnect());
    const { redis, events, stream, log, revocations } = openServiceRedis(resources, env, logger);
    const projection = openMembershipProjection(resources, { redis, prefix: env.REDIS_PREFIX });

    const metrics = createMetricsRegistry('messages');
    const { yoga, relay } = createMessagesServer({
      messages: createPostgresMessageStore(prisma),
      projection,
      events,
      stream,
      log,
      users: createUserRelationsClient({ url: env.USERS_SUBGRAPH_URL, timeoutMs: env.SUBGRAPH_TIMEOUT_MS }),
      conversations: createConversationsClient({
        url: env.CONVERSATIONS_SUBGRAPH_URL,
        timeoutMs: env.SUBGRAPH_TIMEOUT_MS,
      }),
      files: createFilesClient({ url: env.FILES_SUBGRAPH_URL, timeoutMs: env.SUBGRAPH_TIMEOUT_MS }),
      revocations,
      logger,
      metrics,
      config: {
        token: tokenVerificationFromEnv(env, env.USERS_SUBGRAPH_URL),
        http: subgraphHttpConfig(env),
        limits: {
          maxBodyChars: env.MAX_BODY_CHARS,
          maxAttachments: env.MAX_ATTACHMENTS,
          maxMentions: env.MAX_MENTIONS,
          maxReactionEmoji: env.MAX_REACTION_EMOJI,
          maxReactionsPerUser: env.MAX_REACTIONS_PER_USER,
        },
      },
      ready: databaseAndRedisReady(prisma, redis),
    });

    const stopRelay = relay.start();
    resources.add(stopRelay);

    return listenService(resources, yoga, { env, metrics, logger, name: 'messages subgraph' });
  });
}
