import { createSubgraphCall, type Caller } from '@parley/kit';
import { z } from 'zod';

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
