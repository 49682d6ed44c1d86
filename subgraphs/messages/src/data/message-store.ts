import type { MessageEventPayloads, MessageEventTopic } from '../events.js';

/**
 * Where messages live, independent of the database: the PostgreSQL implementation is
 * postgres-message-store.ts; a MongoDB one must pass the same contract suite
 * (src/testing/message-store-contract.ts). Resolvers and rules never see the database, only this.
 *
 * The store enforces what must hold under concurrency (seq order, idempotency, limits counted while
 * locked) and records each change's domain event atomically with it; who may do what is decided by
 * message-service.ts before calling it.
 */
export interface MessageStore {
  /**
   * Stores a message with the conversation's next seq (no gaps, no duplicates under concurrent senders)
   * and records `messages.added`; or, when the sender already used `clientMutationId` (also in a call
   * still committing), returns that message: 'replayed' for the same `requestHash`, else 'conflict'.
   */
  send(input: NewMessage): Promise<SendResult>;
  /**
   * What `send` would answer for a key the sender already used ('replayed' or 'conflict'), or null when
   * the key is new: asked when a rule now refuses the send, so a retry still gets its message.
   */
  previousSend(key: SendKey): Promise<SendResult | null>;
  /** The messages with these ids that exist (tombstones included), in any order. */
  byIds(ids: readonly string[]): Promise<MessageRecord[]>;
  /** A page of a conversation's messages by seq, oldest first (see SeqRange). */
  page(conversationId: string, range: SeqRange): Promise<MessageRecord[]>;
  /** The same within a thread: the replies whose thread root is `rootId`. */
  threadPage(rootId: string, range: SeqRange): Promise<MessageRecord[]>;
  /** Replaces body and (when given) mentions of a message that is not deleted; null when it is deleted or gone. */
  edit(id: string, change: { body: string; mentionedUserIds?: string[] }): Promise<MessageRecord | null>;
  /**
   * Turns the message into a tombstone: body, attachments, mentions and reactions erased, seq kept.
   * `deleted: false` when it already was one (nothing recorded). Null when it does not exist.
   */
  delete(id: string, byUserId: string): Promise<{ message: MessageRecord; deleted: boolean } | null>;
  /**
   * Adds a reaction unless present. 'limit' when it would exceed `limits` (counted while the message is
   * locked, so concurrent reactions cannot overshoot); 'gone' when the message is deleted or unknown.
   */
  addReaction(reaction: Reaction, limits: ReactionLimits): Promise<'added' | 'present' | 'limit' | 'gone'>;
  removeReaction(reaction: Reaction): Promise<'removed' | 'absent' | 'gone'>;
  /** Per message: its reactions grouped by emoji, most used first (ties by first use), with the viewer's part. */
  reactionGroups(messageIds: readonly string[], viewerId: string): Promise<Map<string, ReactionGroup[]>>;
  /** Per thread root: its newest `count` replies, oldest first. */
  latestReplies(rootIds: readonly string[], count: number): Promise<Map<string, MessageRecord[]>>;
  /**
   * Messages of `conversationIds` matching a web-search style `query` (never erroring on odd input),
   * best first, newest first among equals; deleted messages never match.
   */
  search(
    query: string,
    conversationIds: readonly string[],
    offset: number,
    limit: number,
  ): Promise<SearchHit[]>;
  /**
   * Hands the oldest undelivered events (at most `limit`) to `deliver`, in the order recorded, and forgets
   * them once it resolves; if it throws they stay for the next call. Concurrent callers (replicas) take
   * turns: one batch is delivered at a time. Returns how many were delivered.
   */
  deliverEvents(limit: number, deliver: (events: RecordedEvent[]) => Promise<void>): Promise<number>;
  /** Whether any event waits to be delivered (one cheap read, no turn taken). */
  hasUndeliveredEvents(): Promise<boolean>;
}

export interface MessageRecord {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  clientMutationId: string;
  /** Null once deleted. */
  body: string | null;
  replyToId: string | null;
  threadRootId: string | null;
  replyCount: number;
  lastReplyAt: Date | null;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  attachmentIds: string[];
  mentionedUserIds: string[];
}

export interface SendKey {
  senderId: string;
  clientMutationId: string;
  /** Identifies the request for idempotency: the same key with another hash is a conflict. */
  requestHash: string;
}

export interface NewMessage extends SendKey {
  conversationId: string;
  body: string;
  /** Must be a message of the same conversation (checked by the service). */
  replyTo: { id: string; threadRootId: string | null } | null;
  attachmentIds: string[];
  mentionedUserIds: string[];
}

export type SendResult =
  | { outcome: 'created' | 'replayed'; message: MessageRecord }
  /** The sender used this key for a different request. */
  | { outcome: 'conflict'; message: MessageRecord };

/**
 * Forward (`first`): the `limit` lowest seqs above `after`; backward (`last`): the `limit` highest below
 * `before`. Either bound may be combined with the other. Implementations return `limit + 1` rows when
 * more exist past the page's far end, so the caller can tell whether there is another page.
 */
export interface SeqRange {
  direction: 'forward' | 'backward';
  limit: number;
  after: number | null;
  before: number | null;
}

export interface Reaction {
  messageId: string;
  userId: string;
  emoji: string;
}

export interface ReactionLimits {
  /** Different emoji on one message. */
  maxEmoji: number;
  /** Reactions of one user on one message. */
  maxPerUser: number;
}

export interface ReactionGroup {
  emoji: string;
  count: number;
  viewerReacted: boolean;
}

export interface SearchHit {
  message: MessageRecord;
  rank: number;
}

/** `id` is the outbox row's, unique in this service: the realtime log stores each event once by it. */
export type RecordedEvent = {
  [Topic in MessageEventTopic]: { id: string; topic: Topic; payload: MessageEventPayloads[Topic] };
}[MessageEventTopic];
