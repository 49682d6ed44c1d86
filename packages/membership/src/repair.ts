import { createSubgraphCall, type Caller } from '@parley/kit';
import { z } from 'zod';

/**
 * Makes the conversations service rewrite the membership projection of these conversations (see membership.ts):
 * part of the projection's mechanism, which every reader (the router, messages, presence) shares.
 */
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
