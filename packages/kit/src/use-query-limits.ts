import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  /** graphql-armor's cost: objects 2, scalars 1, each level deeper ×1.5. Off when unset. */
  maxCost?: number;
  /** Requests the cost limit does not apply to (the router's registered, reviewed documents). */
  costExempt?: (request: Request) => boolean;
}

/**
 * Refuses operations that are too deep, too aliased or too long before they execute (graphql-armor).
 * The router applies stricter, cost-based limits to clients; these keep a subgraph safe on its own.
 */
export const defaultQueryLimits: QueryLimits = { maxDepth: 15, maxAliases: 30, maxTokens: 5_000 };

// graphql-armor reports a limit as a syntax or validation error; the code says which it really is.
const onReject = [
  (_context: unknown, error: GraphQLError) => {
    error.extensions['code'] = 'QUERY_TOO_COMPLEX';
  },
];

/** graphql-armor's cost limit, skipped for the requests `exempt` names. */
function useCostLimit(maxCost: number, exempt: ((request: Request) => boolean) | undefined): Plugin {
  const plugin = costLimitPlugin({ maxCost, ignoreIntrospection: true, onReject }) as Plugin;
  if (!exempt) return plugin;
  return {
    onValidate(payload) {
      const request = (payload.context as { request?: Request }).request;
      if (request && exempt(request)) return;
      return plugin.onValidate?.(payload);
    },
  };
}

export function useQueryLimits(limits: QueryLimits = defaultQueryLimits): Plugin[] {
  return [
    maxTokensPlugin({ n: limits.maxTokens, onReject }) as Plugin,
    maxDepthPlugin({
      n: limits.maxDepth,
      flattenFragments: true,
      ignoreIntrospection: true,
      onReject,
    }) as Plugin,
    // graphql-armor does not count aliases of `__typename` by default (allowList): `{ a1: __typename ...
    // a1000: __typename }` would run, every alias a field of the response. Every alias counts here.
    maxAliasesPlugin({ n: limits.maxAliases, allowList: [], onReject }) as Plugin,
    ...(limits.maxCost === undefined ? [] : [useCostLimit(limits.maxCost, limits.costExempt)]),
  ];
}
