import { isUuid, requireViewer } from '@parley/kit';
import { conversationNotFound } from '../conversation-service.js';
import type { ConversationsContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

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
    async realtimeCursor(_, __, context: ConversationsContext) {
      requireViewer(context);
      return context.log.head();
    },
  },
};
