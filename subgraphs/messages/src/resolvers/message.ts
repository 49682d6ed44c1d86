import { badUserInput, requireViewer } from '@parley/kit';
import type { MessagesContext } from '../context.js';
import type { MessageRecord } from '../data/message-store.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { seqConnection, seqRange } from '../seq-page.js';

const MAX_LATEST_REPLIES = 10;

export const messageResolvers: Resolvers = {
  Message: {
    /** Other subgraphs (and the router) resolve a message only for members of its conversation; null otherwise. */
    __resolveReference(reference: { id?: unknown }, context: MessagesContext) {
      requireViewer(context);
      return typeof reference.id === 'string' ? context.loaders.message.load(reference.id) : null;
    },
    conversation: (message: MessageRecord) => ({ id: message.conversationId }),
    sender: (message: MessageRecord) => ({ id: message.senderId }),
    clientMutationId: (message: MessageRecord, _, context: MessagesContext) =>
      message.senderId === context.viewer?.userId ? message.clientMutationId : null,
    replyTo: (message: MessageRecord, _, context: MessagesContext) =>
      message.replyToId ? context.loaders.message.load(message.replyToId) : null,
    threadRoot: (message: MessageRecord, _, context: MessagesContext) =>
      message.threadRootId ? context.loaders.message.load(message.threadRootId) : null,
    latestReplies(message: MessageRecord, args, context: MessagesContext) {
      const count = args.last ?? 3;
      if (!Number.isInteger(count) || count < 1 || count > MAX_LATEST_REPLIES) {
        throw badUserInput(`last must be between 1 and ${MAX_LATEST_REPLIES}`, { field: 'last' });
      }
      return message.replyCount === 0 ? [] : context.loaders.latestReplies(count).load(message.id);
    },
    async replies(message: MessageRecord, args, context: MessagesContext) {
      const range = seqRange(args);
      return seqConnection(await context.messages.threadPage(message.id, range), range);
    },
    attachments: (message: MessageRecord) => message.attachmentIds.map((id) => ({ id })),
    mentions: (message: MessageRecord) => message.mentionedUserIds.map((id) => ({ id })),
    reactions: (message: MessageRecord, _, context: MessagesContext) =>
      message.deletedAt ? [] : context.loaders.reactions.load(message.id),
  },
};
