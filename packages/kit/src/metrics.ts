import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
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
 * Serves `/metrics` and records request counts and durations by operation name (@graphql-yoga/plugin-prometheus),
 * plus `graphql_errors_total` by error code.
 */
export function useMetrics(registry: Registry): Plugin[] {
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
  return [usePrometheus({ registry, endpoint: '/metrics' }), countErrors];
}
