import { defineTopic, type PayloadInputOf, type PayloadOf } from '@parley/kit';
import { z } from 'zod';

const id = z.string().min(1).max(100);
const ids = z.array(id).max(100_000);

/**
 * Domain events this service publishes, only after the change committed (through the outbox, see
 * data/outbox.ts): the one declaration of each topic's name and payload, which consumers import
 * (`@parley/conversations/events`). Payloads carry ids; subscribers read what they need through the graph.
 */
export const conversationEvents = {
  updated: defineTopic('conversations.updated', z.object({ conversationId: id, byUserId: id })),
  memberAdded: defineTopic(
    'conversations.member-added',
    z.object({ conversationId: id, userId: id, byUserId: id }),
  ),
  /** `byUserId` is the member themself when they left. */
  memberRemoved: defineTopic(
    'conversations.member-removed',
    z.object({ conversationId: id, userId: id, byUserId: id }),
  ),
  roleChanged: defineTopic(
    'conversations.role-changed',
    z.object({ conversationId: id, userId: id, role: z.enum(['OWNER', 'ADMIN', 'MEMBER']), byUserId: id }),
  ),
  /** `memberIds`: everyone who was a member, so their clients can drop it. */
  deleted: defineTopic(
    'conversations.deleted',
    z.object({ conversationId: id, byUserId: id, memberIds: ids }),
  ),
  /**
   * A member's read marker moved forward (read receipts). `excludedUserIds`: members in a block relation with
   * the reader (either way): receipts are not exchanged across a block (absent from events written before).
   */
  read: defineTopic(
    'conversations.read',
    z.object({
      conversationId: id,
      userId: id,
      readSeq: z.number().int().nonnegative(),
      excludedUserIds: ids.default([]),
    }),
  ),
  /** A member's delivery marker moved forward (delivery receipts); `excludedUserIds` as `read`'s. */
  delivered: defineTopic(
    'conversations.delivered',
    z.object({
      conversationId: id,
      userId: id,
      deliveredSeq: z.number().int().nonnegative(),
      excludedUserIds: ids.default([]),
    }),
  ),
} as const;

/**
 * Events this service delivers for another's: not recorded in the outbox with a change of its own, but made
 * from the users service's `users.updated` when it reads it from the durable stream (see
 * fellow-member-updates.ts), so they belong to no conversation.
 */
export const fellowMemberEvents = {
  /**
   * A user's profile changed, for those who see them listed in a conversation and whom the users service did
   * not tell (it tells the user and their contacts): `audience` is everyone sharing a conversation with the
   * user, minus the users event's audience, minus everyone in a block relation with the user. The router
   * delivers it as `UserUpdated`, like `users.updated`.
   */
  updated: defineTopic(
    'conversations.fellow-member-updated',
    z.object({ userId: id, audience: z.array(id).max(1_000_000) }),
  ),
} as const;

type ConversationEvents = typeof conversationEvents;
export type ConversationEventTopic = ConversationEvents[keyof ConversationEvents]['name'];

export type ReadEvent = PayloadOf<ConversationEvents['read']>;
export type DeliveredEvent = PayloadOf<ConversationEvents['delivered']>;

/** What the outbox records for each topic (by name: rows keep the name). */
export type ConversationEventPayloads = {
  [Key in keyof ConversationEvents as ConversationEvents[Key]['name']]: PayloadInputOf<
    ConversationEvents[Key]
  >;
};
