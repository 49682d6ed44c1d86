import { createSubgraphCall, serviceCaller, type ServiceAuth } from '@parley/kit';
import { z } from 'zod';
import type { FellowMembers } from './data/outbox.js';

const coMembersOf = z.object({
  coMembersOf: z.array(z.object({ userId: z.string(), memberIds: z.array(z.string()) })),
});

/**
 * The conversations subgraph's `coMembersOf`, asked as the users service (no user is asking: the outbox relay
 * addresses a profile change), for the fellow members of each user: everyone who sees them listed in a
 * conversation, whether or not they took part in it.
 */
export function createFellowMembersClient(options: {
  url: string;
  timeoutMs: number;
  serviceAuth: ServiceAuth;
}): FellowMembers {
  const call = createSubgraphCall({
    service: 'conversations',
    url: options.url,
    timeoutMs: options.timeoutMs,
  });
  return async (userIds) => {
    const data = await call(
      `query FellowMembers($userIds: [ID!]!) {
        coMembersOf(userIds: $userIds, participatedOnly: false) { userId memberIds }
      }`,
      { userIds },
      await serviceCaller(options.serviceAuth),
      coMembersOf,
    );
    return new Map(data.coMembersOf.map(({ userId, memberIds }) => [userId, memberIds]));
  };
}
