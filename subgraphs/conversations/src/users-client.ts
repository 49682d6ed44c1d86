import { codedError } from '@parley/kit';
import { z } from 'zod';

export interface UserRelation {
  exists: boolean;
  blockedByViewer: boolean;
  hasBlockedViewer: boolean;
}

/** How the viewer relates to each user, keyed by user id (every id asked is present). */
export type UsersClient = (
  userIds: readonly string[],
  caller: { authorization: string; requestId: string },
) => Promise<Map<string, UserRelation>>;

const VIEWER_RELATIONS = `query ViewerRelations($userIds: [ID!]!) {
  viewerRelations(userIds: $userIds) { userId exists blockedByViewer hasBlockedViewer }
}`;

const responseSchema = z.object({
  data: z.object({
    viewerRelations: z.array(
      z.object({
        userId: z.string(),
        exists: z.boolean(),
        blockedByViewer: z.boolean(),
        hasBlockedViewer: z.boolean(),
      }),
    ),
  }),
});

/**
 * Asks the users subgraph directly (its internal `viewerRelations` field is not in the public graph),
 * with the caller's own token: it can only learn its own relations. Users live in another service,
 * so this is one call per conversation created or members added, never per message.
 */
export function createUsersClient(options: { url: string; timeoutMs: number }): UsersClient {
  return async (userIds, caller) => {
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
        body: JSON.stringify({ query: VIEWER_RELATIONS, variables: { userIds } }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      body = await response.json();
    } catch (error) {
      throw codedError('SERVICE_UNAVAILABLE', 'The users service could not be reached', {
        cause: String(error),
      });
    }
    const parsed = responseSchema.safeParse(body);
    if (!parsed.success) {
      throw codedError('SERVICE_UNAVAILABLE', 'The users service could not answer', {
        errors: (body as { errors?: unknown } | null)?.errors ?? null,
      });
    }
    return new Map(parsed.data.data.viewerRelations.map(({ userId, ...relation }) => [userId, relation]));
  };
}
