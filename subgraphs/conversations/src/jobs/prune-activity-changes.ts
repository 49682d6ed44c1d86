import type { Logger } from '@parley/kit';
import type { ConversationStore } from '../data/conversation-store.js';

/**
 * Deletes activity history older than any valid `me.conversations` cursor (plus a margin for clock
 * differences between services and the database), hourly and once at start. Idempotent: every replica
 * may run it.
 */
export function startActivityChangePrune(deps: {
  conversations: ConversationStore;
  cursorTtlSeconds: number;
  logger: Logger;
}) {
  const marginMs = 5 * 60 * 1000;
  const prune = async () => {
    try {
      const now = await deps.conversations.now();
      const { count } = await deps.conversations.pruneActivityChanges(
        new Date(now.getTime() - deps.cursorTtlSeconds * 1000 - marginMs),
      );
      if (count > 0) deps.logger.info({ count }, 'pruned conversation activity history');
    } catch (error) {
      deps.logger.warn({ err: error }, 'pruning conversation activity history failed; retrying next hour');
    }
  };
  void prune();
  const timer = setInterval(() => void prune(), 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
