import { createSubgraphCall, type Caller } from '@parley/kit';
import { z } from 'zod';

export interface FilesClient {
  /**
   * Tells files these files are about to be sent in the conversation (asked with the sender's token, just
   * before the message is stored): answers those the sender may attach (their own finished uploads); when
   * that is every one, files records them as shared there, so the conversation's members may see them.
   */
  shareFiles(conversationId: string, fileIds: readonly string[], caller: Caller): Promise<Set<string>>;
}

export function createFilesClient(options: { url: string; timeoutMs: number }): FilesClient {
  const call = createSubgraphCall({ service: 'files', ...options });
  return {
    async shareFiles(conversationId, fileIds, caller) {
      if (fileIds.length === 0) return new Set();
      const data = await call(
        `mutation ShareFiles($conversationId: ID!, $ids: [ID!]!) {
          shareFiles(conversationId: $conversationId, fileIds: $ids)
        }`,
        { conversationId, ids: fileIds },
        caller,
        z.object({ shareFiles: z.array(z.string()) }),
      );
      return new Set(data.shareFiles);
    },
  };
}
