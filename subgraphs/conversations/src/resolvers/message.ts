import { requireViewer } from '@parley/kit';
import { z } from 'zod';
import type { ConversationsContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

/** A message as the router passes it here: what `@requires` asks of the messages subgraph. */
const messageReference = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  // Lower-cased: ids are compared (and cached) in that form; a non-UUID never reaches PostgreSQL.
  conversation: z.object({ id: z.uuid().transform((id) => id.toLowerCase()) }),
  sender: z.object({ id: z.string() }),
});

export type MessageReference = z.output<typeof messageReference>;

/** What Message resolvers receive: a full reference from the router, or the `{ id }` lastMessage returns. */
export type MessageParent = MessageReference | { id: string };

/**
 * The members other than the sender whose `marker` reached the message, and whether to list them. Members
 * in a block relation with the viewer are left out: receipts are not exchanged across a block.
 */
async function receipts(
  parent: MessageParent,
  marker: 'readSeq' | 'deliveredSeq',
  context: ConversationsContext,
) {
  // Receipt fields are only resolved on references __resolveReference accepted, which carry them.
  if (!('seq' in parent)) throw new Error('a receipt field was resolved without its required fields');
  const message = parent;
  const members = await context.loaders.markers.load(message.conversation.id);
  const reached = members.filter(
    (member) => member.userId !== message.sender.id && member[marker] >= message.seq,
  );
  const shown = await Promise.all(reached.map((member) => markersShown(member.userId, context)));
  return {
    reached: reached.filter((_, index) => shown[index]),
    listed: members.length <= context.config.receiptsMaxMembers,
  };
}

/** Whether the viewer sees this member's markers: their own, and anyone's not in a block relation with them. */
export async function markersShown(userId: string, context: ConversationsContext) {
  return userId === context.viewer?.userId || !(await context.loaders.blockedWithViewer.load(userId));
}

export const messageResolvers: Resolvers = {
  Message: {
    /** Receipts only for members of the message's conversation; null otherwise. */
    async __resolveReference(reference: unknown, context: ConversationsContext) {
      requireViewer(context);
      const parsed = messageReference.safeParse(reference);
      if (!parsed.success) return null;
      const view = await context.loaders.view.load(parsed.data.conversation.id);
      return view ? parsed.data : null;
    },
    async readBy(message: MessageParent, _, context: ConversationsContext) {
      const { reached, listed } = await receipts(message, 'readSeq', context);
      return listed ? reached.map((member) => ({ id: member.userId })) : null;
    },
    readCount: async (message: MessageParent, _, context: ConversationsContext) =>
      (await receipts(message, 'readSeq', context)).reached.length,
    async deliveredTo(message: MessageParent, _, context: ConversationsContext) {
      const { reached, listed } = await receipts(message, 'deliveredSeq', context);
      return listed ? reached.map((member) => ({ id: member.userId })) : null;
    },
    deliveredCount: async (message: MessageParent, _, context: ConversationsContext) =>
      (await receipts(message, 'deliveredSeq', context)).reached.length,
  },
};
