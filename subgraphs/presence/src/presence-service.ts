import { randomUUID } from 'node:crypto';
import {
  forbidden,
  isUuid,
  notFound,
  storedIds,
  type Caller,
  type RealtimeLog,
  type Viewer,
} from '@parley/kit';
import { createMembershipReader, type MembershipProjection, type MembershipRepair } from '@parley/membership';
import type { PresenceRecord, PresenceRecordStore } from './data/presence-record-store.js';
import { presenceEvents, type TypingPayload } from './events.js';
import type { RelationsClient } from './relations.js';
import type { PresenceStatus, PresenceStore } from './store/presence-store.js';

export interface Presence {
  status: PresenceStatus;
  lastSeenAt: Date | null;
}

export interface PresenceServiceDeps {
  store: PresenceStore;
  records: PresenceRecordStore;
  relations: RelationsClient;
  projection: MembershipProjection;
  repairMembership: MembershipRepair;
  log: RealtimeLog;
}

/** Who is asking, and the credentials to ask other services on their behalf. */
export interface Actor {
  viewer: Viewer;
  caller: Caller;
}

/** The last seen time shown: the later of Redis's and PostgreSQL's (either may be behind), unless hidden. */
function lastSeenOf(status: PresenceStatus, live: number | null, durable: Date | null, hidden: boolean) {
  if (status !== 'OFFLINE' || hidden) return null;
  const times = [live, durable?.getTime() ?? null].filter((time): time is number => time !== null);
  return times.length > 0 ? new Date(Math.max(...times)) : null;
}

export const conversationNotFound = () => notFound('Conversation not found');

/** Running indicators looked at for a resuming subscriber (all of the platform's, normally far fewer). */
const LIVE_TYPING_LIMIT = 10_000;
/** Contacts and fellow members whose presence a resuming subscriber is told (what users answers at once). */
const LIVE_PRESENCE_LIMIT = 1_000;

/** The presence subgraph's rules: who may see whose presence, heartbeats, typing, settings. */
export function createPresenceService(deps: PresenceServiceDeps) {
  const { store, records } = deps;

  /**
   * Presence of users the viewer may see: one Redis read for the whole list, then one PostgreSQL read for
   * those OFFLINE (last seen and its setting matter for nobody else; a heartbeat, always ONLINE, reads none).
   */
  async function visiblePresence(userIds: readonly string[]): Promise<Map<string, Presence>> {
    const live = await store.read(userIds);
    const offline = userIds.filter((_, index) => live[index]!.status === 'OFFLINE');
    const durable = offline.length > 0 ? await records.byUserIds(offline) : new Map<string, PresenceRecord>();
    return new Map(
      userIds.map((userId, index) => {
        const { status, lastSeenAt } = live[index]!;
        const record = durable.get(userId);
        const presence = {
          status,
          lastSeenAt: lastSeenOf(
            status,
            lastSeenAt,
            record?.lastSeenAt ?? null,
            record?.hideLastSeen ?? false,
          ),
        };
        return [userId, presence];
      }),
    );
  }

  /** The viewer's membership of each conversation (null: not a member, or not an id), one read for all. */
  async function membershipsOf(actor: Actor, conversationIds: readonly string[]) {
    const ids = conversationIds.map((id) => (isUuid(id) ? id.toLowerCase() : null));
    const reader = createMembershipReader({
      projection: deps.projection,
      repair: (unknown) => deps.repairMembership(unknown, actor.caller),
    });
    const known = ids.filter((id): id is string => id !== null);
    const found = known.length > 0 ? await reader.membershipsOf(actor.viewer.userId, known) : [];
    const byId = new Map(known.map((id, index) => [id, found[index] ?? null]));
    return ids.map((id) => (id === null ? null : (byId.get(id) ?? null)));
  }

  const membershipOf = async (actor: Actor, conversationId: string) =>
    (await membershipsOf(actor, [conversationId]))[0] ?? null;

  /** Appends a typing event for the conversation's members, except those in a block relation with the typer. */
  async function publishTyping(payload: Omit<TypingPayload, 'excludedUserIds'>) {
    const excludedUserIds = (await deps.relations.blockedOf([payload.userId])).get(payload.userId) ?? [];
    const event: TypingPayload = { ...payload, excludedUserIds };
    await deps.log.append([
      { id: `typing:${randomUUID()}`, topic: presenceEvents.typing.name, payload: { ...event } },
    ]);
  }

  /** Ends the user's indicator, if one is running, and tells the members. Whether one was running. */
  async function endTyping(conversationId: string, userId: string): Promise<boolean> {
    const stopped = await store.stopTyping(conversationId, userId);
    if (stopped) await publishTyping({ conversationId, userId, typing: false, expiresAt: null });
    return stopped;
  }

  const service = {
    /**
     * Each user's presence as the viewer may see it: their own always; others' when the user lists the
     * viewer as a contact or they share a conversation, and neither blocked the other; null otherwise.
     */
    async presenceOf(actor: Actor, userIds: readonly string[]): Promise<Map<string, Presence | null>> {
      const ids = storedIds(userIds);
      const others = ids.filter((id) => id !== actor.viewer.userId);
      const relations =
        others.length > 0 ? await deps.relations.relationsOf(others, actor.caller) : new Map();
      const visible = ids.filter((id) => {
        if (id === actor.viewer.userId) return true;
        const relation = relations.get(id);
        return relation?.exists && !relation.blocked && (relation.listsViewerAsContact || relation.coMember);
      });
      const found = visible.length > 0 ? await visiblePresence(visible) : new Map<string, Presence>();
      return new Map(userIds.map((id) => [id, found.get(id.toLowerCase()) ?? null]));
    },

    async heartbeat(actor: Actor, active: boolean): Promise<Presence> {
      const { userId, sessionId } = actor.viewer;
      await store.touch([{ userId, deviceId: `session:${sessionId}`, active }]);
      return (await visiblePresence([userId])).get(userId)!;
    },

    async startTyping(actor: Actor, conversationId: string): Promise<Date> {
      const membership = await membershipOf(actor, conversationId);
      if (!membership) throw conversationNotFound();
      const id = conversationId.toLowerCase();
      if (membership.kind === 'DIRECT') {
        const snapshot = await deps.projection.snapshot(id);
        const other = [...(snapshot?.members.keys() ?? [])].find((userId) => userId !== actor.viewer.userId);
        if (other && (await deps.relations.blockedAmong([other], actor.caller)).has(other)) {
          throw forbidden('You cannot type to a user you blocked or who blocked you');
        }
      }
      const { started, expiresAt } = await store.startTyping(id, actor.viewer.userId);
      const until = new Date(expiresAt);
      if (started) {
        try {
          await publishTyping({
            conversationId: id,
            userId: actor.viewer.userId,
            typing: true,
            expiresAt: until.toISOString(),
          });
        } catch (error) {
          // Untold, it must not run: a retry would be a silent renewal, and its end would be told alone.
          await store.stopTyping(id, actor.viewer.userId);
          throw error;
        }
      }
      await store.markActive([actor.viewer.userId]);
      return until;
    },

    async stopTyping(actor: Actor, conversationId: string): Promise<boolean> {
      if (!(await membershipOf(actor, conversationId))) throw conversationNotFound();
      return endTyping(conversationId.toLowerCase(), actor.viewer.userId);
    },

    endTyping,

    /**
     * Members typing in each conversation of the viewer's (empty for one they are not in), the viewer and
     * users in a block relation with them excepted: one membership read, one Redis command and one blocks
     * check for all of them.
     */
    async typingUsers(actor: Actor, conversationIds: readonly string[]): Promise<string[][]> {
      const memberships = await membershipsOf(actor, conversationIds);
      const mine = conversationIds.filter((_, index) => memberships[index]);
      const typing = await store.typingIn(mine.map((id) => id.toLowerCase()));
      const typers = new Map(mine.map((id, index) => [id, typing[index]!.map((entry) => entry.userId)]));
      const others = [...new Set([...typers.values()].flat())].filter((id) => id !== actor.viewer.userId);
      const blocked = others.length > 0 ? await deps.relations.blockedAmong(others, actor.caller) : new Set();
      return conversationIds.map((id) =>
        (typers.get(id) ?? []).filter((userId) => userId !== actor.viewer.userId && !blocked.has(userId)),
      );
    },

    async settings(actor: Actor) {
      const record = (await records.byUserIds([actor.viewer.userId])).get(actor.viewer.userId);
      return { hideLastSeen: record?.hideLastSeen ?? false };
    },

    async updateSettings(actor: Actor, hideLastSeen: boolean) {
      const record = await records.setHideLastSeen(actor.viewer.userId, hideLastSeen);
      return { hideLastSeen: record.hideLastSeen };
    },
  };

  /**
   * What a subscription resuming after a cursor is told first (presence and typing are not replayed): the
   * indicators running now in the viewer's conversations (or in `conversationId`), by the rules of
   * `typingUsers`; and, for the whole stream, who among the viewer's contacts and fellow members they may
   * see online or away now, by the rules of `presenceOf`. One Redis read of every running indicator (up to
   * LIVE_TYPING_LIMIT), one membership read, one blocks check, one audience and one presence read.
   */
  async function liveState(actor: Actor, conversationId: string | null) {
    const viewerId = actor.viewer.userId;
    const wanted = conversationId?.toLowerCase() ?? null;
    const running = (await store.typingNow(LIVE_TYPING_LIMIT)).filter(
      (entry) => entry.userId !== viewerId && (wanted === null || entry.conversationId === wanted),
    );
    const conversationIds = [...new Set(running.map((entry) => entry.conversationId))];
    const memberships = conversationIds.length > 0 ? await membershipsOf(actor, conversationIds) : [];
    const mine = new Set(conversationIds.filter((_, index) => memberships[index]));
    const candidates = running.filter((entry) => mine.has(entry.conversationId));
    const typers = [...new Set(candidates.map((entry) => entry.userId))];
    const blocked = typers.length > 0 ? await deps.relations.blockedAmong(typers, actor.caller) : new Set();
    const typing = candidates
      .filter((entry) => !blocked.has(entry.userId))
      .map(({ conversationId: id, userId, expiresAt }) => ({
        conversationId: id,
        userId,
        expiresAt: new Date(expiresAt),
      }));
    if (wanted !== null) return { typing, present: [] };
    const audience = (await deps.relations.audiencesOf([viewerId])).get(viewerId) ?? [viewerId];
    const presence = await service.presenceOf(actor, audience.slice(0, LIVE_PRESENCE_LIMIT));
    const present = [...presence].flatMap(([userId, state]) =>
      state && state.status !== 'OFFLINE' ? [{ userId, status: state.status }] : [],
    );
    return { typing, present };
  }

  return { ...service, liveState };
}

export type PresenceService = ReturnType<typeof createPresenceService>;
