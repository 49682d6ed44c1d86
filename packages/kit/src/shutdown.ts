import type { Logger } from './logger.js';

export type Closer = () => Promise<unknown> | unknown;

/**
 * Runs `closers` in order on SIGINT/SIGTERM (stop accepting requests first, then clients), then exits.
 * A second signal, or closers taking longer than `timeoutMs`, forces the exit.
 */
export function registerGracefulShutdown(logger: Logger, closers: Closer[], timeoutMs = 10_000): void {
  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    shuttingDown = true;
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
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));
}
