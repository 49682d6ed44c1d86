import type { Resolvers } from '../generated/resolvers-types.js';
import { conflict } from '@parley/kit';
import type { UsersContext } from '../context.js';
import { userEvents } from '../events.js';
import { otherUser, requireViewerUser } from './viewer-helpers.js';

interface UserIdArgs {
  userId: string;
}

/**
 * Changes the viewer's relation to a user (who may have blocked the viewer) and forgets this request's
 * cached relations; publishes `topic` with the pair once stored. Returns the user's id.
 */
async function changeRelation(
  context: UsersContext,
  userIdArg: string,
  change: (viewerId: string, userId: string) => Promise<unknown>,
  topic?: typeof userEvents.blocked | typeof userEvents.unblocked,
) {
  const viewer = await requireViewerUser(context);
  const user = await otherUser(context, viewer.id, userIdArg, true);
  await change(viewer.id, user.id);
  context.loaders.forgetRelations(user.id);
  if (topic) {
    await context.events.publish(topic, { blockerId: viewer.id, blockedId: user.id });
  }
  return user.id;
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

    removeContact: (_: unknown, args: UserIdArgs, context: UsersContext) =>
      changeRelation(context, args.userId, (viewerId, userId) =>
        context.contacts.removeContact(viewerId, userId),
      ),
    blockUser: (_: unknown, args: UserIdArgs, context: UsersContext) =>
      changeRelation(
        context,
        args.userId,
        (viewerId, userId) => context.contacts.block(viewerId, userId),
        userEvents.blocked,
      ),
    unblockUser: (_: unknown, args: UserIdArgs, context: UsersContext) =>
      changeRelation(
        context,
        args.userId,
        (viewerId, userId) => context.contacts.unblock(viewerId, userId),
        userEvents.unblocked,
      ),
  },
};
