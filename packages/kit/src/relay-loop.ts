import type { Logger } from './logger.js';

/** How often a relay looks for events a failed or interrupted delivery left behind. */
export const RELAY_INTERVAL_MS = 1_000;

/** A relay's transaction: long enough for a wait for its turn (below) and a batch's network round trips. */
export const RELAY_TRANSACTION_TIMEOUT_MS = 30_000;

/**
 * Prisma's options for a relay's transaction: its timeout, and how long it may wait for a connection. A relay
 * works in the background, so it waits longer than a request would (Prisma's default is 2 s): while a
 * process starts, its event loop can be busy for seconds, and a first pass then timed out for no fault.
 */
export const RELAY_TRANSACTION_OPTIONS = { timeout: RELAY_TRANSACTION_TIMEOUT_MS, maxWait: 10_000 } as const;

/**
 * Waits, inside a relay's transaction, for its turn at `outbox`, replicas included: one deliverer at a time,
 * so the realtime log holds each conversation's events in the order they happened (two delivering
 * disjoint batches side by side could append later events first). A deliverer waits for the one at work
 * rather than skipping, so its caller's events are out when it returns; the wait is bounded (5 s) well
 * inside RELAY_TRANSACTION_TIMEOUT_MS, so a deliverer never runs out of time after publishing, and past it
 * the next pass retries. The turn is held until the transaction ends.
 */
export async function takeRelayTurn(
  tx: { $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> },
  outbox: string,
): Promise<void> {
  // One round trip: the timeout is set (for this transaction) before the lock is asked for.
  await tx.$executeRawUnsafe(
    `SELECT set_config('lock_timeout', '5s', true), pg_advisory_xact_lock(hashtext($1))`,
    outbox,
  );
}

/**
 * The delivery loop of an outbox relay: `flush` runs `deliverBatch` until a batch comes back short (the
 * outbox is drained); `start` also flushes on a timer, for events a failure or another process left.
 * A flush asked for during a flush makes it run once more instead of in parallel, so a caller's own
 * events are delivered when its call resolves.
 */
export function createRelayLoop(options: {
  /** Delivers up to `batchSize` pending events and returns how many it delivered. */
  deliverBatch: () => Promise<number>;
  batchSize: number;
  logger: Logger;
  /**
   * Whether anything waits (one cheap read): the timer's pass runs `deliverBatch` (a transaction taking its
   * turn) only then, so an idle service costs one statement a second, not a transaction.
   */
  pending?: () => Promise<boolean>;
}) {
  let running: Promise<void> | null = null;
  let again = false;

  const flush = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          while ((await options.deliverBatch()) === options.batchSize);
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };

  return {
    flush,
    /**
     * Flushes every `intervalMs`; returns a stop function, which resolves once a delivery under way has ended
     * (so the database it uses is closed after it, not under it).
     */
    start(intervalMs = RELAY_INTERVAL_MS) {
      const pass = async () => {
        if (!running && options.pending && !(await options.pending())) return;
        await flush();
      };
      const timer = setInterval(() => {
        pass().catch((error: unknown) =>
          options.logger.warn({ err: error }, 'outbox relay failed; retrying'),
        );
      }, intervalMs);
      timer.unref();
      return async () => {
        clearInterval(timer);
        // Its failure, if any, was logged by whoever asked for it.
        await running?.catch(() => {});
      };
    },
  };
}
