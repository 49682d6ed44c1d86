import type { Resolvers } from '../generated/resolvers-types.js';
import { parseInput } from '@parley/kit';
import { accountDeleted } from '../auth/auth-errors.js';

import type { UsersContext } from '../context.js';
import { updateProfileInput } from '../validation.js';
import { requireViewerUser } from './viewer-helpers.js';

export const profileMutationResolvers: Resolvers = {
  Mutation: {
    async updateProfile(_: unknown, args: { input: unknown }, context: UsersContext) {
      const user = await requireViewerUser(context);
      const patch = parseInput(updateProfileInput, args.input);
      const updated = await context.users.updateProfile(user.id, patch);
      if (!updated) throw accountDeleted();
      context.loaders.userById.clear(user.id).prime(user.id, updated);
      // Committed: the `users.updated` it recorded goes out now; a failure is left to the relay's timer.
      await context.relay.flush().catch((error: unknown) => {
        context.logger.warn({ err: error }, 'profile updated; its event is left to the relay');
      });
      return updated;
    },
  },
};
