import { askedIds, requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const MAX_VIEWER_RELATIONS = 1000;

/**
 * Internal (`@inaccessible`): the conversations subgraph asks, with the viewer's own token, before it
 * creates a DM or adds group members, and the presence subgraph, to learn whose presence the viewer may
 * see. Four queries for the whole list, whatever its length.
 */
export const viewerRelationResolvers: Resolvers = {
  Query: {
    async viewerRelations(_: unknown, args: { userIds: readonly string[] }, context: UsersContext) {
      const viewer = requireViewer(context);
      // Stored ids are lowercase, asked ones may not be; anything else would fail PostgreSQL's uuid cast.
      const ids = askedIds(args.userIds, 'userIds', MAX_VIEWER_RELATIONS);
      const others = ids.filter((id) => id !== viewer.userId);
      const none = new Set<string>();
      const [users, blocked, blockers, listingViewer] = await Promise.all([
        ids.length ? context.users.findByIds(ids) : [],
        others.length ? context.contacts.blockedAmong(viewer.userId, others) : none,
        others.length ? context.contacts.blockersAmong(viewer.userId, others) : none,
        others.length ? context.contacts.contactOwnersAmong(viewer.userId, others) : none,
      ]);
      const live = new Set(users.flatMap((user) => (user && user.deletedAt === null ? [user.id] : [])));
      return args.userIds.map((userId) => {
        const id = userId.toLowerCase();
        return {
          userId,
          exists: live.has(id),
          blockedByViewer: blocked.has(id),
          hasBlockedViewer: blockers.has(id),
          listsViewerAsContact: listingViewer.has(id),
        };
      });
    },
  },
};
