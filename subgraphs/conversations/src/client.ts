import { createSubgraphCall, type Caller } from '@parley/kit';
import { z } from 'zod';

/**
 * This service's internal API as other services call it (`@parley/conversations/client`): what they may ask
 * of it directly, typed once here, by its owner.
 */

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
