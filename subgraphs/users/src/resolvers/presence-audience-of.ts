import { askedIds, requireService } from '@parley/kit';
import type { UsersContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const MAX_PRESENCE_AUDIENCE_IDS = 1000;

/**
 * Internal and service-only: the presence subgraph asks, with no user behind the call (its sweeper reports
 * users gone offline), who may learn a user's presence. Two queries for the whole list.
 */
export const presenceAudienceResolvers: Resolvers = {
  Query: {
    async presenceAudienceOf(_: unknown, args: { userIds: readonly string[] }, context: UsersContext) {
      await requireService(context.authorization, context.serviceAuth);
      const ids = askedIds(args.userIds, 'userIds', MAX_PRESENCE_AUDIENCE_IDS);
      const [contacts, blocks] = ids.length
        ? await Promise.all([context.contacts.contactIdsOf(ids), context.contacts.blockRelationsOf(ids)])
        : [new Map<string, string[]>(), new Map<string, string[]>()];
      return args.userIds.map((userId) => {
        const id = userId.toLowerCase();
        return { userId, contactIds: contacts.get(id) ?? [], blockedIds: blocks.get(id) ?? [] };
      });
    },
  },
};
