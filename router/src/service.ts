import { readFile } from 'node:fs/promises';
import {
  createLogger,
  createMetricsRegistry,
  createTokenVerifier,
  listen,
  listenMetrics,
  openServiceRedis,
  startWithResources,
  systemClock,
  verificationKeysFromEnv,
  type Clock,
  type Logger,
} from '@parley/kit';
import { openMembershipProjection } from '@parley/membership';
import { readSupergraphSdl } from '@parley/schema';
import { parse } from 'graphql';
import { subgraphUrlsFromEnv, type RouterEnv } from './env.js';
import { createApqStore } from './persisted/apq-store.js';
import { createPersistedDocuments, loadManifestDirectory } from './persisted/persisted-documents.js';
import { createRouter } from './server.js';

/** Committed trusted-document manifests (`<client-name>.json`), used unless PERSISTED_DOCUMENTS_DIR says otherwise. */
export const defaultPersistedDocumentsDir = new URL('../persisted', import.meta.url).pathname;

export interface RunningRouter {
  url: string;
  wsUrl: string;
  port: number;
  /** Its Prometheus metrics, on METRICS_PORT (not the graph's port). */
  metricsUrl: string;
  stop(): Promise<void>;
}

export interface RouterServiceOptions {
  /**
   * What access-token expiry goes by, for requests and for open sockets: the system's time by default; a
   * test gives the clock the users service signs tokens with, to move past their expiry at once.
   */
  clock?: Clock;
}

/**
 * Builds the router from its environment: the committed supergraph, Redis (rate limits, APQ, registered
 * manifests, revocations, the realtime log) or in-process equivalents, trusted documents planned ahead; then
 * serves its metrics on METRICS_PORT and listens for HTTP and graphql-ws on PORT.
 */
export async function startRouterService(
  env: RouterEnv,
  logger: Logger = createLogger({ service: 'router', level: env.LOG_LEVEL, format: env.LOG_FORMAT }),
  { clock = systemClock }: RouterServiceOptions = {},
): Promise<RunningRouter> {
  return startWithResources(async (resources) => {
    const supergraphSdl = env.SUPERGRAPH_PATH
      ? await readFile(env.SUPERGRAPH_PATH, 'utf8')
      : await readSupergraphSdl();
    const subgraphUrls = subgraphUrlsFromEnv(env);
    const production = env.NODE_ENV === 'production';

    // Shared with the subgraphs of this process when there is no REDIS_URL (`npm start`), so logouts and
    // events reach the router there too.
    const services = openServiceRedis(resources, env, logger);
    const { redis, events, log, revocations } = services;
    const projection = openMembershipProjection(resources, { redis, prefix: env.REDIS_PREFIX });

    const usersUrl = subgraphUrls['users'] ?? 'http://localhost:4001/graphql';
    const keys = verificationKeysFromEnv({
      ...env,
      AUTH_JWKS_URL: env.AUTH_JWKS_URL ?? new URL('/.well-known/jwks.json', usersUrl).toString(),
    });
    const verifyToken = createTokenVerifier({
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      keys,
      revocations,
      clock,
    });

    const persistedDocuments = createPersistedDocuments({ redis, prefix: env.REDIS_PREFIX });
    const manifestsDir = env.PERSISTED_DOCUMENTS_DIR ?? defaultPersistedDocumentsDir;
    const clients = await loadManifestDirectory(manifestsDir, persistedDocuments);

    const metrics = createMetricsRegistry('router');
    const router = await createRouter({
      supergraphSdl,
      subgraphUrls,
      logger,
      metrics,
      verifyToken,
      redis,
      redisPrefix: env.REDIS_PREFIX,
      persistedDocuments,
      apq: createApqStore({ redis, prefix: env.REDIS_PREFIX, ttlSeconds: env.APQ_TTL_SECONDS }),
      persistedOnly: env.PERSISTED_ONLY ?? production,
      queryLimits: {
        maxDepth: env.MAX_DEPTH,
        maxAliases: env.MAX_ALIASES,
        maxTokens: env.MAX_TOKENS,
        maxCost: env.MAX_COST,
      },
      rateLimit: {
        perUser: env.RATE_LIMIT_PER_USER,
        perIp: env.RATE_LIMIT_PER_IP,
        windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      },
      corsOrigins: env.CORS_ORIGINS,
      introspection: env.INTROSPECTION ?? !production,
      graphiql: env.GRAPHIQL ?? env.NODE_ENV === 'development',
      trustProxy: env.TRUST_PROXY,
      maxBodyBytes: env.MAX_BODY_BYTES,
      subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
      queryPlanCacheSize: env.QUERY_PLAN_CACHE_SIZE,
      realtime: {
        log,
        projection,
        events,
        revocations,
        maxQueuedEvents: env.WS_MAX_QUEUED_EVENTS,
        webSocket: {
          maxSubscriptions: env.WS_MAX_SUBSCRIPTIONS,
          maxMessageBytes: env.WS_MAX_MESSAGE_BYTES,
          ratePerMinute: env.WS_RATE_LIMIT_PER_MINUTE,
          keepAliveMs: env.WS_KEEPALIVE_SECONDS * 1000,
          revocationCheckMs: env.WS_SESSION_CHECK_SECONDS * 1000,
          maxConnectionsPerUser: env.WS_MAX_CONNECTIONS_PER_USER,
          maxConnectionsPerIp: env.WS_MAX_CONNECTIONS_PER_IP,
          maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
        },
      },
      clock,
    });
    resources.add(() => router.stop());

    // Every registered operation is planned now, so its first request does not pay for planning.
    let planned = 0;
    for (const { client, body } of await persistedDocuments.all()) {
      try {
        router.planStore.prepare(parse(body));
        planned += 1;
      } catch (error) {
        logger.warn({ client, err: error }, 'persisted document does not plan against this supergraph');
      }
    }

    const metricsUrl = await listenMetrics(resources, metrics, env);
    const server = await listen(router.yoga, env.PORT, env.HOST);
    resources.add(() => server.close());
    // Registered last, so it closes first: open sockets would keep the HTTP server from closing.
    const webSocket = await router.attachWebSocket(server.server);
    resources.add(() => webSocket.close());
    logger.info(
      { url: `${server.url}/graphql`, metricsUrl, subgraphs: router.subgraphs, manifests: clients, planned },
      'router ready',
    );
    return { url: server.url, wsUrl: server.url.replace(/^http/, 'ws'), port: server.port, metricsUrl };
  });
}
