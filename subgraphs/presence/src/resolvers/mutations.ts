import { actorOf, type PresenceContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const mutationResolvers: Resolvers = {
  Mutation: {
    heartbeat: (_, args, context: PresenceContext) =>
      context.service.heartbeat(actorOf(context), args.active),
    startTyping: (_, args, context: PresenceContext) =>
      context.service.startTyping(actorOf(context), args.conversationId),
    stopTyping: (_, args, context: PresenceContext) =>
      context.service.stopTyping(actorOf(context), args.conversationId),
    updatePresenceSettings: (_, args, context: PresenceContext) =>
      context.service.updateSettings(actorOf(context), args.hideLastSeen),
  },
};
