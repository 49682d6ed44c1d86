import { requireViewer } from '@parley/kit';
import type { PresenceContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

/** An entity another subgraph owns (User, Viewer, Conversation): this one only knows its id. */
export interface EntityReference {
  id: string;
}

export const userResolvers: Resolvers = {
  User: {
    __resolveReference: (reference: { id?: unknown }) =>
      typeof reference.id === 'string' ? { id: reference.id } : null,
    async presence(user, _args, context: PresenceContext) {
      requireViewer(context);
      return context.loaders.presence.load(user.id);
    },
  },
};
