/**
 * Domain events this service publishes, only after the change committed (through the outbox, see
 * data/outbox.ts). Payloads carry ids; subscribers read what they need through the graph.
 */
export const conversationEvents = {
  updated: 'conversations.updated',
  memberAdded: 'conversations.member-added',
  memberRemoved: 'conversations.member-removed',
  roleChanged: 'conversations.role-changed',
  deleted: 'conversations.deleted',
  read: 'conversations.read',
  delivered: 'conversations.delivered',
} as const;

export type ConversationEventTopic = (typeof conversationEvents)[keyof typeof conversationEvents];

export interface ConversationUpdatedEvent {
  conversationId: string;
  byUserId: string;
}
export interface MemberAddedEvent {
  conversationId: string;
  userId: string;
  byUserId: string;
}
export interface MemberRemovedEvent {
  conversationId: string;
  userId: string;
  /** The member themself when they left. */
  byUserId: string;
}
export interface RoleChangedEvent {
  conversationId: string;
  userId: string;
  role: 'OWNER' | 'ADMIN' | 'MEMBER';
  byUserId: string;
}
export interface ConversationDeletedEvent {
  conversationId: string;
  byUserId: string;
  /** Everyone who was a member, so their clients can drop it. */
  memberIds: string[];
}
/** A member's read marker moved forward (read receipts). */
export interface ReadEvent {
  conversationId: string;
  userId: string;
  readSeq: number;
  /** Members in a block relation with the reader (either way): receipts are not exchanged across a block. */
  excludedUserIds: string[];
}

/** A member's delivery marker moved forward (delivery receipts). */
export interface DeliveredEvent {
  conversationId: string;
  userId: string;
  deliveredSeq: number;
  /** As ReadEvent's. */
  excludedUserIds: string[];
}

/**
 * What this service consumes from the messages subgraph, through the durable event stream (EventStream in
 * the kit, not PubSub): each message sent moves its conversation's activity, last message and unread
 * counts. Applying one twice, or out of order, changes nothing.
 */
export const messageAddedTopic = 'messages.added';

export interface MessageAddedEvent {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  /** Users mentioned in the message (non-members are ignored). */
  mentionedUserIds?: string[];
}

export interface ConversationEventPayloads {
  [conversationEvents.updated]: ConversationUpdatedEvent;
  [conversationEvents.memberAdded]: MemberAddedEvent;
  [conversationEvents.memberRemoved]: MemberRemovedEvent;
  [conversationEvents.roleChanged]: RoleChangedEvent;
  [conversationEvents.deleted]: ConversationDeletedEvent;
  [conversationEvents.read]: ReadEvent;
  [conversationEvents.delivered]: DeliveredEvent;
}
