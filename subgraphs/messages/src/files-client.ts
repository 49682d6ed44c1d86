import { createSubgraphCall, type Caller } from '@parley/kit';
import { z } from 'zod';

export interface FilesClient {
  /** Of these files, those the caller may attach (their own finished uploads), asked with their token. */
  attachableFileIds(fileIds: readonly string[], caller: Caller): Promise<Set<string>>;
}

export function createFilesClient(options: { url: string; timeoutMs: number }): FilesClient {
  const call = createSubgraphCall({ service: 'files', ...options });
  return {
    async attachableFileIds(fileIds, caller) {
      if (fileIds.length === 0) return new Set();
      const data = await call(
        `query ViewerAttachableFileIds($ids: [ID!]!) { viewerAttachableFileIds(fileIds: $ids) }`,
        { ids: fileIds },
        caller,
        z.object({ viewerAttachableFileIds: z.array(z.string()) }),
      );
      return new Set(data.viewerAttachableFileIds);
    },
  };
}
