import { isUuid, type Logger, type PresenceStore, type PubSub } from '@parley/kit';
import type { PresenceRecordStore } from './data/presence-record-store.js';
import {
  followedEvents,
  type MessageAddedEvent,
  type SessionsRevokedEvent,
  type UserDeletedEvent,
} from './events.js';
import type { PresenceService } from './presence-service.js';

/** Handles every event of `topic` on the bus, one at a time; a failure is logged and the next one handled. */
async function follow<T>(
  deps: { events: PubSub; logger: Logger },
  topic: string,
  handle: (event: Partial<T>) => Promise<void>,
) {
  const subscription = await deps.events.subscribe<Partial<T>>(topic);
  const handled = (async () => {
    for await (const event of subscription) {
      await handle(event).catch((error: unknown) =>
        deps.logger.warn({ err: error, topic }, 'event not handled'),
      );
    }
  })().catch((error: unknown) => deps.logger.error({ err: error, topic }, 'events are no longer followed'));
  return async () => {
    await subscription.unsubscribe();
    await handled;
  };
}

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
    follow<MessageAddedEvent>(deps, followedEvents.messageAdded, async ({ conversationId, senderId }) => {
      if (typeof conversationId !== 'string' || typeof senderId !== 'string') return;
      await deps.store.markActive([senderId]);
      await deps.service.endTyping(conversationId, senderId);
    }),
    follow<SessionsRevokedEvent>(deps, followedEvents.sessionsRevoked, async ({ userId, sessionIds }) => {
      if (typeof userId !== 'string' || !Array.isArray(sessionIds)) return;
      for (const sessionId of sessionIds) await deps.store.disconnect(userId, `session:${String(sessionId)}`);
    }),
    follow<UserDeletedEvent>(deps, followedEvents.userDeleted, async ({ userId }) => {
      if (typeof userId !== 'string' || !isUuid(userId)) return;
      await deps.store.forget([userId]);
      await deps.records.forget(userId);
    }),
  ]);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
