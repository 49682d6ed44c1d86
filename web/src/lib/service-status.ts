import { makeOperation, type Client, type Exchange, type Operation, type OperationResult } from '@urql/core';
import { onPush, pipe } from 'wonka';
import { isRetryable } from './errors';

/**
 * Whether the graph is answering the screens' queries:
 * - `available`: nothing is failing for now;
 * - `retrying`: some query failed with SERVICE_UNAVAILABLE (or RATE_LIMITED) and will be sent again by itself;
 * - `unavailable`: some query still failed after every retry; `retryNow` sends those again.
 */
export type Availability = 'available' | 'retrying' | 'unavailable';

export interface ServiceStatus {
  availability(): Availability;
  /** Calls `listener` when availability may have changed (for useSyncExternalStore). */
  subscribe(listener: () => void): () => void;
  /** Told by the retry exchange: `operation` failed for now and goes again by itself. */
  retrying(operation: Operation): void;
  /** Sends again, now and from the network, every query shown that gave up. */
  retryNow(): void;
  /**
   * Watches the queries: goes between the cache and the retry exchange, so it sees only what retrying
   * leaves (a success, or a failure it gave up on).
   */
  exchange: Exchange;
}

export function createServiceStatus(): ServiceStatus {
  /** Queries failing for now, by operation key, with the operation as the screens asked for it. */
  const failing = new Map<number, { state: 'retrying' | 'unavailable'; operation: Operation }>();
  /** The last operation the screens asked for, by key, as it left the cache (before retries changed it). */
  const asked = new Map<number, Operation>();
  const listeners = new Set<() => void>();
  let client: Client | null = null;
  let current: Availability = 'available';

  function update() {
    const states = [...failing.values()].map((entry) => entry.state);
    const next: Availability = states.includes('retrying')
      ? 'retrying'
      : states.includes('unavailable')
        ? 'unavailable'
        : 'available';
    if (next === current) return;
    current = next;
    for (const listener of listeners) listener();
  }

  function observe(result: OperationResult) {
    const { operation } = result;
    if (operation.kind !== 'query') return;
    if (isRetryable(result.error)) {
      failing.set(operation.key, { state: 'unavailable', operation: asked.get(operation.key) ?? operation });
    } else {
      // Answered, or refused for a reason of its own: either way the graph is there.
      failing.delete(operation.key);
    }
    update();
  }

  return {
    availability: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    retrying(operation) {
      failing.set(operation.key, { state: 'retrying', operation: asked.get(operation.key) ?? operation });
      update();
    },
    retryNow() {
      for (const [key, entry] of failing) {
        if (entry.state !== 'unavailable') continue;
        failing.set(key, { ...entry, state: 'retrying' });
        // Only reaches the network while a screen still shows the query (urql drops the others).
        client?.reexecuteOperation(
          makeOperation('query', entry.operation, {
            ...entry.operation.context,
            requestPolicy: 'network-only',
          }),
        );
      }
      update();
    },
    exchange:
      ({ forward, client: owner }) =>
      (operations) => {
        client = owner;
        const watched = pipe(
          operations,
          onPush((operation) => {
            if (operation.kind === 'query') asked.set(operation.key, operation);
            if (operation.kind === 'teardown') {
              // No screen shows it any more: whatever it was waiting for does not matter.
              asked.delete(operation.key);
              if (failing.delete(operation.key)) update();
            }
          }),
        );
        return pipe(forward(watched), onPush(observe));
      },
  };
}
