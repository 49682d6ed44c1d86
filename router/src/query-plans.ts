import { createHash } from 'node:crypto';
import { operationFromDocument, type Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type QueryPlan, type QueryPlanCache } from '@apollo/query-planner';
import { getOperationAST, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { sha256Hex } from './persisted/manifest.js';

/** What the gateway is told about an operation; its plan is cached under `planKey`. */
export interface PlannedOperation {
  source: string;
  queryHash: string;
  operation: OperationDefinitionNode;
  /** The selected operation's name, always sent to the gateway so one document has one plan key per operation. */
  operationName: string | undefined;
}

const sources = new WeakMap<DocumentNode, { source: string; queryHash: string }>();

/**
 * The operation the gateway will run. yoga hands the same DocumentNode for the same query text (its
 * parse cache), so printing and hashing happen once per document, not per request.
 */
export function plannedOperation(
  document: DocumentNode,
  operationName?: string | null,
): PlannedOperation | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  let printed = sources.get(document);
  if (!printed) {
    const source = print(document);
    printed = { source, queryHash: sha256Hex(source) };
    sources.set(document, printed);
  }
  return { ...printed, operation, operationName: operation.name?.value };
}

/** The key @apollo/gateway stores a plan under (see ApolloGateway.executor). */
export function planKey({ queryHash, operationName }: Pick<PlannedOperation, 'queryHash' | 'operationName'>) {
  return operationName
    ? createHash('sha256').update(queryHash).update(operationName).digest('hex')
    : queryHash;
}

export interface QueryPlanStore extends QueryPlanCache {
  /** Plans every operation of `document` now, so its first request does not pay for planning. */
  prepare(document: DocumentNode): void;
}

/**
 * The gateway's query-plan cache: an LRU of `maxPlans` plans, counting hits and misses in
 * `router_query_plan_cache_total`, and able to plan documents ahead (persisted operations at start-up).
 */
export function createQueryPlanStore(options: {
  supergraph: Supergraph;
  maxPlans: number;
  metrics: Registry;
}): QueryPlanStore {
  const plans = new LRUCache<string, QueryPlan>({ max: options.maxPlans });
  const lookups = new Counter({
    name: 'router_query_plan_cache_total',
    help: 'Query-plan cache lookups by result (hit or miss)',
    labelNames: ['result'] as const,
    registers: [options.metrics],
  });
  // A planner of its own for ahead-of-time plans: the gateway's is private. Same supergraph, same plans.
  let planner: QueryPlanner | undefined;

  return {
    async get(key) {
      const plan = plans.get(key);
      lookups.inc({ result: plan ? 'hit' : 'miss' });
      return plan;
    },
    async set(key, plan) {
      plans.set(key, plan);
    },
    async delete(key) {
      return plans.delete(key);
    },
    clear() {
      plans.clear();
    },
    prepare(document) {
      planner ??= new QueryPlanner(options.supergraph);
      for (const definition of document.definitions) {
        if (definition.kind !== 'OperationDefinition' || definition.operation === 'subscription') continue;
        const planned = plannedOperation(document, definition.name?.value);
        if (!planned) continue;
        const key = planKey(planned);
        if (plans.has(key)) continue;
        const operation = operationFromDocument(options.supergraph.apiSchema(), document, {
          operationName: planned.operationName,
        });
        plans.set(key, planner.buildQueryPlan(operation));
      }
    },
  };
}
