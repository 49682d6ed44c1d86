import { codedError } from '@parley/kit';
import { z } from 'zod';

/** Whose behalf a call is made on: subgraphs answer internal fields with the caller's own rights. */
export interface Caller {
  authorization: string;
  requestId: string;
}

/**
 * Calls another subgraph directly (not through the router: the fields asked are `@inaccessible`, absent
 * from the public graph) with the caller's token. Unreachable, timed out or unexpected answers are
 * SERVICE_UNAVAILABLE.
 */
function createSubgraphCall(options: { service: string; url: string; timeoutMs: number }) {
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
}

export interface UsersClient {
  /** How the caller relates to each user, keyed by user id. */
  relations(userIds: readonly string[], caller: Caller): Promise<Map<string, UserRelation>>;
}

export function createUsersClient(options: { url: string; timeoutMs: number }): UsersClient {
  const call = createSubgraphCall({ service: 'users', ...options });
  const relations = z.object({
    viewerRelations: z.array(
      z.object({
        userId: z.string(),
        exists: z.boolean(),
        blockedByViewer: z.boolean(),
        hasBlockedViewer: z.boolean(),
      }),
    ),
  });
  return {
    async relations(userIds, caller) {
      const data = await call(
        `query ViewerRelations($userIds: [ID!]!) {
          viewerRelations(userIds: $userIds) { userId exists blockedByViewer hasBlockedViewer }
        }`,
        { userIds },
        caller,
        relations,
      );
      return new Map(data.viewerRelations.map(({ userId, ...relation }) => [userId, relation]));
    },
  };
}

export interface ConversationsClient {
  /** Makes the conversations service rewrite the membership projection of these conversations. */
  syncMembershipProjection(conversationIds: readonly string[], caller: Caller): Promise<void>;
  /** Every conversation the caller belongs to (archived ones too). */
  viewerConversationIds(caller: Caller): Promise<string[]>;
}

export function createConversationsClient(options: { url: string; timeoutMs: number }): ConversationsClient {
  const call = createSubgraphCall({ service: 'conversations', ...options });
  return {
    async syncMembershipProjection(conversationIds, caller) {
      await call(
        `mutation SyncMembershipProjection($ids: [ID!]!) { syncMembershipProjection(conversationIds: $ids) }`,
        { ids: conversationIds },
        caller,
        z.object({ syncMembershipProjection: z.literal(true) }),
      );
    },
    async viewerConversationIds(caller) {
      const data = await call(
        `query ViewerConversationIds { viewerConversationIds }`,
        {},
        caller,
        z.object({ viewerConversationIds: z.array(z.string()) }),
      );
      return data.viewerConversationIds;
    },
  };
}
