import { createSubgraphCall, serviceCaller, type Caller, type ServiceAuth } from '@parley/kit';
import { z } from 'zod';

/** What files asks the messages subgraph, directly (internal fields), at most 1000 ids a call. */
export interface MessagesClient {
  /** Of these files, those sent in a conversation the caller belongs to (asked with the caller's token). */
  viewerVisibleFileIds(fileIds: readonly string[], caller: Caller): Promise<Set<string>>;
  /** Of these files, those a message still carries (asked as the files service: no user is asking). */
  filesInUse(fileIds: readonly string[]): Promise<Set<string>>;
}

export function createMessagesClient(options: {
  url: string;
  timeoutMs: number;
  serviceAuth: ServiceAuth;
}): MessagesClient {
  const call = createSubgraphCall({ service: 'messages', url: options.url, timeoutMs: options.timeoutMs });
  return {
    async viewerVisibleFileIds(fileIds, caller) {
      if (fileIds.length === 0) return new Set();
      const data = await call(
        `query ViewerVisibleFileIds($ids: [ID!]!) { viewerVisibleFileIds(fileIds: $ids) }`,
        { ids: fileIds },
        caller,
        z.object({ viewerVisibleFileIds: z.array(z.string()) }),
      );
      return new Set(data.viewerVisibleFileIds);
    },
    async filesInUse(fileIds) {
      if (fileIds.length === 0) return new Set();
      const data = await call(
        `query FilesInUse($ids: [ID!]!) { filesInUse(fileIds: $ids) }`,
        { ids: fileIds },
        await serviceCaller(options.serviceAuth),
        z.object({ filesInUse: z.array(z.string()) }),
      );
      return new Set(data.filesInUse);
    },
  };
}
