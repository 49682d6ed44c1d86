import { requireViewer } from '@parley/kit';
import type { MessagesContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { conversationNotFound } from '../message-service.js';
import { seqConnection, seqRange } from '../seq-page.js';

/** An entity this subgraph names by id only (User, File, and Conversation as passed in). */
/** @public the reference type codegen maps entities to (codegen.ts `mappers`). */
export interface EntityReference {
  id: string;
}

export const conversationResolvers: Resolvers = {
  Conversation: {
    // The conversations subgraph owns the entity; membership is checked by the fields here.
    __resolveReference: (reference: { id?: unknown }) =>
      typeof reference.id === 'string' ? { id: reference.id.toLowerCase() } : null,
    async messages(conversation, args, context: MessagesContext) {
      requireViewer(context);
      const range = seqRange(args);
      if (!(await context.loaders.memberships.load(conversation.id))) throw conversationNotFound();
      return seqConnection(await context.messages.page(conversation.id, range), range);
    },
  },
};
