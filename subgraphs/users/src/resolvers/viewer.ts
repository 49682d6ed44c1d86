import type { Resolvers } from '../generated/resolvers-types.js';
import { requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import { userPage, type PageArgs } from './user-page.js';
import { requireViewerUser } from './viewer-helpers.js';

export interface ViewerParent {
  id: string;
}

export const viewerResolvers: Resolvers = {
  Viewer: {
    /** Another subgraph may only resolve the viewer's own Viewer entity. */
    __resolveReference(reference: ViewerParent, context: UsersContext) {
      const viewer = requireViewer(context);
      return reference.id === viewer.userId ? { id: viewer.userId } : null;
    },
    user: (_: ViewerParent, __: unknown, context: UsersContext) => requireViewerUser(context),
    email: async (_: ViewerParent, __: unknown, context: UsersContext) =>
      (await requireViewerUser(context)).email,
    async sessions(_: ViewerParent, __: unknown, context: UsersContext) {
      const user = await requireViewerUser(context);
      return context.sessions.listActive(user.id);
    },
    async contacts(_: ViewerParent, args: PageArgs, context: UsersContext) {
      const user = await requireViewerUser(context);
      return userPage(args, 50, context, (limit, after) =>
        context.contacts.listContacts(user.id, limit, after),
      );
    },
    async blockedUsers(_: ViewerParent, args: PageArgs, context: UsersContext) {
      const user = await requireViewerUser(context);
      return userPage(args, 50, context, (limit, after) =>
        context.contacts.listBlocked(user.id, limit, after),
      );
    },
    async devices(_: ViewerParent, __: unknown, context: UsersContext) {
      const user = await requireViewerUser(context);
      return context.devices.list(user.id);
    },
    async dataExport(_: ViewerParent, __: unknown, context: UsersContext) {
      const user = await requireViewerUser(context);
      return context.users.exportData(user.id);
    },
  },
};
