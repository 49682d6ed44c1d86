import { createSubgraphCall, serviceCaller, type Caller, type ServiceAuth } from '@parley/kit';
import { z } from 'zod';

/**
 * This service's internal API as other services call it (`@parley/users/client`): what they may ask of it
 * directly, typed once here, by its owner.
 */

export interface UserRelation {
  exists: boolean;
  blockedByViewer: boolean;
  hasBlockedViewer: boolean;
  /** The user has the viewer in their contacts. */
  listsViewerAsContact: boolean;
}

/** How the caller relates to each user, keyed by user id (every id asked is present). */
export type UserRelationsClient = (
  userIds: readonly string[],
  caller: Caller,
) => Promise<Map<string, UserRelation>>;

const viewerRelations = z.object({
  viewerRelations: z.array(
    z.object({
      userId: z.string(),
      exists: z.boolean(),
      blockedByViewer: z.boolean(),
      hasBlockedViewer: z.boolean(),
      listsViewerAsContact: z.boolean(),
    }),
  ),
});

/**
 * The users subgraph's `viewerRelations` (whether users exist, who blocked whom, contacts), asked with the
 * caller's own token: a service learns only the caller's own relations.
 */
export function createUserRelationsClient(options: { url: string; timeoutMs: number }): UserRelationsClient {
  const call = createSubgraphCall({ service: 'users', ...options });
  return async (userIds, caller) => {
    const data = await call(
      `query ViewerRelations($userIds: [ID!]!) {
        viewerRelations(userIds: $userIds) { userId exists blockedByViewer hasBlockedViewer listsViewerAsContact }
      }`,
      { userIds },
      caller,
      viewerRelations,
    );
    return new Map(data.viewerRelations.map(({ userId, ...relation }) => [userId, relation]));
  };
}

/** Everyone in a block relation with each user (either blocked the other), keyed by user id. */
export type BlockRelationsClient = (userIds: readonly string[]) => Promise<Map<string, string[]>>;

const blockRelations = z.object({
  presenceAudienceOf: z.array(z.object({ userId: z.string(), blockedIds: z.array(z.string()) })),
});

/**
 * Who is in a block relation with each user, asked as a service (a service token): for work no user's
 * request stands behind. The users subgraph answers it in `presenceAudienceOf` (with contacts, not asked
 * here), at most 1000 ids a call.
 */
export function createBlockRelationsClient(options: {
  url: string;
  timeoutMs: number;
  serviceAuth: ServiceAuth;
}): BlockRelationsClient {
  const call = createSubgraphCall({ service: 'users', ...options });
  return async (userIds) => {
    const data = await call(
      `query BlockRelations($userIds: [ID!]!) { presenceAudienceOf(userIds: $userIds) { userId blockedIds } }`,
      { userIds },
      await serviceCaller(options.serviceAuth),
      blockRelations,
    );
    return new Map(data.presenceAudienceOf.map(({ userId, blockedIds }) => [userId, blockedIds]));
  };
}
