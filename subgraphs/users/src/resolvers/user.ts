import { requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import type { User } from '../data/user-store.js';

export const userResolvers = {
  User: {
    /**
     * Other subgraphs reference users they store ids of (senders, members): a deleted account still
     * resolves, as a placeholder, so old messages keep an author. Batched through the request's loader.
     */
    __resolveReference(reference: { id: string }, context: UsersContext) {
      requireViewer(context);
      return context.loaders.userById.load(reference.id);
    },

    deleted: (user: User) => user.deletedAt !== null,
    isContact: (user: User, _: unknown, context: UsersContext) => context.loaders.isContact.load(user.id),
    isBlockedByViewer: (user: User, _: unknown, context: UsersContext) =>
      context.loaders.isBlockedByViewer.load(user.id),
  },
};
