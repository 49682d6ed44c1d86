import { followTopic, isUuid, type Logger, type PresenceStore, type PubSub } from '@parley/kit';
import { messageEvents } from '@parley/messages/events';
import { userEvents } from '@parley/users/events';
import type { PresenceRecordStore } from './data/presence-record-store.js';
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
    followTopic(
      deps.events,
      messageEvents.added,
      async ({ conversationId, senderId }) => {
        await deps.store.markActive([senderId]);
        await deps.service.endTyping(conversationId, senderId);
      },
      deps.logger,
    ),
    followTopic(
      deps.events,
      userEvents.sessionsRevoked,
      async ({ userId, sessionIds }) => {
        for (const sessionId of sessionIds) await deps.store.disconnect(userId, `session:${sessionId}`);
      },
      deps.logger,
    ),
    followTopic(
      deps.events,
      userEvents.deleted,
      async ({ userId }) => {
        if (!isUuid(userId)) return;
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
