import { actorOf, type MessagesContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const mutationResolvers: Resolvers = {
  Mutation: {
    sendMessage: (_, args, context: MessagesContext) => context.service.send(actorOf(context), args.input),
    editMessage: (_, args, context: MessagesContext) => context.service.edit(actorOf(context), args.input),
    deleteMessage: (_, args, context: MessagesContext) => context.service.delete(actorOf(context), args.id),
    addReaction: (_, args, context: MessagesContext) => context.service.react(actorOf(context), args, true),
    removeReaction: (_, args, context: MessagesContext) =>
      context.service.react(actorOf(context), args, false),
  },
};
