import { isUuid, type EventStream, type Logger } from '@parley/kit';
import type { BlockRelationsClient } from '@parley/users/client';
import { messageEvents, type MessageAddedEvent } from '@parley/messages/events';
import type { ConversationStore, ReceiptExclusions } from './data/conversation-store.js';
import type { OutboxRelay } from './data/outbox.js';

/** This service's consumer group: each event is applied by one of its instances. */
const CONSUMER_GROUP = 'conversations';

/** What this service's tables take (uuid columns, seq from 1): anything else could never be applied. */
const applicable = (event: MessageAddedEvent) =>
  isUuid(event.conversationId) &&
  isUuid(event.messageId) &&
  isUuid(event.senderId) &&
  event.seq > 0 &&
  event.mentionedUserIds.every(isUuid);

/**
 * Keeps each conversation's activity, last message and unread counts in step with the messages subgraph's
 * `messages.added` events, read from a durable stream: events appended while this service is down are
 * applied when it starts. Applying an event is idempotent and order-independent, so a redelivery is
 * harmless. The sender's read marker moves to the message (the MessageAdded event says so). Events that do not parse are logged and skipped; an event that fails to apply (the database is
 * down) is retried until it applies.
 */
export async function startMessageActivity(deps: {
  stream: EventStream;
  conversations: ConversationStore;
  /** Who is in a block relation with whom: receipt events of markers applied here are not sent across one. */
  blockRelations: BlockRelationsClient;
  /** Delivers the receipts an event moved at once, rather than at the relay's next pass. */
  relay: Pick<OutboxRelay, 'flush'>;
  logger: Logger;
}) {
  /** For the members whose requested markers this event may move (usually none: no call then). */
  async function receiptExclusions(conversationId: string): Promise<ReceiptExclusions> {
    const userIds = await deps.conversations.membersWithRequestedMarkers(conversationId);
    if (userIds.length === 0) return new Map();
    try {
      return await deps.blockRelations(userIds);
    } catch (error) {
      // Activity and unread counts must not wait for the users service: these receipts go to nobody else.
      deps.logger.warn(
        { err: error, conversationId },
        'block relations unknown; receipts not sent to others',
      );
      return new Map();
    }
  }

  const topic = messageEvents.added;
  return deps.stream.consume(topic, CONSUMER_GROUP, async (event) => {
    if (!applicable(event)) {
      deps.logger.warn({ event }, `ignored a ${topic.name} event this service cannot apply`);
      return;
    }
    let receipts: boolean;
    try {
      receipts = await deps.conversations.applyMessageAdded(
        event,
        await receiptExclusions(event.conversationId),
      );
    } catch (error) {
      deps.logger.error({ err: error, event }, `could not apply a ${topic.name} event; it will be retried`);
      throw error;
    }
    // Most messages move no waiting marker: nothing to deliver, no relay round trip per message.
    if (!receipts) return;
    // Applied and committed: a failed delivery is left to the relay's timer, not a reason to apply again.
    // Not awaited: the next event is applied while this one's receipts go out (flushes coalesce), so a burst
    // of sends is not applied one relay round trip at a time.
    void deps.relay
      .flush()
      .catch((error: unknown) =>
        deps.logger.warn({ err: error }, 'outbox events left for the next relay pass'),
      );
  });
}
