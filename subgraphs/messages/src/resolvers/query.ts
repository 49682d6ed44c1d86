import { createHash } from 'node:crypto';
import { badUserInput, decodeCursor, encodeCursor, isUuid, pageSize, requireViewer } from '@parley/kit';
import { z } from 'zod';
import { actorOf, type MessagesContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { messageNotFound } from '../message-service.js';

/** Search pages by offset (ranked results have no stable keyset); deeper than this, refine the query. */
const MAX_SEARCH_OFFSET = 10_000;

const searchCursor = z.object({ k: z.string(), o: z.number().int().min(0).max(MAX_SEARCH_OFFSET) });

/** Ties a cursor to its search, so it cannot page through another one. */
const searchKey = (query: string, conversationId: string | null) =>
  createHash('sha256')
    .update(`${query}\u0000${conversationId ?? ''}`)
    .digest('base64url')
    .slice(0, 16);

export const queryResolvers: Resolvers = {
  Query: {
    async message(_, args, context: MessagesContext) {
      requireViewer(context);
      const message = isUuid(args.id) ? await context.loaders.message.load(args.id.toLowerCase()) : null;
      if (!message) throw messageNotFound();
      return message;
    },
    async searchMessages(_, args, context: MessagesContext) {
      const actor = actorOf(context);
      const limit = pageSize(args.first, 20);
      const cursor = decodeCursor(args.after, searchCursor);
      const offset = cursor ? cursor.o : 0;
      const { input, hits } = await context.service.search(actor, args, offset, limit + 1);
      const key = searchKey(input.query, input.conversationId);
      if (cursor && cursor.k !== key) throw badUserInput('Invalid cursor', { field: 'after' });
      const edges = hits.slice(0, limit).map((hit, index) => ({
        cursor: encodeCursor({ k: key, o: offset + index + 1 }),
        node: hit.message,
        rank: hit.rank,
      }));
      return {
        edges,
        pageInfo: {
          hasNextPage: hits.length > limit && offset + limit < MAX_SEARCH_OFFSET,
          hasPreviousPage: offset > 0,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  },
};
