import type { Resolvers } from '../generated/resolvers-types.js';
import { requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import type { User } from '../data/user-store.js';

export const userResolvers: Resolvers = {
  User: {
    /**
     * Other subgraphs reference users they store ids of (senders, members): a deleted account still
     * resolves, as a placeholder, so old messages keep an author. Batched through the request's loader.
     */
    __resolveReference(reference: { id?: unknown }, context: UsersContext) {
      requireViewer(context);
      // Representations are client-shaped JSON: an id that is not a string resolves to nothing.
      return typeof reference.id === 'string' ? context.loaders.userById.load(reference.id) : null;
    },

    deleted: (user: User) => user.deletedAt !== null,
    isContact: (user: User, _: unknown, context: UsersContext) => context.loaders.isContact.load(user.id),
    isBlockedByViewer: (user: User, _: unknown, context: UsersContext) =>
      context.loaders.isBlockedByViewer.load(user.id),
  },
};
