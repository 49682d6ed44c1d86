import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { codedError, type Logger } from '@parley/kit';
import type { GraphQLError } from 'graphql';
import type { RouterContext } from './context.js';
import type { QueryPlanStore } from './query-plans.js';

export interface GatewayOptions {
  supergraphSdl: string;
  /** Overrides of the URLs in the supergraph, by subgraph name. */
  subgraphUrls: Record<string, string>;
  planStore: QueryPlanStore;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Calls one subgraph: over Node's fetch (keep-alive, with a timeout) instead of make-fetch-happen, carrying
 * the caller's identity, request id and trace context. A subgraph that cannot be reached is reported as
 * SERVICE_UNAVAILABLE (logged with the request id), never with its internal address.
 */
class SubgraphDataSource extends RemoteGraphQLDataSource<RouterContext> {
  constructor(
    readonly name: string,
    url: string,
    timeoutMs: number,
  ) {
    super({
      url,
      fetcher: ((input: string, init: RequestInit) =>
        fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) })) as never,
    });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<RouterContext>) {
    const headers = request.http?.headers;
    const forwarded: Record<string, string> | undefined = context.subgraphHeaders;
    if (!headers || !forwarded) return;
    for (const [name, value] of Object.entries(forwarded)) headers.set(name, value);
  }

  override didEncounterError(
    error: Error,
    _request: unknown,
    response?: { status: number },
    context?: RouterContext,
  ) {
    context?.logger.error(
      { err: error, subgraph: this.name, status: response?.status },
      'subgraph request failed',
    );
    throw codedError(
      'SERVICE_UNAVAILABLE',
      `The ${this.name} service is unavailable; retry later`,
    ) as GraphQLError;
  }
}

/** An @apollo/gateway serving a static supergraph, loaded and ready to execute. */
export async function createGateway(options: GatewayOptions) {
  const { logger } = options;
  // Unless told otherwise, @apollo/gateway sends Apollo a report on the host (cloud provider, OS, CPUs,
  // memory) every hour, detecting the cloud it runs in at start: nothing leaves a Parley deployment that its
  // operator did not configure. It reads the variable when the gateway is built.
  process.env['APOLLO_TELEMETRY_DISABLED'] ??= 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) =>
      new SubgraphDataSource(name, options.subgraphUrls[name] ?? url!, options.timeoutMs),
    queryPlannerConfig: { cache: options.planStore },
    // Query plans are internals: never returned to a caller who asks with a header.
    __exposeQueryPlanExperimental: false,
    logger: {
      debug: (message) => logger.debug(String(message)),
      info: (message) => logger.info(String(message)),
      warn: (message) => logger.warn(String(message)),
      error: (message) => logger.error(String(message)),
    },
  });
  const { schema } = await gateway.load();
  return { gateway, schema };
}
