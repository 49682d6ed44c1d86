import type { Closer } from './shutdown.js';

/** What a starting service has opened, to close in reverse order. */
export interface Resources {
  /** Registers how to close something just opened; it closes before everything opened earlier. */
  add(close: Closer): void;
}

/** A started service: where it listens and how to stop it. */
export interface RunningService {
  url: string;
  port: number;
  /** Its Prometheus metrics: `http://<host>:<METRICS_PORT>/metrics`. */
  metricsUrl: string;
  stop(): Promise<void>;
}

/**
 * Runs `start`, which opens resources (pools, clients, servers) and registers how to close each. Returns
 * its result with `stop()`, which closes them newest first (all of them, then rethrows a failure). If `start` fails, whatever it had opened is
 * closed (errors ignored) before the failure is rethrown, so a half-started service leaks nothing.
 */
export async function startWithResources<T extends object>(
  start: (resources: Resources) => Promise<T>,
): Promise<T & { stop(): Promise<void> }> {
  const closers: Closer[] = [];
  const resources: Resources = { add: (close) => void closers.unshift(close) };
  try {
    const started = await start(resources);
    return {
      ...started,
      async stop() {
        // Every closer runs, whichever fails: one that throws must not leave the rest open.
        const failures: unknown[] = [];
        for (const close of closers.splice(0)) {
          await Promise.resolve()
            .then(close)
            .catch((error: unknown) => failures.push(error));
        }
        if (failures.length === 1) throw failures[0];
        if (failures.length > 1) throw new AggregateError(failures, 'several resources failed to close');
      },
    };
  } catch (error) {
    for (const close of closers.splice(0)) await Promise.resolve(close()).catch(() => {});
    throw error;
  }
}
