/**
 * Domain events this service publishes, only after the change committed (recorded with it, delivered by
 * the outbox relay, see outbox-relay.ts). Payloads carry ids; subscribers read what they need through
 * the graph. `messages.added` is also appended to a durable stream: the conversations subgraph keeps
 * activity and unread counts from it and must not miss one while it is down.
 */
export const messageEvents = {
  added: 'messages.added',
  edited: 'messages.edited',
  deleted: 'messages.deleted',
  reactionChanged: 'messages.reaction-changed',
} as const;

export type MessageEventTopic = (typeof messageEvents)[keyof typeof messageEvents];

/** The contract the conversations subgraph consumes (its events.ts declares the same shape). */
export interface MessageAddedEvent {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  mentionedUserIds: string[];
  threadRootId: string | null;
}
export interface MessageEditedEvent {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
}
export interface MessageDeletedEvent {
  conversationId: string;
  messageId: string;
  seq: number;
  byUserId: string;
  /** Files no longer attached here (the files subgraph can release them). */
  attachmentIds: string[];
}
export interface ReactionChangedEvent {
  conversationId: string;
  messageId: string;
  userId: string;
  emoji: string;
  added: boolean;
}

export interface MessageEventPayloads {
  [messageEvents.added]: MessageAddedEvent;
  [messageEvents.edited]: MessageEditedEvent;
  [messageEvents.deleted]: MessageDeletedEvent;
  [messageEvents.reactionChanged]: ReactionChangedEvent;
}
