import { actorOf, type PresenceContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const conversationResolvers: Resolvers = {
  Conversation: {
    // The conversations subgraph owns the entity; membership is checked by the field.
    __resolveReference: (reference: { id?: unknown }) =>
      typeof reference.id === 'string' ? { id: reference.id } : null,
    async typingUsers(conversation, _args, context: PresenceContext) {
      actorOf(context); // UNAUTHENTICATED without a viewer
      const userIds = await context.loaders.typingUsers.load(conversation.id);
      return userIds.map((id) => ({ id }));
    },
  },
};
