import type { Logger, PubSub } from '@parley/kit';
import { z } from 'zod';
import type { ConversationStore } from './data/conversation-store.js';
import { messageAddedTopic } from './events.js';

const messageAdded = z.object({
  conversationId: z.uuid(),
  messageId: z.uuid(),
  seq: z.number().int().positive(),
  senderId: z.uuid(),
  mentionedUserIds: z.array(z.uuid()).max(1000).default([]),
});

/**
 * Keeps each conversation's activity, last message and unread counts in step with the messages subgraph's
 * `messages.added` events. Applying an event is idempotent and order-independent; events that do not
 * parse are logged and skipped.
 */
export async function startMessageActivity(deps: {
  events: PubSub;
  conversations: ConversationStore;
  logger: Logger;
}) {
  const subscription = await deps.events.subscribe<unknown>(messageAddedTopic);
  const done = (async () => {
    for await (const payload of subscription) {
      const event = messageAdded.safeParse(payload);
      if (!event.success) {
        deps.logger.warn({ issues: event.error.issues }, `ignored a malformed ${messageAddedTopic} event`);
        continue;
      }
      try {
        await deps.conversations.applyMessageAdded(event.data);
      } catch (error) {
        deps.logger.error({ err: error, event: event.data }, `could not apply a ${messageAddedTopic} event`);
      }
    }
  })();
  return async () => {
    await subscription.unsubscribe();
    await done;
  };
}
