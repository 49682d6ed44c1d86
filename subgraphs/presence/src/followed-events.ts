import { followTopic, isUuid, type Logger, type PresenceStore, type PubSub } from '@parley/kit';
import type { PresenceRecordStore } from './data/presence-record-store.js';
import {
  followedEvents,
  type MessageAddedEvent,
  type SessionsRevokedEvent,
  type UserDeletedEvent,
} from './events.js';
import type { PresenceService } from './presence-service.js';

/**
 * What other services' events mean for presence, read from the event bus (whoever listens now: one missed
 * while this service is down costs an indicator that ends on its own, or a session online until its TTL):
 * - a member who sent a message was active, and has stopped typing there (at once, not at its expiry);
 * - a revoked session (logout) is a device gone;
 * - a deleted account leaves nothing behind: its live state and its last seen are deleted.
 */
export async function followEvents(deps: {
  events: PubSub;
  store: PresenceStore;
  records: PresenceRecordStore;
  service: PresenceService;
  logger: Logger;
}) {
  const stops = await Promise.all([
    followTopic<MessageAddedEvent>(
      deps.events,
      followedEvents.messageAdded,
      async ({ conversationId, senderId }) => {
        if (typeof conversationId !== 'string' || typeof senderId !== 'string') return;
        await deps.store.markActive([senderId]);
        await deps.service.endTyping(conversationId, senderId);
      },
      deps.logger,
    ),
    followTopic<SessionsRevokedEvent>(
      deps.events,
      followedEvents.sessionsRevoked,
      async ({ userId, sessionIds }) => {
        if (typeof userId !== 'string' || !Array.isArray(sessionIds)) return;
        for (const sessionId of sessionIds)
          await deps.store.disconnect(userId, `session:${String(sessionId)}`);
      },
      deps.logger,
    ),
    followTopic<UserDeletedEvent>(
      deps.events,
      followedEvents.userDeleted,
      async ({ userId }) => {
        if (typeof userId !== 'string' || !isUuid(userId)) return;
        await deps.store.forget([userId]);
        await deps.records.forget(userId);
      },
      deps.logger,
    ),
  ]);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
