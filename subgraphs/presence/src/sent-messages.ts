import type { Logger, PubSub } from '@parley/kit';
import { MESSAGE_ADDED_TOPIC, type MessageAddedEvent } from './events.js';
import type { PresenceService } from './presence-service.js';

/**
 * A member who sent a message has stopped typing there: their indicator ends at once, not when it would
 * have expired. Read from the event bus (whoever listens now): an event missed while this service is down
 * costs only an indicator that ends on its own a few seconds later.
 */
export async function endTypingOnSend(deps: { events: PubSub; service: PresenceService; logger: Logger }) {
  const subscription = await deps.events.subscribe<Partial<MessageAddedEvent>>(MESSAGE_ADDED_TOPIC);
  const handled = (async () => {
    for await (const { conversationId, senderId } of subscription) {
      if (typeof conversationId !== 'string' || typeof senderId !== 'string') continue;
      await deps.service
        .endTyping(conversationId, senderId)
        .catch((error: unknown) => deps.logger.warn({ err: error }, 'typing could not be ended on send'));
    }
  })().catch((error: unknown) => deps.logger.error({ err: error }, 'sent messages are no longer followed'));
  return async () => {
    await subscription.unsubscribe();
    await handled;
  };
}
