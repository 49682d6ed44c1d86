import type { Resolvers } from '../generated/resolvers-types.js';
import { parseInput, requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import { searchInput } from '../validation.js';
import { userPage } from './user-page.js';
import { requireViewerUser, visibleUser } from './viewer-helpers.js';

export const queryResolvers: Resolvers = {
  Query: {
    async me(_: unknown, __: unknown, context: UsersContext) {
      const user = await requireViewerUser(context);
      return { id: user.id };
    },

    async user(_: unknown, args: { id: string }, context: UsersContext) {
      const viewer = requireViewer(context);
      return visibleUser(context, viewer.userId, args.id);
    },

    async searchUsers(
      _: unknown,
      args: { query: string; first?: number | null; after?: string | null },
      context: UsersContext,
    ) {
      const viewer = await requireViewerUser(context);
      const { query } = parseInput(searchInput, { query: args.query });
      return userPage(args, 20, context, (limit, afterUsername) =>
        context.users.search({ viewerId: viewer.id, prefix: query, limit, afterUsername }),
      );
    },
  },
};
