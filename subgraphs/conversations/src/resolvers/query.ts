import { askedIds, isUuid, requireService, requireViewer } from '@parley/kit';
import { conversationNotFound } from '../conversation-service.js';
import type { ConversationsContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const MAX_USER_IDS = 1000;

const storedIds = (userIds: readonly string[]) => askedIds(userIds, 'userIds', MAX_USER_IDS);

export const queryResolvers: Resolvers = {
  Query: {
    async conversation(_, { id }, context: ConversationsContext) {
      requireViewer(context);
      const view = isUuid(id) ? await context.loaders.view.load(id.toLowerCase()) : null;
      if (!view) throw conversationNotFound();
      return view;
    },
    viewerConversationIds: (_, __, context: ConversationsContext) =>
      context.conversations.idsForMember(requireViewer(context).userId),
    /** For the presence subgraph's read path: whose presence the viewer may see through a conversation. */
    async viewerCoMemberIds(_, { userIds }, context: ConversationsContext) {
      const viewer = requireViewer(context);
      const ids = storedIds(userIds);
      if (ids.length === 0) return [];
      const coMembers = await context.conversations.coMembersAmong(viewer.userId, ids);
      return ids.filter((id) => coMembers.has(id));
    },
    /**
     * Service-only, with no user token at hand: the presence subgraph's sweeper (users gone offline). Fellow
     * members of a profile change are found in-process (fellow-member-updates.ts), not through this field.
     */
    async coMembersOf(_, { userIds, participatedOnly }, context: ConversationsContext) {
      await requireService(context.authorization, context.serviceAuth);
      const ids = storedIds(userIds);
      const coMembers = ids.length
        ? await context.conversations.coMembersOf(ids, { participatedOnly })
        : new Map<string, string[]>();
      return userIds.map((userId) => ({ userId, memberIds: coMembers.get(userId.toLowerCase()) ?? [] }));
    },
    async realtimeCursor(_, __, context: ConversationsContext) {
      requireViewer(context);
      return context.log.head();
    },
  },
};
