import {
  createMembershipReader,
  forbidden,
  isUuid,
  notFound,
  type Caller,
  type MembershipProjection,
  type MembershipRepair,
  type PresenceStatus,
  type PresenceStore,
  type RealtimeLog,
  type Viewer,
} from '@parley/kit';
import type { PresenceRecordStore } from './data/presence-record-store.js';
import { presenceEvents, type TypingPayload } from './events.js';
import type { RelationsClient } from './relations.js';

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

/** The presence subgraph's rules: who may see whose presence, heartbeats, typing, settings. */
export function createPresenceService(deps: PresenceServiceDeps) {
  const { store, records } = deps;

  /** Presence of users the viewer may see, with one Redis read and one PostgreSQL read for the whole list. */
  async function visiblePresence(userIds: readonly string[]): Promise<Map<string, Presence>> {
    const [live, durable] = await Promise.all([store.read(userIds), records.byUserIds(userIds)]);
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

  async function membershipOf(actor: Actor, conversationId: string) {
    if (!isUuid(conversationId)) return null;
    const reader = createMembershipReader({
      projection: deps.projection,
      repair: (ids) => deps.repairMembership(ids, actor.caller),
    });
    const [membership] = await reader.membershipsOf(actor.viewer.userId, [conversationId.toLowerCase()]);
    return membership ?? null;
  }

  async function publishTyping(payload: TypingPayload) {
    await deps.log.append([
      { id: `typing:${crypto.randomUUID()}`, topic: presenceEvents.typing, payload: { ...payload } },
    ]);
  }

  /** Ends the user's indicator, if one is running, and tells the members. Whether one was running. */
  async function endTyping(conversationId: string, userId: string): Promise<boolean> {
    const stopped = await store.stopTyping(conversationId, userId);
    if (stopped) await publishTyping({ conversationId, userId, typing: false, expiresAt: null });
    return stopped;
  }

  return {
    /**
     * Each user's presence as the viewer may see it: their own always; others' when the user lists the
     * viewer as a contact or they share a conversation, and neither blocked the other; null otherwise.
     */
    async presenceOf(actor: Actor, userIds: readonly string[]): Promise<Map<string, Presence | null>> {
      const ids = [...new Set(userIds.filter(isUuid).map((id) => id.toLowerCase()))];
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
        if (other) {
          const relation = (await deps.relations.relationsOf([other], actor.caller)).get(other);
          if (relation?.blocked) throw forbidden('You cannot type to a user you blocked or who blocked you');
        }
      }
      const { started, expiresAt } = await store.startTyping(id, actor.viewer.userId);
      const until = new Date(expiresAt);
      if (started) {
        await publishTyping({
          conversationId: id,
          userId: actor.viewer.userId,
          typing: true,
          expiresAt: until.toISOString(),
        });
      }
      return until;
    },

    async stopTyping(actor: Actor, conversationId: string): Promise<boolean> {
      if (!(await membershipOf(actor, conversationId))) throw conversationNotFound();
      return endTyping(conversationId.toLowerCase(), actor.viewer.userId);
    },

    endTyping,

    /** Members typing in a conversation of the viewer's (empty for one they are not in), the viewer excepted. */
    async typingUsers(actor: Actor, conversationId: string): Promise<string[]> {
      if (!(await membershipOf(actor, conversationId))) return [];
      const typing = await store.typingIn(conversationId.toLowerCase());
      return typing.map((entry) => entry.userId).filter((userId) => userId !== actor.viewer.userId);
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
}

export type PresenceService = ReturnType<typeof createPresenceService>;
