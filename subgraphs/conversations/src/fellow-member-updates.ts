import { randomUUID } from 'node:crypto';
import { isUuid, type EventStream, type Logger, type PubSub, type RealtimeLog } from '@parley/kit';
import type { BlockRelationsClient } from '@parley/users/client';
import { userEvents, type UserUpdatedEvent } from '@parley/users/events';
import type { ConversationStore } from './data/conversation-store.js';
import { fellowMemberEvents } from './events.js';

/** This service's consumer group: each event is handled by one of its instances. */
const CONSUMER_GROUP = 'conversations';

/**
 * Tells a user's fellow members of their profile changes: the users service addresses `users.updated` to the
 * user and their contacts (what it knows) and appends it to a durable stream; this service reads it there as
 * the consumer group `conversations` and delivers `conversations.fellow-member-updated` (the router's
 * `UserUpdated`) to everyone sharing a conversation with the user (taking part in it or not: they see the user
 * listed), minus the event's audience (told already: one `UserUpdated` per change, contact or fellow member or
 * both), minus everyone in a block relation with the user (asked of users as this service). Appended to the
 * realtime log under an id made from the users event's id, so a redelivery (of the stream entry, or of the
 * users outbox batch that appended it) is stored once; then published on the bus. Events appended while this
 * service is down are delivered when it starts. A failure (database, users or Redis unreachable) is retried
 * until it succeeds, before later events: nobody is told across a block for want of an answer.
 */
export async function startFellowMemberUpdates(deps: {
  stream: EventStream;
  conversations: Pick<ConversationStore, 'coMembersOf'>;
  blockRelations: BlockRelationsClient;
  events: PubSub;
  log: RealtimeLog;
  logger: Logger;
}) {
  /** Who this service must tell of `event`: none when users told every fellow member already. */
  async function audienceOf(event: UserUpdatedEvent): Promise<string[]> {
    const userId = event.userId.toLowerCase();
    const told = new Set([userId, ...event.audience.map((id) => id.toLowerCase())]);
    const members = await deps.conversations.coMembersOf([userId], { participatedOnly: false });
    const untold = (members.get(userId) ?? []).filter((id) => !told.has(id));
    // Most changes reach no one beyond the contacts: no call to users then.
    if (untold.length === 0) return [];
    const blocked = new Set((await deps.blockRelations([userId])).get(userId) ?? []);
    return untold.filter((id) => !blocked.has(id));
  }

  const topic = userEvents.updated;
  return deps.stream.consume(topic, CONSUMER_GROUP, async (event) => {
    if (!isUuid(event.userId)) {
      deps.logger.warn({ event }, `ignored a ${topic.name} event about no user of this service`);
      return;
    }
    try {
      const audience = await audienceOf(event);
      if (audience.length === 0) return;
      const payload = { userId: event.userId, audience };
      // Every event on this stream carries its id; one that did not (none does) is still delivered, once.
      const id = `conversations:fellow-members:${event.eventId ?? randomUUID()}`;
      await deps.log.append([{ id, topic: fellowMemberEvents.updated.name, payload }]);
      await deps.events.publish(fellowMemberEvents.updated, payload);
    } catch (error) {
      deps.logger.error({ err: error, event }, `could not deliver a ${topic.name} event; it will be retried`);
      throw error;
    }
  });
}
