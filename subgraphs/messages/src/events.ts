import { defineTopic, type PayloadInputOf, type PayloadOf } from '@parley/kit';
import { z } from 'zod';

const id = z.string().min(1).max(100);
const seq = z.number().int().nonnegative();

/**
 * Domain events this service publishes, only after the change committed (recorded with it, delivered by
 * the outbox relay, see outbox-relay.ts): the one declaration of each topic's name and payload, which
 * consumers import (`@parley/messages/events`). Payloads carry ids; subscribers read what they need through
 * the graph. `messages.added` and `messages.deleted` are also appended to durable streams: the conversations
 * subgraph keeps activity and unread counts from the first, the files subgraph records where attachments
 * were sent from both and releases those of deleted messages, and neither may miss one while it is down.
 */
export const messageEvents = {
  added: defineTopic(
    'messages.added',
    z.object({
      conversationId: id,
      messageId: id,
      seq,
      senderId: id,
      /** Users mentioned in the message (the conversations service ignores non-members). */
      mentionedUserIds: z.array(id).max(1_000).default([]),
      threadRootId: id.nullable().default(null),
      /** Files the message carries (the files subgraph records them as shared in the conversation). */
      attachmentIds: z.array(id).max(1_000).default([]),
    }),
  ),
  edited: defineTopic('messages.edited', z.object({ conversationId: id, messageId: id, seq, senderId: id })),
  deleted: defineTopic(
    'messages.deleted',
    z.object({
      conversationId: id,
      messageId: id,
      seq,
      byUserId: id,
      /** Files no longer attached here (the files subgraph can release them). */
      attachmentIds: z.array(id).max(1_000).default([]),
    }),
  ),
  reactionChanged: defineTopic(
    'messages.reaction-changed',
    z.object({
      conversationId: id,
      messageId: id,
      userId: id,
      emoji: z.string().max(100),
      added: z.boolean(),
    }),
  ),
} as const;

type MessageEvents = typeof messageEvents;
export type MessageEventTopic = MessageEvents[keyof MessageEvents]['name'];

export type MessageAddedEvent = PayloadOf<MessageEvents['added']>;
export type MessageEditedEvent = PayloadOf<MessageEvents['edited']>;
export type MessageDeletedEvent = PayloadOf<MessageEvents['deleted']>;
export type ReactionChangedEvent = PayloadOf<MessageEvents['reactionChanged']>;

/** What the store records for each topic (by name: outbox rows keep the name). */
export type MessageEventPayloads = {
  [Key in keyof MessageEvents as MessageEvents[Key]['name']]: PayloadInputOf<MessageEvents[Key]>;
};
