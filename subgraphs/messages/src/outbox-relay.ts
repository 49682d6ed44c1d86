import {
  createRelayLoop,
  topicRegistry,
  type EventStream,
  type Logger,
  type PubSub,
  type RealtimeLog,
  type Topic,
} from '@parley/kit';
import type { MessageStore } from './data/message-store.js';
import { messageEvents } from './events.js';

const BATCH = 100;

/** Topics whose consumers must not miss an event while they are down. */
const DURABLE_TOPICS = new Set<string>([messageEvents.added.name, messageEvents.deleted.name]);
const topicNamed: (name: string) => Topic = topicRegistry(messageEvents);

/**
 * Delivers the events the store recorded with each change, after commit: appends them to the realtime log
 * (subscriptions, by outbox id, so a batch delivered twice is stored once), publishes each on the event bus
 * and appends `messages.added` (the conversations subgraph keeps activity from it) and `messages.deleted` (the
 * files subgraph releases the files it carried) to durable streams, then lets the store
 * forget them. A failure (Redis down, process killed) leaves them for the next
 * flush, so every event is delivered at least once; replicas' relays take turns, in order.
 */
export function createOutboxRelay(deps: {
  messages: MessageStore;
  events: PubSub;
  stream: EventStream;
  log: RealtimeLog;
  logger: Logger;
}) {
  return createRelayLoop({
    batchSize: BATCH,
    logger: deps.logger,
    pending: () => deps.messages.hasUndeliveredEvents(),
    deliverBatch: () =>
      deps.messages.deliverEvents(BATCH, async (batch) => {
        await deps.log.append(
          batch.map(({ id, topic, payload }) => ({ id: `messages:${id}`, topic, payload: { ...payload } })),
        );
        for (const event of batch) {
          const topic = topicNamed(event.topic);
          if (DURABLE_TOPICS.has(topic.name)) await deps.stream.append(topic, event.payload);
          await deps.events.publish(topic, event.payload);
        }
      }),
  });
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
