import { actorOf, type PresenceContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const queryResolvers: Resolvers = {
  Query: {
    liveStateOf: (_, args, context: PresenceContext) =>
      context.service.liveState(actorOf(context), args.conversationId ?? null),
  },
};
