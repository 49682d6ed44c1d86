import type { IncomingMessage } from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import {
  createYoga,
  maskError as yogaMaskError,
  useReadinessCheck,
  type CORSOptions,
  type Plugin,
  type YogaServerInstance,
} from 'graphql-yoga';
import { bearerToken, type TokenVerifier, type Viewer } from './auth.js';
import { clientIp } from './client-ip.js';
import { isInfrastructureFailure, serviceUnavailable, unauthenticated } from './errors.js';
import type { Logger } from './logger.js';
import { useMetrics, type OperationNameFilter, type Registry } from './metrics.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';
import { useBodyLimit } from './use-body-limit.js';
import { useErrorCodes } from './use-error-codes.js';
import { useQueryLimits, type QueryLimits } from './use-query-limits.js';
import { useRejectNul } from './use-reject-nul.js';

/** What every resolver of every service (subgraphs and the router) can rely on. */
export interface BaseContext {
  requestId: string;
  logger: Logger;
  /** Null for anonymous callers and for callers whose token was refused (see `authError`). */
  viewer: Viewer | null;
  /** Why a presented token was refused; `requireViewer` reports it instead of a generic error. */
  authError: GraphQLError | null;
  clientIp: string | null;
  userAgent: string | null;
}

/** The viewer, or the precise UNAUTHENTICATED error (expired, revoked, invalid, missing). */
export function requireViewer(context: BaseContext): Viewer {
  if (context.viewer) return context.viewer;
  throw context.authError ?? unauthenticated();
}

export interface NodeServerContext {
  req?: IncomingMessage;
}

export interface GraphQLServerOptions<TContext extends BaseContext> {
  schema: GraphQLSchema;
  logger: Logger;
  verifyToken: TokenVerifier;
  /** Take the client address from X-Forwarded-For. */
  trustProxy: boolean;
  /** Filled by the server; served on the service's own metrics port (`metricsHandler`), not this one. */
  metrics: Registry;
  /** Operation names that are label values of their own in `metrics` (see `useMetrics`). */
  metricsOperationNames?: OperationNameFilter;
  /**
   * `/ready` answers 200 only when this resolves true (databases, Redis, subgraphs reachable) within
   * READY_CHECK_TIMEOUT_MS; 503 when it resolves false, fails or takes longer.
   */
  ready?: () => Promise<boolean>;
  /** Requests with a larger body are refused with 413 before the body is read. */
  maxBodyBytes?: number;
  /** Depth, alias, token (and cost) limits; defaults in `defaultQueryLimits`. */
  queryLimits?: QueryLimits;
  /** GraphiQL and the landing page; off in production. */
  graphiql?: boolean;
  cors?: CORSOptions;
  /**
   * Which errors reach clients as they are; the rest become INTERNAL_SERVER_ERROR ("Unexpected error.")
   * and are logged with the request id. Default: GraphQLErrors thrown on purpose or by graphql-js/yoga.
   */
  isSafeError?: (error: unknown) => boolean;
  /** Request parameters besides query, variables, operationName and extensions (e.g. `documentId`). */
  extraParamNames?: string[];
  /** Adds the service's own per-request context (stores, loaders) to the base context. */
  extendContext: (base: BaseContext, request: Request) => TContext | Promise<TContext>;
  /** Run before the shared ones, so they can answer a request (persisted operations, rate limits) first. */
  // Plugins see TContext, yoga types them with its own context; `any` bridges the two.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugins?: Plugin<any>[];
}

/**
 * `/ready` answers within this whatever is down: a check still waiting (a database not answering, Redis
 * reconnecting) counts as not ready, so a load balancer or orchestrator is told at once.
 */
export const READY_CHECK_TIMEOUT_MS = 300;

function answerWithin(timeoutMs: number, check: (() => Promise<boolean>) | undefined) {
  if (!check) return async () => true;
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([check().catch(() => false), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A GraphQLError all the way down: thrown on purpose (coded) or by graphql-js/yoga for a bad request. */
export function isOriginalGraphQLError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  return error.originalError == null || isOriginalGraphQLError(error.originalError);
}

export type GraphQLServer = YogaServerInstance<NodeServerContext, BaseContext>;

/**
 * How errors reach clients: safe ones as they are, a dependency that is down as SERVICE_UNAVAILABLE (not a
 * defect: the client is told to retry), anything else as INTERNAL_SERVER_ERROR ("Unexpected error.").
 */
export function createErrorMask(isSafeError: (error: unknown) => boolean) {
  return (error: unknown, message = 'Unexpected error.'): GraphQLError => {
    if (isSafeError(error)) return error as GraphQLError;
    if (isInfrastructureFailure(error)) {
      const unavailable = serviceUnavailable();
      return new GraphQLError(unavailable.message, {
        ...(error instanceof GraphQLError
          ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path }
          : {}),
        extensions: unavailable.extensions,
      });
    }
    return yogaMaskError(error, message, false) as GraphQLError;
  };
}

/**
 * The graphql-yoga server every Parley service runs: errors masked (safe errors pass, anything else
 * becomes INTERNAL_SERVER_ERROR and is logged with the request id), bearer-token auth, request ids,
 * body and query limits, `/health`, `/ready`, and metrics recorded in `options.metrics`.
 */
export function createGraphQLServer<TContext extends BaseContext>(
  options: GraphQLServerOptions<TContext>,
): GraphQLServer {
  const { logger } = options;
  const isSafeError = options.isSafeError ?? isOriginalGraphQLError;

  /** What the request log line needs, kept per request from its arrival to its response. */
  interface RequestRecord {
    id: string;
    startedAt: number;
    path: string;
    operationName?: string;
  }
  const requests = new WeakMap<Request, RequestRecord>();
  const QUIET_PATHS = new Set(['/health', '/ready']);
  /** One id per request, echoed in `x-request-id` and on one JSON log line per GraphQL request. */
  const requestLog: Plugin = {
    onRequest({ request, url }) {
      requests.set(request, {
        id: requestIdFrom(request.headers),
        startedAt: performance.now(),
        path: url.pathname,
      });
    },
    onParams({ request, params }) {
      const record = requests.get(request);
      if (record && typeof params.operationName === 'string') {
        record.operationName = params.operationName.slice(0, 100);
      }
    },
    onResponse({ request, response }) {
      const record = requests.get(request);
      if (!record) return;
      response.headers.set(REQUEST_ID_HEADER, record.id);
      const { path } = record;
      if (QUIET_PATHS.has(path)) return;
      logger.info(
        {
          requestId: record.id,
          method: request.method,
          path,
          operationName: record.operationName,
          status: response.status,
          durationMs: Math.round(performance.now() - record.startedAt),
        },
        'request',
      );
    },
  };

  // Resolver failures are logged where the request's logger (and so its request id) is at hand; yoga's
  // own log of masked errors (see `logging.error`) covers only what this did not see.
  const loggedWithRequest = new WeakSet<object>();
  const logUnexpectedErrors: Plugin<BaseContext> = {
    onExecute({ args }) {
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result || !result.errors) return;
          for (const error of result.errors) {
            if (isSafeError(error)) continue;
            const original = error.originalError ?? error;
            loggedWithRequest.add(original);
            if (isInfrastructureFailure(original)) {
              args.contextValue.logger.warn(
                { err: original, path: error.path },
                'a dependency is unavailable; answered SERVICE_UNAVAILABLE',
              );
            } else {
              args.contextValue.logger.error({ err: original, path: error.path }, 'unexpected error');
            }
          }
        },
      };
    },
  };

  const yoga = createYoga<NodeServerContext, BaseContext>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: options.graphiql ?? false,
    graphiql: options.graphiql ?? false,
    cors: options.cors,
    extraParamNames: options.extraParamNames,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      // yoga logs every error it masks, without context; those the request already logged are skipped.
      error: (...args) => {
        const [first] = args;
        if (!(first instanceof Error)) return logger.error(args.map(String).join(' '));
        const original = first instanceof GraphQLError ? (first.originalError ?? first) : first;
        if (!loggedWithRequest.has(original)) logger.error({ err: original }, 'unexpected error');
      },
    },
    maskedErrors: { maskError: createErrorMask(isSafeError) },
    plugins: [
      requestLog,
      ...(options.plugins ?? []),
      logUnexpectedErrors,
      useBodyLimit(options.maxBodyBytes ?? 1_000_000),
      ...useQueryLimits(options.queryLimits),
      useRejectNul(),
      useReadinessCheck({ endpoint: '/ready', check: answerWithin(READY_CHECK_TIMEOUT_MS, options.ready) }),
      // Codes first: the error counter in useMetrics labels errors with them.
      useErrorCodes(),
      ...useMetrics(options.metrics, { operationNames: options.metricsOperationNames }),
    ],
    context: async ({ request, req }) => {
      // requestLog runs first for HTTP requests; an operation over a WebSocket (getEnveloped) has no record.
      const requestId = requests.get(request)?.id ?? requestIdFrom(request.headers);
      const base: BaseContext = {
        requestId,
        logger: logger.child({ requestId }),
        viewer: null,
        authError: null,
        clientIp: clientIp(request.headers, req?.socket.remoteAddress, options.trustProxy),
        userAgent: request.headers.get('user-agent')?.slice(0, 512) ?? null,
      };
      // A failure here (Redis down while checking revocations, say) is logged with the request id too.
      const logAndRethrow = (error: unknown): never => {
        if (error instanceof Object) loggedWithRequest.add(error);
        base.logger.error({ err: error }, 'unexpected error');
        throw error;
      };
      try {
        const token = bearerToken(request.headers.get('authorization'));
        if (token) base.viewer = await options.verifyToken(token);
      } catch (error) {
        if (!(error instanceof GraphQLError)) logAndRethrow(error);
        base.authError = error as GraphQLError;
      }
      try {
        return await options.extendContext(base, request);
      } catch (error) {
        return logAndRethrow(error);
      }
    },
  });
  return yoga as unknown as GraphQLServer;
}
export type { Plugin } from 'graphql-yoga';
