import { join } from 'node:path';
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
  type Clock,
  type Logger,
  type RunningService,
} from '@parley/kit';
import { createKeyring, loadOrCreateDevSigningKeys } from './auth/keyring.js';
import { createLoginThrottle } from './auth/login-throttle.js';
import { createPrismaClient } from './data/database.js';
import { createOutboxRelay } from './data/outbox.js';
import { createSessionStore } from './data/session-store.js';
import type { UsersEnv } from './env.js';
import { startSessionPurge } from './jobs/purge-ended-sessions.js';
import { createUsersServer } from './server.js';

export const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;

export interface UsersServiceOptions {
  /**
   * What access tokens (`iat`, `exp`) and sessions (refresh-token expiry, rotation, revocation) go by: the
   * system's time by default; a test's clock makes their lifetimes pass at once.
   */
  clock?: Clock;
}

/**
 * Builds every client the users subgraph needs from its environment, applies migrations, and listens.
 * Without DATABASE_URL it runs on
 * the embedded PostgreSQL server (its own database there); without REDIS_URL on in-process equivalents.
 */
export async function startUsersService(
  env: UsersEnv,
  logger: Logger = createLogger({ service: 'users', level: env.LOG_LEVEL, format: env.LOG_FORMAT }),
  { clock = systemClock }: UsersServiceOptions = {},
): Promise<RunningService> {
  // First: in production without SERVICE_TOKEN_SECRET this throws before anything is opened.
  const serviceAuth = createServiceAuth({ secret: serviceTokenSecret(env), service: 'users' });
  return startWithResources(async (resources) => {
    const database = await openServiceDatabase(resources, { name: 'users', env, migrationsDir, logger });
    const prisma = createPrismaClient(database);
    resources.add(() => prisma.$disconnect());
    const { redis, events, stream, log, revocations } = openServiceRedis(resources, env, logger);
    const relay = createOutboxRelay({ prisma, events, stream, log, logger });
    const stopRelay = relay.start();
    resources.add(stopRelay);

    const privateJwks = env.AUTH_SIGNING_KEYS
      ? env.AUTH_SIGNING_KEYS
      : await loadOrCreateDevSigningKeys(join(env.EMBEDDED_DATA_DIR, 'users-signing-keys.json'));
    const keyring = await createKeyring({
      privateJwks,
      activeKid: env.AUTH_ACTIVE_KID,
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      clock,
    });

    const stopPurge = startSessionPurge({
      sessions: createSessionStore(prisma, {
        refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
        refreshTokenReuseGraceSeconds: env.REFRESH_TOKEN_REUSE_GRACE_SECONDS,
        clock,
      }),
      retentionSeconds: env.ENDED_SESSION_RETENTION_SECONDS,
      logger,
      clock,
    });
    resources.add(async () => stopPurge());

    const metrics = createMetricsRegistry('users');
    const yoga = createUsersServer({
      prisma,
      keyring,
      events,
      relay,
      logger,
      metrics,
      revocations,
      serviceAuth,
      throttle: createLoginThrottle({
        redis: redis ?? undefined,
        prefix: env.REDIS_PREFIX,
        maxFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        maxFailuresPerAccountTotal: env.LOGIN_MAX_FAILURES_PER_ACCOUNT_TOTAL,

        maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
        windowSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS,
        maxRegistrationsPerIp: env.REGISTER_MAX_PER_IP,
        registrationWindowSeconds: env.REGISTER_WINDOW_SECONDS,
      }),
      config: {
        issuer: env.AUTH_ISSUER,
        audience: env.AUTH_AUDIENCE,
        accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
        refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
        refreshTokenReuseGraceSeconds: env.REFRESH_TOKEN_REUSE_GRACE_SECONDS,
        http: subgraphHttpConfig(env),
      },
      ready: databaseAndRedisReady(prisma, redis),
      clock,
    });
    return listenService(resources, yoga, { env, metrics, logger, name: 'users subgraph' });
  });
}
