import type { Server } from 'node:http';
import { Supergraph } from '@apollo/federation-internals';
import {
  createErrorMask,
  createGraphQLServer,
  errorCodeOf,
  isOriginalGraphQLError,
  READY_CHECK_TIMEOUT_MS,
  type Clock,
  type GraphQLServer,
  type Logger,
  type PubSub,
  type QueryLimits,
  type RealtimeLog,
  type Registry,
  type SessionRevocations,
  type TokenVerifier,
} from '@parley/kit';
import { type MembershipProjection, createMembershipRepair } from '@parley/membership';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Redis } from 'ioredis';
import type { DocumentNode } from 'graphql';
import { createRouterContext, type RouterContext } from './context.js';
import { createGateway } from './gateway.js';
import type { ApqStore } from './persisted/apq-store.js';
import type { PersistedDocuments } from './persisted/persisted-documents.js';
import {
  createPersistedOperationResolver,
  isTrusted,
  usePersistedOperations,
} from './persisted/use-persisted-operations.js';
import { createQueryPlanStore, type QueryPlanStore } from './query-plans.js';
import { createRealtimeEngine } from './realtime/engine.js';
import { createResultEncoder } from './realtime/outlet.js';
import { createLiveState } from './realtime/live-state.js';
import { createHydrationSchema } from './realtime/hydration.js';
import { viewerIndependentFields } from './realtime/per-viewer.js';
import { useRealtime } from './realtime/use-realtime.js';
import { attachWebSocketServer, type WebSocketLimits } from './realtime/ws-server.js';
import { executeThroughGateway, useGateway } from './use-gateway.js';
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
  /** What subscriptions run on: the realtime log, membership, the bus (revocations, presence reports). */
  realtime: {
    log: RealtimeLog;
    projection: MembershipProjection;
    /** The bus: session revocations, and the router's reports of its sockets to presence (each a device). */
    events: PubSub;
    revocations: SessionRevocations;
    webSocket: WebSocketLimits;
    /** Results waiting for one subscriber before they are dropped for a LAGGING resync. */
    maxQueuedEvents: number;
  };
  /**
   * What a socket's access-token expiry goes by: the system's time by default; the clock `verifyToken` checks
   * expiry with, so a socket ends when its token stops being accepted.
   */
  clock?: Clock;
}

export interface Router {
  yoga: GraphQLServer;
  planStore: QueryPlanStore;
  /** Every subgraph the router calls, with the URL it uses. */
  subgraphs: { name: string; url: string }[];
  /**
   * Serves graphql-ws on the HTTP server the router listens on (same port, `/graphql`). Close it before the
   * HTTP server: an open WebSocket keeps `server.close()` from ever finishing.
   */
  attachWebSocket(server: Server): Promise<{ close(): Promise<void> }>;
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

  const gatewayFor =
    (context: RouterContext) => (request: { document: DocumentNode; variables: Record<string, unknown> }) =>
      executeThroughGateway(gateway, { schema, context, ...request });

  // Subgraph errors keep their registered codes; anything else (a gateway failure) is masked.
  const isSafeError = (error: unknown) => isOriginalGraphQLError(error) || errorCodeOf(error) !== undefined;
  const mask = createErrorMask(isSafeError);

  const conversationsUrl = subgraphUrls['conversations'];
  if (!conversationsUrl) throw new Error('The supergraph has no conversations subgraph');
  const presenceUrl = subgraphUrls['presence'];
  const engine = createRealtimeEngine({
    log: deps.realtime.log,
    projection: deps.realtime.projection,
    repairMembership: createMembershipRepair({ url: conversationsUrl, timeoutMs: deps.subgraphTimeoutMs }),
    liveState: presenceUrl
      ? createLiveState({ url: presenceUrl, timeoutMs: deps.subgraphTimeoutMs })
      : undefined,
    schema: createHydrationSchema(schema),
    metrics: deps.metrics,
    logger: deps.logger,
    maxQueuedEvents: deps.realtime.maxQueuedEvents,
    // Results written straight to the sockets are masked as yoga masks those it serves (see isSafeError).
    encode: createResultEncoder((error) => {
      const masked = mask(error);
      if (masked !== error) deps.logger.error({ err: error }, 'unexpected error in a subscription result');
      return masked;
    }),
  });
  await engine.start();

  async function ready(): Promise<boolean> {
    const checks = subgraphs.map(async ({ url }) => {
      // Within the readiness budget, so a slow subgraph is what answers, not the budget running out.
      const response = await fetch(new URL('/health', url), {
        signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS - 50),
      });
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
    // Only names of registered documents (operators choose them) label metrics; any other name a client
    // sends is counted as `other`, or each new one would be a new series.
    metricsOperationNames: (_name, request) => isTrusted(request),
    ready,
    maxBodyBytes: deps.maxBodyBytes,
    queryLimits: { ...deps.queryLimits, costExempt: isTrusted },
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
    isSafeError,
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
      useRealtime({
        engine,
        apiSchema: schema,
        viewerIndependent: viewerIndependentFields(deps.supergraphSdl),
        gateway: gatewayFor,
      }),
      useGateway(gateway),
    ],
  });

  const resolvePersisted = createPersistedOperationResolver({
    documents: deps.persistedDocuments,
    apq: deps.apq,
    persistedOnly: deps.persistedOnly,
  });
  return {
    yoga,
    planStore,
    subgraphs,
    attachWebSocket(server) {
      return attachWebSocketServer({
        server,
        yoga,
        verifyToken: deps.verifyToken,
        revocations: deps.realtime.revocations,
        events: deps.realtime.events,
        resolveQuery: async (payload, client) =>
          (await resolvePersisted({
            query: payload.query,
            documentId: payload.extensions?.['documentId'],
            extensions: payload.extensions,
            client,
          })) ?? { query: payload.query, registered: false },
        corsOrigins: deps.corsOrigins,
        trustProxy: deps.trustProxy,
        limits: deps.realtime.webSocket,
        logger: deps.logger,
        metrics: deps.metrics,
        clock: deps.clock,
      });
    },
    async stop() {
      await engine.stop();
      await gateway.stop();
    },
  };
}
