import type { Resolvers } from '../generated/resolvers-types.js';
import { badUserInput, conflict, notFound, parseInput } from '@parley/kit';
import type { UsersContext } from '../context.js';
import { uniqueViolationField } from '../data/database.js';
import { MAX_DEVICES_PER_USER } from '../data/device-store.js';
import { registerDeviceInput } from '../validation.js';
import { requireViewerUser } from './viewer-helpers.js';

export const deviceMutationResolvers: Resolvers = {
  Mutation: {
    async registerDevice(_: unknown, args: { input: unknown }, context: UsersContext) {
      const user = await requireViewerUser(context);
      const input = parseInput(registerDeviceInput, args.input);
      if ((await context.devices.count(user.id)) >= MAX_DEVICES_PER_USER) {
        throw badUserInput(`At most ${MAX_DEVICES_PER_USER} devices per account`, { field: 'input' });
      }
      try {
        return await context.devices.register(user.id, input);
      } catch (error) {
        if (uniqueViolationField(error)) {
          throw conflict('This public key is already registered', { field: 'identityPublicKey' });
        }
        throw error;
      }
    },

    async removeDevice(_: unknown, args: { id: string }, context: UsersContext) {
      const user = await requireViewerUser(context);
      if (!(await context.devices.remove(user.id, args.id)))
        throw notFound('Device not found', { field: 'id' });
      return args.id.toLowerCase();
    },
  },
};
