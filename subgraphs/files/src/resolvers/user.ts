import { requireViewer } from '@parley/kit';
import type { FilesContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

/** A user as the users subgraph passes it here: its id, and the avatar it names (`@requires`). */
export interface UserReference {
  id: string;
  avatarFileId?: string | null;
}

export const userResolvers: Resolvers = {
  User: {
    __resolveReference: (reference: { id?: unknown; avatarFileId?: unknown }) =>
      typeof reference.id === 'string'
        ? {
            id: reference.id,
            avatarFileId: typeof reference.avatarFileId === 'string' ? reference.avatarFileId : null,
          }
        : null,
    async avatar(user: UserReference, _args, context: FilesContext) {
      requireViewer(context);
      return context.loaders.avatar.load({ id: user.id, avatarFileId: user.avatarFileId ?? null });
    },
  },
};
