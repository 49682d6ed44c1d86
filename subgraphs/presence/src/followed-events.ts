import { followTopic, isUuid, type Logger, type PubSub } from '@parley/kit';
import { messageEvents } from '@parley/messages/events';
import { userEvents } from '@parley/users/events';
import type { PresenceRecordStore } from './data/presence-record-store.js';
import { presenceReports } from './events.js';
import type { PresenceService } from './presence-service.js';
import type { PresenceStore } from './store/presence-store.js';

/**
 * The router's reports of its sockets (`presence.device-reports`), applied to the live state in the order
 * published: the devices touched, then those disconnected. Resolves once listening; returns a stop function.
 */
export function followDeviceReports(deps: { events: PubSub; sockets: PresenceStore; logger: Logger }) {
  return followTopic(
    deps.events,
    presenceReports.devices,
    async ({ touched, disconnected }) => {
      await deps.sockets.touch(touched);
      for (const { userId, deviceId } of disconnected) await deps.sockets.disconnect(userId, deviceId);
    },
    deps.logger,
  );
}

/**
 * What other services' events mean for presence, read from the event bus (whoever listens now: one missed
 * while this service is down costs an indicator that ends on its own, or a device online until its TTL):
 * - the router's sockets, opened, still open or closed (`presence.device-reports`): devices alive or gone;
 * - a member who sent a message was active, and has stopped typing there (at once, not at its expiry);
 * - a revoked session (logout) is a device gone;
 * - a deleted account leaves nothing behind: its live state and its last seen are deleted.
 * Every presence instance follows the bus and applies every report: applying one again is harmless (the same
 * device alive again, or gone again), and each instance applies them in the order the router published them.
 */
export async function followEvents(deps: {
  events: PubSub;
  store: PresenceStore;
  /** The same live state, with the TTL of router sockets (SOCKET_DEVICE_TTL_MS) rather than of heartbeats. */
  sockets: PresenceStore;
  records: PresenceRecordStore;
  service: PresenceService;
  logger: Logger;
}) {
  const stops = await Promise.all([
    followDeviceReports(deps),
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
