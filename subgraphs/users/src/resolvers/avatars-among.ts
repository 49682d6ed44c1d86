import { askedIds, requireService } from '@parley/kit';
import type { UsersContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const MAX_AVATAR_FILE_IDS = 1000;

/**
 * Internal and service-only: the files subgraph's cleaner asks, with no user behind the call, which of the
 * files it is about to delete (no message carries them any more) are avatars. One query for the list.
 */
export const avatarsAmongResolvers: Resolvers = {
  Query: {
    async avatarsAmong(_: unknown, args: { fileIds: readonly string[] }, context: UsersContext) {
      await requireService(context.authorization, context.serviceAuth);
      const ids = askedIds(args.fileIds, 'fileIds', MAX_AVATAR_FILE_IDS);
      const users = ids.length ? await context.users.withAvatarAmong(ids) : [];
      return users.flatMap(({ id, avatarFileId }) =>
        avatarFileId ? [{ userId: id, fileId: avatarFileId }] : [],
      );
    },
  },
};
