import type { Logger } from './logger.js';

export type Closer = () => Promise<unknown> | unknown;

/**
 * A Ctrl-C reaches the process more than once: the terminal signals the whole process group, and `npm`
 * and `tsx` each relay it to their child as well. Repeats this close to the first are that one Ctrl-C.
 */
const REPEATED_SIGNAL_MS = 1_000;

/**
 * Runs `closers` in order on SIGINT/SIGTERM (stop accepting requests first, then clients), then exits.
 * A second signal (one that is not the first one relayed again), or closers taking longer than
 * `timeoutMs`, forces the exit.
 */
export function registerGracefulShutdown(logger: Logger, closers: Closer[], timeoutMs = 10_000): void {
  let firstSignalAt: number | null = null;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (firstSignalAt !== null) {
      if (Date.now() - firstSignalAt < REPEATED_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    let exitCode = 0;
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        exitCode = 1;
        logger.error({ err: error }, 'error during shutdown');
      }
    }
    logger.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', (signal) => void shutdown(signal));
  process.on('SIGTERM', (signal) => void shutdown(signal));
}
