import type { EventStream, Logger, PubSub } from '@parley/kit';
import type { MessageStore } from './data/message-store.js';
import { messageEvents } from './events.js';

const BATCH = 100;

/**
 * Delivers the events the store recorded with each change, after commit: publishes each on the event bus
 * (live subscribers) and appends `messages.added` to its durable stream (the conversations subgraph),
 * then lets the store forget them. A failure (Redis down, process killed) leaves them for the next
 * flush, so every event is delivered at least once; replicas' relays take disjoint events.
 */
export function createOutboxRelay(deps: {
  messages: MessageStore;
  events: PubSub;
  stream: EventStream;
  logger: Logger;
}) {
  const deliverBatch = () =>
    deps.messages.deliverEvents(BATCH, async (batch) => {
      for (const event of batch) {
        if (event.topic === messageEvents.added) await deps.stream.append(event.topic, event.payload);
        await deps.events.publish(event.topic, event.payload);
      }
    });

  let running: Promise<void> | null = null;
  let again = false;

  return {
    /**
     * Delivers every pending event. A call during a flush makes it run once more rather than in
     * parallel, so a caller's own events are delivered when its call resolves.
     */
    flush(): Promise<void> {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        try {
          do {
            again = false;
            while ((await deliverBatch()) === BATCH);
          } while (again);
        } finally {
          running = null;
        }
      })();
      return running;
    },

    /** Flushes every `intervalMs` (events left by a failure or another process); returns a stop function. */
    start(intervalMs: number) {
      const timer = setInterval(() => {
        this.flush().catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'outbox relay failed; retrying'),
        );
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
