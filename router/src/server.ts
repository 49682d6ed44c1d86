import { Supergraph } from '@apollo/federation-internals';
import {
  createGraphQLServer,
  errorCodeOf,
  isOriginalGraphQLError,
  type GraphQLServer,
  type Logger,
  type QueryLimits,
  type Registry,
  type TokenVerifier,
} from '@parley/kit';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { createRouterContext, type RouterContext } from './context.js';
import { createGateway } from './gateway.js';
import type { ApqStore } from './persisted/apq-store.js';
import type { PersistedDocuments } from './persisted/persisted-documents.js';
import { usePersistedOperations } from './persisted/use-persisted-operations.js';
import { createQueryPlanStore, type QueryPlanStore } from './query-plans.js';
import { useGateway } from './use-gateway.js';
import { useNoIntrospection } from './use-introspection-policy.js';
import { useRateLimit } from './use-rate-limit.js';

export interface RouterDeps {
  supergraphSdl: string;
  /** Overrides of the supergraph's subgraph URLs, by subgraph name. */
  subgraphUrls: Record<string, string>;
  logger: Logger;
  metrics: Registry;
  verifyToken: TokenVerifier;
  redis: Redis | null;
  redisPrefix: string;
  persistedDocuments: PersistedDocuments;
  apq: ApqStore;
  persistedOnly: boolean;
  queryLimits: QueryLimits;
  rateLimit: { perUser: number; perIp: number; windowSeconds: number };
  corsOrigins: string[];
  introspection: boolean;
  graphiql: boolean;
  trustProxy: boolean;
  maxBodyBytes: number;
  subgraphTimeoutMs: number;
  queryPlanCacheSize: number;
}

export interface Router {
  yoga: GraphQLServer;
  planStore: QueryPlanStore;
  /** Every subgraph the router calls, with the URL it uses. */
  subgraphs: { name: string; url: string }[];
  stop(): Promise<void>;
}

/** Headers that make a request non-simple, so a browser sends a CORS preflight first (CSRF prevention). */
export const CSRF_HEADERS = [
  'x-parley-csrf',
  'graphql-client-name',
  'apollographql-client-name',
  'apollo-require-preflight',
  'x-apollo-operation-name',
];

/**
 * The federation router: one graph at `/graphql` served by @apollo/gateway from the static supergraph,
 * with persisted operations, limits, rate limits, CSRF prevention, CORS and the shared observability.
 */
export async function createRouter(deps: RouterDeps): Promise<Router> {
  const supergraph = Supergraph.build(deps.supergraphSdl);
  const subgraphs = supergraph
    .subgraphs()
    .values()
    .map(({ name, url }) => ({ name, url: deps.subgraphUrls[name] ?? url }));
  const subgraphUrls = Object.fromEntries(subgraphs.map(({ name, url }) => [name, url]));

  const planStore = createQueryPlanStore({
    supergraph,
    maxPlans: deps.queryPlanCacheSize,
    metrics: deps.metrics,
  });
  const { gateway, schema } = await createGateway({
    supergraphSdl: deps.supergraphSdl,
    subgraphUrls,
    planStore,
    timeoutMs: deps.subgraphTimeoutMs,
    logger: deps.logger,
  });

  // Kept by the WebSocket server (issue 6, Realtime); exported now so dashboards and alerts can rely on it.
  new Gauge({
    name: 'router_active_subscriptions',
    help: 'Subscriptions open on this router',
    registers: [deps.metrics],
  });

  async function ready(): Promise<boolean> {
    const checks = subgraphs.map(async ({ url }) => {
      const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(2_000) });
      return response.ok;
    });
    if (deps.redis) checks.push(deps.redis.ping().then((answer) => answer === 'PONG'));
    const results = await Promise.allSettled(checks);
    return results.every((result) => result.status === 'fulfilled' && result.value);
  }

  const yoga = createGraphQLServer<RouterContext>({
    schema,
    logger: deps.logger,
    verifyToken: deps.verifyToken,
    trustProxy: deps.trustProxy,
    metrics: deps.metrics,
    ready,
    maxBodyBytes: deps.maxBodyBytes,
    queryLimits: deps.queryLimits,
    graphiql: deps.graphiql,
    cors:
      deps.corsOrigins.length === 0
        ? false
        : {
            origin: deps.corsOrigins,
            credentials: true,
            methods: ['GET', 'POST'],
            allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'traceparent', ...CSRF_HEADERS],
            exposedHeaders: ['x-request-id', 'retry-after'],
            maxAge: 600,
          },
    // Subgraph errors keep their registered codes; anything else (a gateway failure) is masked.
    isSafeError: (error) => isOriginalGraphQLError(error) || errorCodeOf(error) !== undefined,
    extraParamNames: ['documentId'],
    extendContext: createRouterContext,
    plugins: [
      useRateLimit({
        ...deps.rateLimit,
        trustProxy: deps.trustProxy,
        redis: deps.redis,
        prefix: deps.redisPrefix,
        logger: deps.logger,
      }),
      useCSRFPrevention({ requestHeaders: CSRF_HEADERS }),
      usePersistedOperations({
        documents: deps.persistedDocuments,
        apq: deps.apq,
        persistedOnly: deps.persistedOnly,
      }),
      ...(deps.introspection ? [] : [useNoIntrospection()]),
      useGateway(gateway),
    ],
  });

  return {
    yoga,
    planStore,
    subgraphs,
    stop: () => gateway.stop(),
  };
}
