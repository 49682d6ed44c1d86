import { decodeCursor, forwardConnection, pageSize, parseInput, requireViewer } from '@parley/kit';
import { z } from 'zod';
import type { UsersContext } from '../context.js';
import { searchInput } from '../validation.js';
import { requireViewerUser, visibleUser } from './viewer-helpers.js';

export const usernameCursor = z.object({ username: z.string() });

export const queryResolvers = {
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
      const limit = pageSize(args.first, 20);
      const after = decodeCursor(args.after, usernameCursor);
      const rows = await context.users.search({
        viewerId: viewer.id,
        prefix: query,
        limit,
        afterUsername: after?.username ?? null,
      });
      for (const row of rows) context.loaders.userById.prime(row.id, row);
      return forwardConnection(
        rows,
        limit,
        after !== null,
        (row) => ({ username: row.username }),
        (row) => row,
      );
    },
  },
};
