import type { RequestListener } from 'node:http';
import {
  createCounter,
  createHistogram,
  createSummary,
  usePrometheus,
  type FillLabelsFnParams,
} from '@graphql-yoga/plugin-prometheus';
import { Kind, type DocumentNode } from 'graphql';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Plugin } from 'graphql-yoga';
import { errorCodeOf } from './errors.js';

export { Registry };

/** One registry per service (not prom-client's global one) so services sharing a process do not clash. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Serves `registry` at `/metrics` (GET or HEAD) and answers 404 to anything else. It runs on a port of its
 * own (METRICS_PORT), which only the cluster reaches: the graph's port does not serve metrics.
 */
export function metricsHandler(registry: Registry): RequestListener {
  return (request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://metrics');
    if (pathname !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  };
}

/** The `operationName` label of operations whose name is not in the service's bounded set. */
export const OTHER_OPERATION = 'other';
/** The `operationName` label of operations without a name (the prometheus plugin's own word). */
export const ANONYMOUS_OPERATION = 'Anonymous';

/**
 * Whether an operation name the client chose may be a label value of its own. Every distinct label value is
 * a new time series in every metric that carries it, kept until the process ends: only a bounded set may
 * pass; the rest are counted together as `other`.
 */
export type OperationNameFilter = (name: string, request: Request | undefined) => boolean;

/**
 * The first `max` distinct names pass, later ones count as `other`. For a subgraph: its callers' names
 * (the router names each subgraph fetch after the client's operation) are not a set it can check.
 */
export function firstOperationNames(max: number): OperationNameFilter {
  const seen = new Set<string>();
  return (name) => {
    if (seen.has(name)) return true;
    if (seen.size >= max) return false;
    seen.add(name);
    return true;
  };
}

/** Distinct operation names a subgraph labels before counting the rest as `other`. */
export const DEFAULT_MAX_OPERATION_NAMES = 200;

const namesAnOperation = (document: DocumentNode | undefined, name: string) =>
  document?.definitions.some(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === name,
  ) ?? false;

export interface MetricsOptions {
  /** Which operation names are label values of their own; default: the first DEFAULT_MAX_OPERATION_NAMES. */
  operationNames?: OperationNameFilter;
}

/**
 * Records request counts and durations by operation (@graphql-yoga/plugin-prometheus), plus
 * `graphql_errors_total` by error code; `metricsHandler` serves them on their own port.
 *
 * Every label comes from a bounded set. The plugin's defaults do not: `operationName` is whatever the client
 * sent (even a name its document does not have), `path` (errors) is built from the client's aliases and `url`
 * (HTTP duration) holds the query string. So each metric is declared here with the plugin's own factories,
 * same names, help and phases: `operationName` is the name only when it names an operation of the document
 * and `operationNames` lets it through (else `other`), and `path` and `url` are left out.
 */
export function useMetrics(registry: Registry, options: MetricsOptions = {}): Plugin[] {
  const allowName = options.operationNames ?? firstOperationNames(DEFAULT_MAX_OPERATION_NAMES);
  const operationLabels = (params: FillLabelsFnParams, context: { request?: Request } | undefined) => {
    const name = params.operationName;
    let operationName = ANONYMOUS_OPERATION;
    if (name && name !== ANONYMOUS_OPERATION) {
      const allowed = namesAnOperation(params.document, name) && allowName(name, context?.request);
      operationName = allowed ? name : OTHER_OPERATION;
    }
    return { operationName, operationType: params.operationType ?? 'unknown' };
  };
  const byOperation = ['operationType', 'operationName'] as const;

  const histogram = <Phase extends string>(name: string, help: string, phases: [Phase, ...Phase[]]) =>
    createHistogram({
      registry,
      histogram: { name, help, labelNames: byOperation },
      fillLabelsFn: operationLabels,
      phases,
    });

  const errorsByCode = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors returned to clients, by extensions.code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  // Counted as the response is built (after useErrorCodes): request errors such as invalid JSON never
  // reach execution, and variable coercion errors only get their code then. Streamed results are not counted.
  const countErrors: Plugin = {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        if (Symbol.asyncIterator in single || !single.errors) continue;
        for (const error of single.errors) errorsByCode.inc({ code: errorCodeOf(error) ?? 'UNKNOWN' });
      }
    },
  };

  const prometheus = usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_phase_parse: histogram(
        'graphql_envelop_phase_parse',
        'Time spent on running GraphQL "parse" function',
        ['parse'],
      ),
      graphql_envelop_phase_validate: histogram(
        'graphql_envelop_phase_validate',
        'Time spent on running GraphQL "validate" function',
        ['validate'],
      ),
      graphql_envelop_phase_context: histogram(
        'graphql_envelop_phase_context',
        'Time spent on building the GraphQL context',
        ['context'],
      ),
      graphql_envelop_phase_execute: histogram(
        'graphql_envelop_phase_execute',
        'Time spent on running the GraphQL "execute" function',
        ['execute'],
      ),
      graphql_envelop_phase_subscribe: histogram(
        'graphql_envelop_phase_subscribe',
        'Time spent on running the GraphQL "subscribe" function',
        ['subscribe'],
      ),
      graphql_envelop_request_duration: histogram(
        'graphql_envelop_request_duration',
        'Time spent on running the GraphQL operation from parse to execute',
        ['execute', 'subscribe'],
      ),
      graphql_envelop_request_time_summary: createSummary({
        registry,
        summary: {
          name: 'graphql_envelop_request_time_summary',
          help: 'Summary to measure the time to complete GraphQL operations',
          labelNames: byOperation,
        },
        fillLabelsFn: operationLabels,
        phases: ['execute', 'subscribe'],
      }),
      graphql_envelop_request: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_request',
          help: 'Counts the amount of GraphQL requests executed through Envelop',
          labelNames: byOperation,
        },
        fillLabelsFn: operationLabels,
        phases: ['execute', 'subscribe'],
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_error_result',
          help: 'Counts the amount of errors reported from all phases',
          labelNames: [...byOperation, 'phase'],
        },
        fillLabelsFn: (params, context) => ({
          ...operationLabels(params, context),
          phase: params.errorPhase ?? 'unknown',
        }),
        phases: ['parse', 'validate', 'context', 'execute', 'subscribe'],
      }),
      // Field and type names come from the schema, a bounded set.
      graphql_envelop_deprecated_field: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_deprecated_field',
          help: 'Counts the amount of deprecated fields used in selection sets',
          labelNames: [...byOperation, 'fieldName', 'typeName'],
        },
        fillLabelsFn: (params, context) => ({
          ...operationLabels(params, context),
          fieldName: params.deprecationInfo.fieldName,
          typeName: params.deprecationInfo.typeName,
        }),
        phases: ['parse'],
      }),
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_yoga_http_duration',
          help: 'Time spent on HTTP connection',
          labelNames: [...byOperation, 'method', 'statusCode'],
        },
        // Only GET and POST requests reach parsing, where this metric starts.
        fillLabelsFn: (params, context) => ({
          ...operationLabels(params, context),
          method: params.request.method,
          statusCode: params.response.status,
        }),
        phases: ['request'],
      }),
    },
  });
  return [prometheus, countErrors];
}
