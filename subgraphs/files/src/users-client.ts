import { createSubgraphCall, serviceCaller, type ServiceAuth } from '@parley/kit';
import { z } from 'zod';

/** What files asks the users subgraph, directly (an internal, service-only field), at most 1000 ids a call. */
export interface UsersClient {
  /** The users whose avatar is one of these files, as `fileId → userIds`. */
  avatarsAmong(fileIds: readonly string[]): Promise<Map<string, string[]>>;
}

export function createUsersClient(options: {
  url: string;
  timeoutMs: number;
  serviceAuth: ServiceAuth;
}): UsersClient {
  const call = createSubgraphCall({ service: 'users', url: options.url, timeoutMs: options.timeoutMs });
  return {
    async avatarsAmong(fileIds) {
      if (fileIds.length === 0) return new Map();
      const data = await call(
        `query AvatarsAmong($ids: [ID!]!) { avatarsAmong(fileIds: $ids) { userId fileId } }`,
        { ids: fileIds },
        await serviceCaller(options.serviceAuth),
        z.object({ avatarsAmong: z.array(z.object({ userId: z.string(), fileId: z.string() })) }),
      );
      const users = new Map<string, string[]>();
      for (const { userId, fileId } of data.avatarsAmong) {
        users.set(fileId, [...(users.get(fileId) ?? []), userId]);
      }
      return users;
    },
  };
}
