import { createSubgraphCall, type Caller } from '@parley/kit';
import { createMembershipRepair, type MembershipRepair } from '@parley/membership';
import { z } from 'zod';

export interface ConversationsClient {
  /** Makes the conversations service rewrite the membership projection of these conversations. */
  syncMembershipProjection: MembershipRepair;
  /** Every conversation the caller belongs to (archived ones too). */
  viewerConversationIds(caller: Caller): Promise<string[]>;
}

export function createConversationsClient(options: { url: string; timeoutMs: number }): ConversationsClient {
  const call = createSubgraphCall({ service: 'conversations', ...options });
  return {
    syncMembershipProjection: createMembershipRepair(options),
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
