import { systemClock, type Clock, type Logger } from '@parley/kit';
import type { SessionStore } from '../data/session-store.js';

const HOUR_MS = 3_600_000;

/**
 * Deletes ended sessions past their retention, at start and then hourly. Every replica may run it: the
 * delete is idempotent. Returns a function that stops the schedule.
 */
export function startSessionPurge(options: {
  sessions: SessionStore;
  retentionSeconds: number;
  logger: Logger;
  intervalMs?: number;
  /** What "past retention" goes by: the sessions' own clock (the system's by default). */
  clock?: Clock;
}): () => void {
  const clock = options.clock ?? systemClock;
  const purge = async () => {
    try {
      const purged = await options.sessions.purgeEnded(
        new Date(clock.now().getTime() - options.retentionSeconds * 1000),
      );
      if (purged > 0) options.logger.info({ purged }, 'ended sessions purged');
    } catch (error) {
      options.logger.error({ err: error }, 'session purge failed');
    }
  };
  void purge();
  const timer = setInterval(() => void purge(), options.intervalMs ?? HOUR_MS);
  timer.unref();
  return () => clearInterval(timer);
}
