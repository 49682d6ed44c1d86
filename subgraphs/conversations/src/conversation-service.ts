import { badUserInput, forbidden, isUuid, notFound, type Logger, type Viewer } from '@parley/kit';
import type { UserRelationsClient } from '@parley/users/client';
import { directKeyOf, roleRank, type ConversationStore, type MemberRole } from './data/conversation-store.js';
import { isUniqueViolation, type Transaction } from './data/database.js';
import { addOutboxEvent, type OutboxRelay } from './data/outbox.js';
import { conversationEvents } from './events.js';

/** Who is acting: the signed-in viewer and what it takes to ask the users service on their behalf. */
export interface Actor {
  viewer: Viewer;
  authorization: string;
  requestId: string;
  logger: Logger;
}

export interface GroupDetails {
  title?: string;
  description?: string | null;
  avatarFileId?: string | null;
}

export interface MemberSettings {
  mutedUntil?: Date | null;
  archived?: boolean;
  pinned?: boolean;
}

async function addMemberEvents(tx: Transaction, conversationId: string, userIds: string[], byUserId: string) {
  for (const userId of userIds) {
    await addOutboxEvent(
      tx,
      conversationEvents.memberAdded,
      { conversationId, userId, byUserId },
      { membershipChanged: true },
    );
  }
}

/** The one answer for an unknown id and for a conversation the viewer is not in: strangers learn nothing. */
export const conversationNotFound = () => notFound('Conversation not found');

/**
 * The rules of conversations: who may do what, checked inside the transaction that does it (the
 * conversation row is locked, so concurrent changes see each other's results). Each change writes its
 * events to the outbox; after commit the membership projection is rewritten before the call returns,
 * so a removed member has lost access everywhere by then.
 */
export function createConversationService(deps: {
  conversations: ConversationStore;
  relay: OutboxRelay;
  users: UserRelationsClient;
  maxGroupMembers: number;
}) {
  const { conversations } = deps;

  /** After commit: projection first (access), then events. A failure here is retried by the relay's timer. */
  async function afterCommit(actor: Actor, conversationId: string | null) {
    try {
      if (conversationId) await deps.relay.syncProjection(conversationId);
      await deps.relay.flush();
    } catch (error) {
      actor.logger.warn({ err: error, conversationId }, 'committed; events and projection left to the relay');
    }
  }

  /** NOT_FOUND for unknown users and users who blocked the actor; FORBIDDEN for users the actor blocked. */
  async function requireReachableUsers(actor: Actor, userIds: string[]) {
    for (const userId of userIds) if (!isUuid(userId)) throw notFound('User not found', { userId });
    if (userIds.length === 0) return;
    const relations = await deps.users(userIds, actor);
    for (const userId of userIds) {
      const relation = relations.get(userId);
      if (!relation?.exists || relation.hasBlockedViewer) throw notFound('User not found', { userId });
      if (relation.blockedByViewer) throw forbidden('You blocked this user; unblock them first', { userId });
    }
  }

  /**
   * The other members of a conversation who are in a block relation with the actor (either blocked the
   * other): the actor's receipts are not sent to them. NOT_FOUND when the actor is not a member.
   */
  async function membersInBlockRelation(actor: Actor, conversationId: string) {
    const members = (await conversations.markers([conversationId])).get(conversationId) ?? [];
    if (!members.some((member) => member.userId === actor.viewer.userId)) throw conversationNotFound();
    const others = members.map((member) => member.userId).filter((id) => id !== actor.viewer.userId);
    if (others.length === 0) return [];
    const relations = await deps.users(others, actor);
    return others.filter((id) => {
      const relation = relations.get(id);
      return relation !== undefined && (relation.blockedByViewer || relation.hasBlockedViewer);
    });
  }

  /** Runs `change` with the conversation locked and the actor's role, or NOT_FOUND for non-members. */
  async function changeAsMember<T>(
    actor: Actor,
    conversationId: string,
    change: (
      tx: Transaction,
      conversation: { id: string; kind: 'DIRECT' | 'GROUP'; memberCount: number; actorRole: MemberRole },
    ) => Promise<T>,
    options = { membershipChanges: true },
  ): Promise<T> {
    if (!isUuid(conversationId)) throw conversationNotFound();
    const result = await conversations.transaction(async (tx) => {
      const conversation = await conversations.lockForMember(tx, conversationId, actor.viewer.userId);
      if (!conversation) throw conversationNotFound();
      return change(tx, conversation);
    });
    await afterCommit(actor, options.membershipChanges ? conversationId : null);
    return result;
  }

  /** The actor's view of the conversation, without locking: checks made before asking other services. */
  async function viewAsMember(actor: Actor, conversationId: string) {
    const view = isUuid(conversationId)
      ? (await conversations.viewsForMember(actor.viewer.userId, [conversationId])).get(conversationId)
      : undefined;
    if (!view) throw conversationNotFound();
    return view;
  }

  function requireGroup(kind: 'DIRECT' | 'GROUP') {
    if (kind !== 'GROUP') throw forbidden('Direct conversations have no such setting');
  }
  function requireAdmin(role: MemberRole) {
    if (roleRank(role) > roleRank('ADMIN')) throw forbidden('Only admins and the owner can do this');
  }
  function requireOwner(role: MemberRole) {
    if (role !== 'OWNER') throw forbidden('Only the owner can do this');
  }

  async function requireTarget(tx: Transaction, conversationId: string, userId: string) {
    const target = isUuid(userId) ? await conversations.findMember(tx, conversationId, userId) : null;
    if (!target) throw notFound('Not a member of this conversation', { userId });
    return target;
  }

  return {
    async createDirect(actor: Actor, otherUserId: string): Promise<string> {
      const viewerId = actor.viewer.userId;
      if (otherUserId.toLowerCase() === viewerId) {
        throw badUserInput('A direct conversation needs another user', { field: 'userId' });
      }
      const otherId = otherUserId.toLowerCase();
      await requireReachableUsers(actor, [otherId]);
      const directKey = directKeyOf(viewerId, otherId);
      const existing = await conversations.findDirectId(directKey);
      if (existing) return existing;
      try {
        const id = await conversations.transaction(async (tx) => {
          const conversation = await tx.conversation.create({
            data: {
              kind: 'DIRECT',
              directKey,
              createdById: viewerId,
              memberCount: 2,
              members: {
                create: [
                  { userId: viewerId, role: 'MEMBER', createdIt: true },
                  { userId: otherId, role: 'MEMBER' },
                ],
              },
            },
          });
          await addMemberEvents(tx, conversation.id, [viewerId, otherId], viewerId);
          return conversation.id;
        });
        await afterCommit(actor, id);
        return id;
      } catch (error) {
        // A concurrent call created it first: the unique direct key makes it the one conversation.
        if (!isUniqueViolation(error)) throw error;
        const winner = await conversations.findDirectId(directKey);
        if (!winner) throw error;
        return winner;
      }
    },

    async createGroup(actor: Actor, details: Required<GroupDetails>, memberIds: string[]): Promise<string> {
      const viewerId = actor.viewer.userId;
      const others = [...new Set(memberIds.map((id) => id.toLowerCase()))].filter((id) => id !== viewerId);
      if (others.length + 1 > deps.maxGroupMembers) {
        throw badUserInput(`A group has at most ${deps.maxGroupMembers} members`, {
          field: 'memberIds',
          limit: deps.maxGroupMembers,
        });
      }
      await requireReachableUsers(actor, others);
      const id = await conversations.transaction(async (tx) => {
        const conversation = await tx.conversation.create({
          data: {
            kind: 'GROUP',
            ...details,
            createdById: viewerId,
            memberCount: others.length + 1,
            members: {
              create: [
                { userId: viewerId, role: 'OWNER', createdIt: true },
                ...others.map((userId) => ({ userId, role: 'MEMBER' as const })),
              ],
            },
          },
        });
        await addMemberEvents(tx, conversation.id, [viewerId, ...others], viewerId);
        return conversation.id;
      });
      await afterCommit(actor, id);
      return id;
    },

    updateGroup: (actor: Actor, conversationId: string, details: GroupDetails) =>
      changeAsMember(
        actor,
        conversationId,
        async (tx, conversation) => {
          requireGroup(conversation.kind);
          requireAdmin(conversation.actorRole);
          await tx.conversation.update({ where: { id: conversationId }, data: details });
          await addOutboxEvent(tx, conversationEvents.updated, {
            conversationId,
            byUserId: actor.viewer.userId,
          });
        },
        { membershipChanges: false },
      ),

    async addMembers(actor: Actor, conversationId: string, userIds: string[]) {
      const viewerId = actor.viewer.userId;
      // Who may add is known before asking the users service: strangers and members learn nothing of users.
      const view = await viewAsMember(actor, conversationId);
      requireGroup(view.kind);
      requireAdmin(view.viewer.role);
      const candidates = [...new Set(userIds.map((id) => id.toLowerCase()))];
      await requireReachableUsers(actor, candidates);
      await changeAsMember(actor, conversationId, async (tx, conversation) => {
        requireGroup(conversation.kind);
        requireAdmin(conversation.actorRole);
        const present = await tx.conversationMember.findMany({
          where: { conversationId, userId: { in: candidates } },
          select: { userId: true },
        });
        const presentIds = new Set(present.map((member) => member.userId));
        const added = candidates.filter((id) => !presentIds.has(id));
        if (added.length === 0) return;
        if (conversation.memberCount + added.length > deps.maxGroupMembers) {
          throw badUserInput(`A group has at most ${deps.maxGroupMembers} members`, {
            field: 'userIds',
            limit: deps.maxGroupMembers,
          });
        }
        await tx.conversationMember.createMany({
          data: added.map((userId) => ({ conversationId, userId, role: 'MEMBER' as const })),
        });
        await conversations.bumpMembership(tx, conversationId, added.length);
        await addMemberEvents(tx, conversationId, added, viewerId);
      });
    },

    removeMember: (actor: Actor, conversationId: string, userId: string) =>
      changeAsMember(actor, conversationId, async (tx, conversation) => {
        requireGroup(conversation.kind);
        requireAdmin(conversation.actorRole);
        if (userId.toLowerCase() === actor.viewer.userId) {
          throw badUserInput('Use leaveConversation to leave', { field: 'userId' });
        }
        const target = await requireTarget(tx, conversationId, userId.toLowerCase());
        // Admins remove members; the owner removes admins too; nobody removes the owner.
        if (roleRank(target.role) <= roleRank(conversation.actorRole)) {
          throw forbidden(
            target.role === 'OWNER' ? 'Nobody can remove the owner' : 'Only the owner can remove an admin',
          );
        }
        await tx.conversationMember.delete({
          where: { conversationId_userId: { conversationId, userId: target.userId } },
        });
        await conversations.bumpMembership(tx, conversationId, -1);
        await addOutboxEvent(
          tx,
          conversationEvents.memberRemoved,
          { conversationId, userId: target.userId, byUserId: actor.viewer.userId },
          { membershipChanged: true },
        );
        return target.userId;
      }),

    setMemberRole: (actor: Actor, conversationId: string, userId: string, role: 'ADMIN' | 'MEMBER') =>
      changeAsMember(actor, conversationId, async (tx, conversation) => {
        requireGroup(conversation.kind);
        requireOwner(conversation.actorRole);
        const target = await requireTarget(tx, conversationId, userId.toLowerCase());
        if (target.role === 'OWNER') throw forbidden('Transfer ownership to change the owner');
        if (target.role === role) return target;
        const updated = await tx.conversationMember.update({
          where: { conversationId_userId: { conversationId, userId: target.userId } },
          data: { role },
        });
        await conversations.bumpMembership(tx, conversationId);
        await addOutboxEvent(
          tx,
          conversationEvents.roleChanged,
          { conversationId, userId: target.userId, role, byUserId: actor.viewer.userId },
          { membershipChanged: true },
        );
        return updated;
      }),

    transferOwnership: (actor: Actor, conversationId: string, userId: string) =>
      changeAsMember(actor, conversationId, async (tx, conversation) => {
        requireGroup(conversation.kind);
        requireOwner(conversation.actorRole);
        const viewerId = actor.viewer.userId;
        const target = await requireTarget(tx, conversationId, userId.toLowerCase());
        if (target.userId === viewerId) return;
        const changes = [
          { userId: target.userId, role: 'OWNER' as const },
          { userId: viewerId, role: 'ADMIN' as const },
        ];
        for (const { userId: memberId, role } of changes) {
          await tx.conversationMember.update({
            where: { conversationId_userId: { conversationId, userId: memberId } },
            data: { role },
          });
          await addOutboxEvent(
            tx,
            conversationEvents.roleChanged,
            { conversationId, userId: memberId, role, byUserId: viewerId },
            { membershipChanged: true },
          );
        }
        await conversations.bumpMembership(tx, conversationId);
      }),

    leave: (actor: Actor, conversationId: string) =>
      changeAsMember(actor, conversationId, async (tx, conversation) => {
        if (conversation.kind === 'DIRECT') throw forbidden('You cannot leave a direct conversation');
        if (conversation.actorRole === 'OWNER') {
          throw forbidden('Transfer ownership before leaving (or delete the group)');
        }
        const userId = actor.viewer.userId;
        await tx.conversationMember.delete({ where: { conversationId_userId: { conversationId, userId } } });
        await conversations.bumpMembership(tx, conversationId, -1);
        await addOutboxEvent(
          tx,
          conversationEvents.memberRemoved,
          { conversationId, userId, byUserId: userId },
          { membershipChanged: true },
        );
      }),

    delete: (actor: Actor, conversationId: string) =>
      changeAsMember(actor, conversationId, async (tx, conversation) => {
        if (conversation.kind === 'DIRECT') throw forbidden('Direct conversations cannot be deleted');
        requireOwner(conversation.actorRole);
        const members = await tx.conversationMember.findMany({
          where: { conversationId },
          select: { userId: true },
        });
        await tx.conversation.delete({ where: { id: conversationId } });
        await addOutboxEvent(
          tx,
          conversationEvents.deleted,
          {
            conversationId,
            byUserId: actor.viewer.userId,
            memberIds: members.map((member) => member.userId),
          },
          { membershipChanged: true },
        );
      }),

    /** The viewer's own row only: no conversation lock, so it never waits on others' changes or sends. */
    async updateSettings(actor: Actor, conversationId: string, settings: MemberSettings) {
      if (!isUuid(conversationId)) throw conversationNotFound();
      const now = new Date();
      const updated = await conversations.updateMemberSettings(conversationId, actor.viewer.userId, {
        ...(settings.mutedUntil !== undefined && { mutedUntil: settings.mutedUntil }),
        ...(settings.archived !== undefined && { archivedAt: settings.archived ? now : null }),
        ...(settings.pinned !== undefined && { pinnedAt: settings.pinned ? now : null }),
      });
      if (!updated) throw conversationNotFound();
    },

    /**
     * Moves the viewer's read or delivery marker (receipts). Frequent (every message delivered and read),
     * so it locks only the viewer's member row, never the conversation.
     */
    async moveMarker(actor: Actor, marker: 'read' | 'delivered', conversationId: string, upToSeq: number) {
      if (!isUuid(conversationId)) throw conversationNotFound();
      const userId = actor.viewer.userId;
      // Asked before the transaction: no row stays locked while the users service answers.
      const excludedUserIds = await membersInBlockRelation(actor, conversationId);
      const moved = await conversations.transaction(async (tx) => {
        const result = await conversations.moveMarker(tx, marker, conversationId, userId, upToSeq);
        if (!result) throw conversationNotFound();
        if (result.moved && marker === 'read') {
          await addOutboxEvent(tx, conversationEvents.read, {
            conversationId,
            userId,
            readSeq: result.seq,
            excludedUserIds,
          });
        }
        if (result.moved && marker === 'delivered') {
          await addOutboxEvent(tx, conversationEvents.delivered, {
            conversationId,
            userId,
            deliveredSeq: result.seq,
            excludedUserIds,
          });
        }
        return result.moved;
      });
      if (moved) await afterCommit(actor, null);
    },
  };
}

export type ConversationService = ReturnType<typeof createConversationService>;
