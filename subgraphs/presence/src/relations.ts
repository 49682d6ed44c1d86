import { createSubgraphCall, serviceCaller, type Caller, type ServiceAuth } from '@parley/kit';
import { createUserRelationsClient, type UserRelation } from '@parley/users/client';
import { z } from 'zod';

/** How the viewer and another user relate, as far as presence is concerned. */
export interface PresenceRelation {
  /** False for unknown or deleted users. */
  exists: boolean;
  /** Either blocked the other. */
  blocked: boolean;
  /** The user has the viewer in their contacts. */
  listsViewerAsContact: boolean;
  /** They share a conversation. */
  coMember: boolean;
}

/**
 * What presence asks the users and conversations subgraphs, directly (internal fields):
 * - `relationsOf`, with the viewer's own token: how the viewer relates to each user (a request's reads);
 * - `audiencesOf`, as the presence service (no user is asking: a device expired): who may see each user.
 */
export interface RelationsClient {
  relationsOf(userIds: readonly string[], caller: Caller): Promise<Map<string, PresenceRelation>>;
  /** Of these users, those in a block relation with the viewer (either way): users only. */
  blockedAmong(userIds: readonly string[], caller: Caller): Promise<Set<string>>;
  audiencesOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
  /** For each user, everyone in a block relation with them (either way), as the presence service. */
  blockedOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
}

const viewerCoMemberIds = z.object({ viewerCoMemberIds: z.array(z.string()) });
const presenceAudienceOf = z.object({
  presenceAudienceOf: z.array(
    z.object({ userId: z.string(), contactIds: z.array(z.string()), blockedIds: z.array(z.string()) }),
  ),
});
const coMembersOf = z.object({
  coMembersOf: z.array(z.object({ userId: z.string(), memberIds: z.array(z.string()) })),
});

export function createRelationsClient(options: {
  usersUrl: string;
  conversationsUrl: string;
  timeoutMs: number;
  serviceAuth: ServiceAuth;
}): RelationsClient {
  const users = createSubgraphCall({ service: 'users', url: options.usersUrl, timeoutMs: options.timeoutMs });
  const conversations = createSubgraphCall({
    service: 'conversations',
    url: options.conversationsUrl,
    timeoutMs: options.timeoutMs,
  });
  const relationsWithViewer = createUserRelationsClient({
    url: options.usersUrl,
    timeoutMs: options.timeoutMs,
  });
  const blocked = (relation: UserRelation) => relation.blockedByViewer || relation.hasBlockedViewer;
  const audienceOf = async (userIds: readonly string[], caller: Caller) =>
    (
      await users(
        `query PresenceAudience($userIds: [ID!]!) {
          presenceAudienceOf(userIds: $userIds) { userId contactIds blockedIds }
        }`,
        { userIds },
        caller,
        presenceAudienceOf,
      )
    ).presenceAudienceOf;

  return {
    async relationsOf(userIds, caller) {
      const [relations, shared] = await Promise.all([
        relationsWithViewer(userIds, caller),
        conversations(
          `query PresenceCoMembers($userIds: [ID!]!) { viewerCoMemberIds(userIds: $userIds) }`,
          { userIds },
          caller,
          viewerCoMemberIds,
        ),
      ]);
      const coMembers = new Set(shared.viewerCoMemberIds);
      return new Map(
        [...relations].map(([userId, relation]) => [
          userId,
          {
            exists: relation.exists,
            blocked: blocked(relation),
            listsViewerAsContact: relation.listsViewerAsContact,
            coMember: coMembers.has(userId),
          },
        ]),
      );
    },
    async blockedAmong(userIds, caller) {
      const relations = await relationsWithViewer(userIds, caller);
      return new Set([...relations].flatMap(([userId, relation]) => (blocked(relation) ? [userId] : [])));
    },
    async blockedOf(userIds) {
      const audiences = await audienceOf(userIds, await serviceCaller(options.serviceAuth));
      return new Map(audiences.map(({ userId, blockedIds }) => [userId, blockedIds]));
    },
    async audiencesOf(userIds) {
      const caller = await serviceCaller(options.serviceAuth);
      const [relations, members] = await Promise.all([
        audienceOf(userIds, caller),
        conversations(
          `query PresenceCoMembersOf($userIds: [ID!]!) { coMembersOf(userIds: $userIds) { userId memberIds } }`,
          { userIds },
          caller,
          coMembersOf,
        ),
      ]);
      const membersOf = new Map(members.coMembersOf.map((entry) => [entry.userId, entry.memberIds]));
      return new Map(
        relations.map(({ userId, contactIds, blockedIds }) => {
          const excluded = new Set(blockedIds);
          const audience = new Set([userId, ...contactIds, ...(membersOf.get(userId) ?? [])]);
          return [userId, [...audience].filter((id) => !excluded.has(id))];
        }),
      );
    },
  };
}
