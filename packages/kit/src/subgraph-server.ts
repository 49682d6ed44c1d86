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
    schema: buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap }]),
  });
}
