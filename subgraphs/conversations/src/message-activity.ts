import type { BlockRelationsClient, EventStream, Logger } from '@parley/kit';
import { z } from 'zod';
import type { ConversationStore, ReceiptExclusions } from './data/conversation-store.js';
import type { OutboxRelay } from './data/outbox.js';
import { messageAddedTopic } from './events.js';

/** This service's consumer group: each event is applied by one of its instances. */
const CONSUMER_GROUP = 'conversations';

const messageAdded = z.object({
  conversationId: z.uuid(),
  messageId: z.uuid(),
  seq: z.number().int().positive(),
  senderId: z.uuid(),
  mentionedUserIds: z.array(z.uuid()).max(1000).default([]),
});

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

  return deps.stream.consume(messageAddedTopic, CONSUMER_GROUP, async (payload) => {
    const event = messageAdded.safeParse(payload);
    if (!event.success) {
      deps.logger.warn({ issues: event.error.issues }, `ignored a malformed ${messageAddedTopic} event`);
      return;
    }
    let receipts: boolean;
    try {
      receipts = await deps.conversations.applyMessageAdded(
        event.data,
        await receiptExclusions(event.data.conversationId),
      );
    } catch (error) {
      deps.logger.error(
        { err: error, event: event.data },
        `could not apply a ${messageAddedTopic} event; it will be retried`,
      );
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
