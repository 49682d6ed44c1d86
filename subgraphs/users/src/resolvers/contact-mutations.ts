import { requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import { userEvents, type UserBlockedEvent } from '../events.js';
import { otherUser, requireViewerUser } from './viewer-helpers.js';

interface UserIdArgs {
  userId: string;
}

export const contactMutationResolvers = {
  Mutation: {
    async addContact(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      const user = await otherUser(context, viewer.id, args.userId);
      await context.contacts.addContact(viewer.id, user.id);
      context.loaders.isContact.clear(user.id).prime(user.id, true);
      return user;
    },

    async removeContact(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      const user = await otherUser(context, viewer.id, args.userId, true);
      await context.contacts.removeContact(viewer.id, user.id);
      context.loaders.isContact.clear(user.id).prime(user.id, false);
      return user;
    },

    async blockUser(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = await requireViewerUser(context);
      // Blocking someone who already blocked you must work, and must not reveal their block.
      const user = await otherUser(context, viewer.id, args.userId, true);
      await context.contacts.block(viewer.id, user.id);
      context.loaders.isBlockedByViewer.clear(user.id).prime(user.id, true);
      context.loaders.isContact.clear(user.id).prime(user.id, false);
      await context.events.publish(userEvents.blocked, {
        blockerId: viewer.id,
        blockedId: user.id,
      } satisfies UserBlockedEvent);
      return user;
    },

    async unblockUser(_: unknown, args: UserIdArgs, context: UsersContext) {
      const viewer = requireViewer(context);
      await requireViewerUser(context);
      const user = await otherUser(context, viewer.userId, args.userId, true);
      await context.contacts.unblock(viewer.userId, user.id);
      context.loaders.isBlockedByViewer.clear(user.id).prime(user.id, false);
      await context.events.publish(userEvents.unblocked, {
        blockerId: viewer.userId,
        blockedId: user.id,
      } satisfies UserBlockedEvent);
      return user;
    },
  },
};
