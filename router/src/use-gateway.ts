import type { ApolloGateway } from '@apollo/gateway';
import { codedError } from '@parley/kit';
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

/**
 * Executes queries and mutations through @apollo/gateway: yoga parses and validates (with its caches),
 * the gateway plans (plans cached by document and operation, see query-plans.ts) and calls subgraphs.
 */
export function useGateway(gateway: ApolloGateway): Plugin<RouterContext> {
  return {
    onExecute({ args, setExecuteFn }) {
      setExecuteFn(async (executionArgs) => {
        const planned = plannedOperation(executionArgs.document, executionArgs.operationName);
        if (!planned) {
          return {
            errors: [
              codedError(
                'BAD_REQUEST',
                'Unknown operation name, or operationName missing for a document with several operations',
              ),
            ],
          };
        }
        const context = executionArgs.contextValue as RouterContext;
        const variables = (executionArgs.variableValues ?? undefined) as Record<string, unknown> | undefined;
        return gateway.executor({
          document: executionArgs.document,
          source: planned.source,
          queryHash: planned.queryHash,
          operation: planned.operation,
          operationName: planned.operationName ?? null,
          request: { query: planned.source, operationName: planned.operationName, variables },
          schema: args.schema,
          context,
          logger: context.logger,
          metrics: {},
          overallCachePolicy: newCachePolicy(),
          // Used by Apollo's usage reporting and response cache, neither of which runs here.
          cache: undefined as never,
          schemaHash: undefined as never,
        });
      });
    },
  };
}
