import type { Resolvers } from '../generated/resolvers-types.js';
import { conflict } from '@parley/kit';
import type { UsersContext } from '../context.js';
import { userEvents, type UserBlockedEvent } from '../events.js';
import { otherUser, requireViewerUser } from './viewer-helpers.js';

interface UserIdArgs {
  userId: string;
}

/**
 * addContact returns the profile (the target is visible: it refuses users who blocked the viewer). The
 * other three may act on a user who blocked the viewer, so they return only the id: their profile is
 * not the viewer's to read.
 */
export const contactMutationResolvers: Resolvers = {
  Mutation: {
    async addContact(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      const user = await otherUser(context, viewer.id, args.userId);
      if (await context.loaders.isBlockedByViewer.load(user.id)) {
        throw conflict('You blocked this user: unblock them first', { field: 'userId' });
      }
      await context.contacts.addContact(viewer.id, user.id);
      context.loaders.forgetRelations(user.id);
      return user;
    },

    async removeContact(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      const user = await otherUser(context, viewer.id, args.userId, true);
      await context.contacts.removeContact(viewer.id, user.id);
      context.loaders.forgetRelations(user.id);
      return user.id;
    },

    async blockUser(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      const user = await otherUser(context, viewer.id, args.userId, true);
      await context.contacts.block(viewer.id, user.id);
      context.loaders.forgetRelations(user.id);
      await context.events.publish(userEvents.blocked, {
        blockerId: viewer.id,
        blockedId: user.id,
      } satisfies UserBlockedEvent);
      return user.id;
    },

    async unblockUser(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      const user = await otherUser(context, viewer.id, args.userId, true);
      await context.contacts.unblock(viewer.id, user.id);
      context.loaders.forgetRelations(user.id);
      await context.events.publish(userEvents.unblocked, {
        blockerId: viewer.id,
        blockedId: user.id,
      } satisfies UserBlockedEvent);
      return user.id;
    },
  },
};
