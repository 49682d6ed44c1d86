import type { ApolloGateway } from '@apollo/gateway';
import { codedError } from '@parley/kit';
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RouterContext } from './context.js';
import { plannedOperation } from './query-plans.js';

// Apollo Server's cache policy, which the gateway narrows with subgraphs' Cache-Control hints.
function newCachePolicy() {
  return {
    maxAge: undefined as number | undefined,
    scope: undefined as 'PUBLIC' | 'PRIVATE' | undefined,
    restrict(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }) {
      if (hint.maxAge !== undefined && (this.maxAge === undefined || hint.maxAge < this.maxAge)) {
        this.maxAge = hint.maxAge;
      }
      if (hint.scope !== undefined && this.scope !== 'PRIVATE') this.scope = hint.scope;
    },
    replace(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }) {
      if (hint.maxAge !== undefined) this.maxAge = hint.maxAge;
      if (hint.scope !== undefined) this.scope = hint.scope;
    },
    policyIfCacheable() {
      if (!this.maxAge) return null;
      return { maxAge: this.maxAge, scope: this.scope ?? 'PUBLIC' };
    },
  };
}

/** Runs one operation through the gateway: plan (cached by document and operation), then subgraph calls. */
export function executeThroughGateway(
  gateway: ApolloGateway,
  request: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variables?: Record<string, unknown>;
    context: RouterContext;
  },
): Promise<ExecutionResult> {
  const planned = plannedOperation(request.document, request.operationName);
  if (!planned) {
    return Promise.resolve({
      errors: [
        codedError(
          'BAD_REQUEST',
          'Unknown operation name, or operationName missing for a document with several operations',
        ),
      ],
    });
  }
  const { context, variables } = request;
  return gateway.executor({
    document: request.document,
    source: planned.source,
    queryHash: planned.queryHash,
    operation: planned.operation,
    operationName: planned.operationName ?? null,
    request: { query: planned.source, operationName: planned.operationName, variables },
    schema: request.schema,
    context,
    logger: context.logger,
    metrics: {},
    overallCachePolicy: newCachePolicy(),
    // Used by Apollo's usage reporting and response cache, neither of which runs here.
    cache: undefined as never,
    schemaHash: undefined as never,
  }) as Promise<ExecutionResult>;
}

/**
 * Executes queries and mutations through @apollo/gateway: yoga parses and validates (with its caches),
 * the gateway plans (plans cached by document and operation, see query-plans.ts) and calls subgraphs.
 */
export function useGateway(gateway: ApolloGateway): Plugin<RouterContext> {
  return {
    onExecute({ args, setExecuteFn }) {
      setExecuteFn((executionArgs) =>
        executeThroughGateway(gateway, {
          schema: args.schema,
          document: executionArgs.document,
          operationName: executionArgs.operationName,
          variables: (executionArgs.variableValues ?? undefined) as Record<string, unknown> | undefined,
          context: executionArgs.contextValue as RouterContext,
        }),
      );
    },
  };
}
