import { decodeCursor, forwardConnection, pageSize, requireViewer } from '@parley/kit';
import { z } from 'zod';
import type { ConversationsContext } from '../context.js';
import { roleRank, type ConversationView } from '../data/conversation-store.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { markersShown } from './message.js';

const memberCursor = z.object({ r: z.number().int().min(0).max(2), j: z.number().int(), u: z.uuid() });

export const conversationResolvers: Resolvers = {
  Conversation: {
    /** Other subgraphs (and the router) resolve a conversation only for its members; null otherwise. */
    __resolveReference(reference: { id?: unknown }, context: ConversationsContext) {
      requireViewer(context);
      return typeof reference.id === 'string' ? context.loaders.view.load(reference.id) : null;
    },
    lastMessage: (conversation: ConversationView) =>
      conversation.lastMessageId ? { id: conversation.lastMessageId } : null,
    async members(conversation: ConversationView, args, context: ConversationsContext) {
      const limit = pageSize(args.first, 50);
      const after = decodeCursor(args.after, memberCursor);
      const rows = after
        ? await context.conversations.listMembers(conversation.id, limit, {
            rank: after.r,
            joinedAt: new Date(after.j),
            userId: after.u,
          })
        : await context.loaders.firstMembers.load({ conversationId: conversation.id, limit });
      return forwardConnection(
        rows,
        limit,
        after !== null,
        (member) => ({ r: roleRank(member.role), j: member.joinedAt.getTime(), u: member.userId }),
        (member) => member,
      );
    },
    async peer(conversation: ConversationView, _, context: ConversationsContext) {
      if (conversation.kind !== 'DIRECT') return null;
      const peerId = await context.loaders.peer.load(conversation.id);
      return peerId ? { id: peerId } : null;
    },
    viewerRole: (conversation: ConversationView) => conversation.viewer.role,
    lastReadSeq: (conversation: ConversationView) => conversation.viewer.readSeq,
    unreadCount: (conversation: ConversationView) =>
      Math.max(conversation.lastSeq - conversation.viewer.readSeq, 0),
    mentionCount: (conversation: ConversationView) => conversation.viewer.mentionCount,
    mutedUntil: (conversation: ConversationView) => conversation.viewer.mutedUntil,
    isMuted: (conversation: ConversationView) =>
      conversation.viewer.mutedUntil !== null && conversation.viewer.mutedUntil.getTime() > Date.now(),
    isArchived: (conversation: ConversationView) => conversation.viewer.archivedAt !== null,
    isPinned: (conversation: ConversationView) => conversation.viewer.pinnedAt !== null,
  },
  ConversationMember: {
    user: (member) => ({ id: member.userId }),
    // A member in a block relation with the viewer shows no receipts: their markers read as 0.
    lastReadSeq: async (member, _, context: ConversationsContext) =>
      (await markersShown(member.userId, context)) ? member.readSeq : 0,
    lastDeliveredSeq: async (member, _, context: ConversationsContext) =>
      (await markersShown(member.userId, context)) ? member.deliveredSeq : 0,
  },
};
