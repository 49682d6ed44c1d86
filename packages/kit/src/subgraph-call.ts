import { z } from 'zod';
import { codedError } from './errors.js';
import { serviceCaller, type ServiceAuth } from './service-auth.js';

/** Whose behalf a call is made on: subgraphs answer internal fields with the caller's own rights. */
export interface Caller {
  authorization: string;
  requestId: string;
}

/**
 * Calls another subgraph directly, not through the router (the fields asked are `@inaccessible`: in the
 * supergraph, absent from the public graph), with the caller's token and request id. Unreachable, timed
 * out or unexpected answers are SERVICE_UNAVAILABLE.
 */
export function createSubgraphCall(options: { service: string; url: string; timeoutMs: number }) {
  return async <T extends z.ZodType>(
    query: string,
    variables: Record<string, unknown>,
    caller: Caller,
    data: T,
  ): Promise<z.output<T>> => {
    let body: unknown;
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: caller.authorization,
          'x-request-id': caller.requestId,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      body = await response.json();
    } catch (error) {
      throw codedError('SERVICE_UNAVAILABLE', `The ${options.service} service could not be reached`, {
        cause: String(error),
      });
    }
    const parsed = data.safeParse((body as { data?: unknown } | null)?.data);
    if (!parsed.success) {
      throw codedError('SERVICE_UNAVAILABLE', `The ${options.service} service could not answer`, {
        errors: (body as { errors?: unknown } | null)?.errors ?? null,
      });
    }
    return parsed.data;
  };
}

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

/** Makes the conversations service rewrite the membership projection of these conversations (see membership.ts). */
export type MembershipRepair = (conversationIds: readonly string[], caller: Caller) => Promise<void>;

/**
 * The conversations subgraph's `syncMembershipProjection`: every service that reads the projection (messages,
 * the router's realtime engine) repairs an entry it finds missing through it.
 */
export function createMembershipRepair(options: { url: string; timeoutMs: number }): MembershipRepair {
  const call = createSubgraphCall({ service: 'conversations', ...options });
  return async (conversationIds, caller) => {
    await call(
      `mutation SyncMembershipProjection($ids: [ID!]!) { syncMembershipProjection(conversationIds: $ids) }`,
      { ids: conversationIds },
      caller,
      z.object({ syncMembershipProjection: z.literal(true) }),
    );
  };
}
