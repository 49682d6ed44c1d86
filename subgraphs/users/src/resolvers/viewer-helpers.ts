import { badUserInput, notFound, requireViewer } from '@parley/kit';
import { accountDeleted } from '../auth/auth-errors.js';
import type { UsersContext } from '../context.js';
import type { User } from '../data/user-store.js';

/** The viewer's own, live account; a token of a deleted account is refused. */
export async function requireViewerUser(context: UsersContext): Promise<User & { email: string }> {
  const viewer = requireViewer(context);
  const user = await context.loaders.userById.load(viewer.userId);
  // Only a deleted account's tombstone has no email.
  if (!user || user.deletedAt || user.email === null) throw accountDeleted();
  return { ...user, email: user.email };
}

/**
 * A user the viewer may look at or act on. Unknown, deleted and (unless `evenIfBlockedBy`) users who
 * blocked the viewer all answer the same NOT_FOUND, so a block is never revealed.
 */
export async function visibleUser(
  context: UsersContext,
  viewerId: string,
  userId: string,
  options: { field: string; evenIfBlockedBy?: boolean } = { field: 'id' },
): Promise<User> {
  const user = await context.loaders.userById.load(userId);
  const notFoundError = () => notFound('User not found', { field: options.field });
  if (!user || user.deletedAt !== null) throw notFoundError();
  const blockedByThem =
    user.id !== viewerId &&
    !options.evenIfBlockedBy &&
    (await context.loaders.hasBlockedViewer.load(user.id));
  if (blockedByThem) throw notFoundError();
  return user;
}

/** Contacts and blocks are about other people. */
export async function otherUser(
  context: UsersContext,
  viewerId: string,
  userId: string,
  evenIfBlockedBy = false,
) {
  const user = await visibleUser(context, viewerId, userId, { field: 'userId', evenIfBlockedBy });
  // Compared after loading: the id as typed may differ in case from the stored one.
  if (user.id === viewerId) throw badUserInput('Cannot do this to yourself', { field: 'userId' });
  return user;
}
