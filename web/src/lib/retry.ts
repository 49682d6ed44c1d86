import { makeOperation, type Exchange, type Operation } from '@urql/core';
import { retryExchange } from '@urql/exchange-retry';
import { DEFAULT_RETRY_AFTER_SECONDS, retryAfterOf } from './errors';

/** How many times a query is sent in all while the graph answers it cannot for now, before the error shows. */
export const QUERY_MAX_ATTEMPTS = 8;
/** The longest wait between two attempts; a `retryAfter` longer than this is not waited for (the error shows). */
export const QUERY_RETRY_MAX_DELAY_MS = 30_000;
/** @urql/exchange-retry multiplies the wait by 1.5 to 2.5 at each attempt (from its `initialDelayMs`). */
const BACKOFF_MIN_FACTOR = 1.5;

/** The state @urql/exchange-retry 2.0 keeps in an operation's context: attempts made, the wait last used. */
interface RetryState {
  count: number;
  delay: number | null;
}

/**
 * Sends a query again, with the same variables, when the graph answered SERVICE_UNAVAILABLE or RATE_LIMITED
 * (see retryAfterOf): never before the error's `retryAfter`, then with a growing random delay (at most
 * QUERY_RETRY_MAX_DELAY_MS), QUERY_MAX_ATTEMPTS times in all; meanwhile the query shows what it showed (cached
 * data, or loading). Mutations are never sent again here: most are not idempotent (a send is, by its
 * clientMutationId, and the composer's outbox sends it again itself). Network failures are left to the
 * realtime socket's reconnect, which reads the screens again.
 */
export function queryRetryExchange(options: { onRetry?(operation: Operation): void } = {}): Exchange {
  return retryExchange({
    initialDelayMs: DEFAULT_RETRY_AFTER_SECONDS * 1000,
    maxDelayMs: QUERY_RETRY_MAX_DELAY_MS,
    randomDelay: true,
    maxNumberAttempts: QUERY_MAX_ATTEMPTS,
    retryIf: (error, operation) => operation.kind === 'query' && retryAfterOf(error) !== undefined,
    retryWith(error, operation) {
      const waitMs = (retryAfterOf(error) ?? DEFAULT_RETRY_AFTER_SECONDS) * 1000;
      if (waitMs > QUERY_RETRY_MAX_DELAY_MS) return null;
      options.onRetry?.(operation);
      // The exchange waits its last delay (or initialDelayMs) times 1.5 to 2.5, capped at maxDelayMs: starting
      // from at least retryAfter / 1.5, it never waits less than the graph asked.
      const retry = operation.context['retry'] as RetryState | undefined;
      return makeOperation(operation.kind, operation, {
        ...operation.context,
        retry: {
          count: retry?.count ?? 0,
          delay: Math.max(retry?.delay ?? 0, waitMs / BACKOFF_MIN_FACTOR),
        } satisfies RetryState,
      });
    },
  });
}
