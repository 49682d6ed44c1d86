import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { DocumentNode } from 'graphql';
import {
  createGraphQLServer,
  type BaseContext,
  type GraphQLServer,
  type GraphQLServerOptions,
} from './graphql-server.js';

export interface SubgraphServerOptions<TContext extends BaseContext> extends Omit<
  GraphQLServerOptions<TContext>,
  'schema' | 'isSafeError' | 'extraParamNames' | 'cors'
> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
}

/** How every subgraph's HTTP server is set up from its environment. */
export interface SubgraphHttpConfig {
  trustProxy: boolean;
  maxBodyBytes: number;
  graphiql: boolean;
}

export const subgraphHttpConfig = (env: {
  TRUST_PROXY: boolean;
  MAX_BODY_BYTES: number;
  GRAPHIQL?: boolean | undefined;
  NODE_ENV: string;
}): SubgraphHttpConfig => ({
  trustProxy: env.TRUST_PROXY,
  maxBodyBytes: env.MAX_BODY_BYTES,
  // GraphiQL only where someone develops, unless asked for.
  graphiql: env.GRAPHIQL ?? env.NODE_ENV === 'development',
});

/**
 * A Parley GraphQL server (see `createGraphQLServer`) for an Apollo Federation subgraph: SDL-first
 * schema through `buildSubgraphSchema`. Subgraphs are called by the router, never by browsers: no CORS.
 */
export function createSubgraphServer<TContext extends BaseContext>(
  options: SubgraphServerOptions<TContext>,
): GraphQLServer {
  const { typeDefs, resolvers, ...serverOptions } = options;
  return createGraphQLServer({
    ...serverOptions,
    // yoga answers any origin unless told otherwise: a subgraph answers none.
    cors: false,
    schema: buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap }]),
  });
}
