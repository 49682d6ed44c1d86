import { randomUUID } from 'node:crypto';
import { isUuid, systemClock, type Clock, type Logger, type RealtimeLog } from '@parley/kit';
import type { PresenceRecordStore } from './data/presence-record-store.js';
import { presenceEvents, type PresenceChangedPayload, type TypingPayload } from './events.js';
import type { RelationsClient } from './relations.js';
import type { PresenceChange, PresenceStore } from './store/presence-store.js';

const BATCH = 200;

/**
 * The presence subgraph's background work, on a timer: finds expired devices, users gone AWAY and typing
 * indicators that ended; claims settled status changes (each once, across replicas); keeps their last seen
 * in PostgreSQL; and appends the events to the realtime log, each presence change addressed to who may see
 * it then (the user, their contacts and fellow members, minus blocks either way).
 *
 * A claimed change that cannot be published (users, conversations, PostgreSQL or Redis down) is released and
 * claimed again later; a user's next change waits for the one being published, so they stay in order.
 */
export function createPresencePublisher(deps: {
  store: PresenceStore;
  records: PresenceRecordStore;
  relations: RelationsClient;
  log: RealtimeLog;
  logger: Logger;
  /** The store's clock: a claim's lease runs on it (the system's by default). */
  clock?: Clock;
}) {
  const { store, records, log, clock = systemClock } = deps;
  const nowMs = () => clock.now().getTime();

  async function publishChanges() {
    await store.sweep(BATCH);
    const claimedAt = nowMs();
    const claimed = await store.claimChanges(BATCH);
    if (claimed.length === 0) return;
    try {
      await publish(
        claimed.filter((change) => isUuid(change.userId)),
        () => nowMs() - claimedAt < store.timings.claimLeaseMs / 2,
      );
    } catch (error) {
      // Handed out again on a later tick (here or on another instance), once what failed is back.
      await store.releaseChanges(claimed);
      throw error;
    }
    await store.acknowledgeChanges(claimed);
  }

  /**
   * Records, addresses and appends the changes; throws (so they are released) when `inTime` says their
   * lease is running out: past it they may have been claimed again, and appending them then could put an
   * older status after a newer one.
   */
  async function publish(changes: PresenceChange[], inTime: () => boolean) {
    if (changes.length === 0) return;
    const userIds = changes.map((change) => change.userId);
    await records.recordLastSeen(
      changes.flatMap(({ userId, lastSeenAt }) =>
        lastSeenAt === null ? [] : [{ userId, lastSeenAt: new Date(lastSeenAt) }],
      ),
    );
    const [audiences, settings] = await Promise.all([
      deps.relations.audiencesOf(userIds),
      // Whether last seen is hidden matters only where it is shown: OFFLINE.
      records.byUserIds(changes.flatMap((change) => (change.status === 'OFFLINE' ? [change.userId] : []))),
    ]);
    if (!inTime()) throw new Error('Presence changes took too long to prepare; released for another try');
    await log.append(
      changes.map(({ userId, status, lastSeenAt }) => {
        const hidden = settings.get(userId)?.hideLastSeen ?? false;
        const payload: PresenceChangedPayload = {
          userId,
          status,
          lastSeenAt:
            status === 'OFFLINE' && !hidden && lastSeenAt !== null
              ? new Date(lastSeenAt).toISOString()
              : null,
          audience: audiences.get(userId) ?? [userId],
        };
        return {
          id: `presence:${randomUUID()}`,
          topic: presenceEvents.changed.name,
          payload: { ...payload },
        };
      }),
    );
  }

  async function publishEndedTyping() {
    const ended = await store.claimExpiredTyping(BATCH);
    if (ended.length === 0) return;
    // An ended indicator whose end cannot be told now is not told later: clients end it at its expiresAt.
    const blocked = await deps.relations.blockedOf([...new Set(ended.map((entry) => entry.userId))]);
    await log.append(
      ended.map(({ conversationId, userId }) => {
        const payload: TypingPayload = {
          conversationId,
          userId,
          typing: false,
          expiresAt: null,
          excludedUserIds: blocked.get(userId) ?? [],
        };
        return { id: `typing:${randomUUID()}`, topic: presenceEvents.typing.name, payload: { ...payload } };
      }),
    );
  }

  let running = false;
  async function tick() {
    if (running) return;
    running = true;
    try {
      await Promise.all([
        publishChanges().catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'presence changes could not be published'),
        ),
        publishEndedTyping().catch((error: unknown) =>
          deps.logger.warn({ err: error }, 'ended typing could not be published'),
        ),
      ]);
    } finally {
      running = false;
    }
  }

  return {
    tick,
    /** Runs every `intervalMs`; returns a stop function that waits for a tick in progress. */
    start(intervalMs: number) {
      const timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
      return async () => {
        clearInterval(timer);
        while (running) await new Promise((resolve) => setTimeout(resolve, 10));
      };
    },
  };
}
