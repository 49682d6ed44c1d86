import type { Logger } from './logger.js';

/** How often a relay looks for events a failed or interrupted delivery left behind. */
export const RELAY_INTERVAL_MS = 1_000;

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
    /** Flushes every `intervalMs`; returns a stop function. */
    start(intervalMs = RELAY_INTERVAL_MS) {
      const timer = setInterval(() => {
        flush().catch((error: unknown) =>
          options.logger.warn({ err: error }, 'outbox relay failed; retrying'),
        );
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
