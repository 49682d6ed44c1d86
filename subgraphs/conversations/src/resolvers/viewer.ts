import { badUserInput, decodeCursor, forwardConnection, pageSize, requireViewer } from '@parley/kit';
import { z } from 'zod';
import type { ConversationsContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export interface ViewerParent {
  id: string;
}

/** An entity another subgraph resolves (User, Message): this one only knows its id. */
/** @public the reference type codegen maps entities to (codegen.ts `mappers`). */
export interface EntityReference {
  id: string;
}

// t: the first page's snapshot; p: the conversation's position then; i: its id (all times in ms).
const listCursor = z.object({ t: z.number().int(), p: z.number().int(), i: z.uuid() });

export const viewerResolvers: Resolvers = {
  Viewer: {
    /** Another subgraph may only resolve the viewer's own Viewer entity. */
    __resolveReference(reference: ViewerParent, context: ConversationsContext) {
      const viewer = requireViewer(context);
      return reference.id === viewer.userId ? { id: viewer.userId } : null;
    },
    async conversations(_: ViewerParent, args, context: ConversationsContext) {
      const viewer = requireViewer(context);
      const limit = pageSize(args.first, 20);
      const after = decodeCursor(args.after, listCursor);
      if (after && after.t < Date.now() - context.config.listCursorTtlSeconds * 1000) {
        throw badUserInput('This cursor has expired: list from the start again', { field: 'after' });
      }
      const snapshot = after ? new Date(after.t) : await context.conversations.now();
      const rows = await context.conversations.listForMember(viewer.userId, {
        limit,
        snapshot,
        after: after && { snapshot, position: new Date(after.p), id: after.i },
        filter: {
          archived: args.filter?.archived === undefined ? false : args.filter.archived,
          pinned: args.filter?.pinned ?? null,
          kind: args.filter?.kind ?? null,
        },
      });
      for (const { view } of rows) context.loaders.view.prime(view.id, view);
      return forwardConnection(
        rows,
        limit,
        after !== null,
        (row) => ({ t: snapshot.getTime(), p: row.position.getTime(), i: row.view.id }),
        (row) => row.view,
      );
    },
  },
};
