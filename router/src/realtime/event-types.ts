import type { PayloadOf, Topic } from '@parley/kit';
import { conversationEvents, fellowMemberEvents } from '@parley/conversations/events';
import { messageEvents } from '@parley/messages/events';
import { presenceEvents } from '@parley/presence/events';
import { userEvents } from '@parley/users/events';

/** An entity an event refers to; the router fills in the fields a subscriber selected through the gateway. */
export interface EntityRef {
  readonly entity: 'Message' | 'Conversation' | 'User';
  readonly id: string;
}

/** Who may receive an event, decided when it is delivered (membership at that moment). */
export type Audience =
  /** The conversation's members now, but for `except` (e.g. those in a block relation with a typing user). */
  | { kind: 'members'; except?: readonly string[] }
  /** The members now, and one more user (a removed member receives their own removal). */
  | { kind: 'members-and'; userId: string }
  /** Exactly these users (a deleted conversation has no members left to ask about). */
  | { kind: 'users'; userIds: readonly string[] };

/** One event as a subscription result is executed from: the GraphQL type, its cursor, scalars and references. */
export interface EventValue {
  readonly __typename: string;
  readonly cursor: string;
  readonly conversationId: string | null;
  readonly [field: string]: unknown;
}

export interface DecodedEvent {
  value: EventValue;
  audience: Audience;
  /** A per-conversation subscription of this user ends after this event (they left, or it was deleted). */
  endsConversationFor: (userId: string) => boolean;
  /** A presence or typing event: only for subscriptions that asked for them (`presence: true`). */
  presence: boolean;
}

const ref = (entity: EntityRef['entity'], value: string): EntityRef => ({ entity, id: value });
const never = () => false;

interface EventType<T extends Topic> {
  /** The producer's declaration: name and payload schema. */
  topic: T;
  typename: string;
  fields(payload: PayloadOf<T>): Record<string, unknown>;
  audience?(payload: PayloadOf<T>): Audience;
  /** See DecodedEvent.presence. */
  presence?: true;
  endsConversationFor?(payload: PayloadOf<T>): (userId: string) => boolean;
}

const eventType = <T extends Topic>(type: EventType<T>) => type as unknown as EventType<Topic>;

/**
 * Every topic the realtime log carries, by the GraphQL type it becomes (declared in the subgraph that owns
 * it), with the topic as its producer declares it (`@parley/<service>/events`: name and payload schema).
 * Fields named like the GraphQL field they fill; references are resolved by hydration.
 */
export const eventTypes: Record<string, EventType<Topic>> = Object.fromEntries(
  [
    eventType({
      topic: messageEvents.added,
      typename: 'MessageAdded',
      fields: (p) => ({ message: ref('Message', p.messageId) }),
    }),
    eventType({
      topic: messageEvents.edited,
      typename: 'MessageEdited',
      fields: (p) => ({ message: ref('Message', p.messageId) }),
    }),
    eventType({
      topic: messageEvents.deleted,
      typename: 'MessageDeleted',
      fields: (p) => ({ message: ref('Message', p.messageId), actor: ref('User', p.byUserId) }),
    }),
    eventType({
      topic: messageEvents.reactionChanged,
      typename: 'ReactionChanged',
      fields: (p) => ({
        message: ref('Message', p.messageId),
        user: ref('User', p.userId),
        emoji: p.emoji,
        added: p.added,
      }),
    }),
    eventType({
      topic: conversationEvents.updated,
      typename: 'ConversationUpdated',
      fields: (p) => ({
        conversation: ref('Conversation', p.conversationId),
        actor: ref('User', p.byUserId),
      }),
    }),
    eventType({
      topic: conversationEvents.memberAdded,
      typename: 'MemberAdded',
      fields: (p) => ({
        user: ref('User', p.userId),
        conversation: ref('Conversation', p.conversationId),
        actor: ref('User', p.byUserId),
      }),
    }),
    eventType({
      topic: conversationEvents.memberRemoved,
      typename: 'MemberRemoved',
      fields: (p) => ({ user: ref('User', p.userId), actor: ref('User', p.byUserId) }),
      audience: (p) => ({ kind: 'members-and', userId: p.userId }),
      endsConversationFor: (p) => (userId) => userId === p.userId,
    }),
    eventType({
      topic: conversationEvents.roleChanged,
      typename: 'MemberRoleChanged',
      fields: (p) => ({ user: ref('User', p.userId), role: p.role, actor: ref('User', p.byUserId) }),
    }),
    eventType({
      topic: conversationEvents.deleted,
      typename: 'ConversationDeleted',
      fields: (p) => ({ actor: ref('User', p.byUserId) }),
      audience: (p) => ({ kind: 'users', userIds: p.memberIds }),
      endsConversationFor: () => () => true,
    }),
    eventType({
      topic: conversationEvents.read,
      typename: 'ReadReceipt',
      fields: (p) => ({ user: ref('User', p.userId), lastReadSeq: p.readSeq }),
      // Receipts are not exchanged across a block (decided by the conversations service when it happened).
      audience: (p) => ({ kind: 'members', except: p.excludedUserIds }),
    }),
    eventType({
      topic: conversationEvents.delivered,
      typename: 'DeliveryReceipt',
      fields: (p) => ({ user: ref('User', p.userId), lastDeliveredSeq: p.deliveredSeq }),
      audience: (p) => ({ kind: 'members', except: p.excludedUserIds }),
    }),
    eventType({
      topic: userEvents.updated,
      typename: 'UserUpdated',
      fields: (p) => ({ user: ref('User', p.userId) }),
      // Decided by the users service when it delivered it (the user and contacts either way, minus blocks).
      // No conversation: `events` subscribers in it get it, `conversationEvents` ones do not.
      audience: (p) => ({ kind: 'users', userIds: p.audience }),
    }),
    eventType({
      topic: fellowMemberEvents.updated,
      typename: 'UserUpdated',
      fields: (p) => ({ user: ref('User', p.userId) }),
      // The same profile change for the fellow members users did not tell, decided by the conversations service
      // when it read users' event (minus its audience and blocks): one UserUpdated per change for everyone.
      audience: (p) => ({ kind: 'users', userIds: p.audience }),
    }),
    eventType({
      topic: presenceEvents.changed,
      typename: 'PresenceChanged',
      fields: (p) => ({
        user: ref('User', p.userId),
        presence: { status: p.status, lastSeenAt: p.lastSeenAt },
      }),
      // Decided by the presence service when it happened (who may see the user: users and conversations know).
      audience: (p) => ({ kind: 'users', userIds: p.audience }),
      presence: true,
    }),
    eventType({
      topic: presenceEvents.typing,
      typename: 'TypingChanged',
      fields: (p) => ({ user: ref('User', p.userId), typing: p.typing, expiresAt: p.expiresAt }),
      // Blocks either way with the typing user, decided by the presence service when it happened.
      audience: (p) => ({ kind: 'members', except: p.excludedUserIds }),
      presence: true,
    }),
  ].map((type) => [type.topic.name, type]),
);

export class UnknownEventError extends Error {
  constructor(topic: string, problem: string) {
    super(`Realtime event ${topic} cannot be delivered: ${problem}`);
    this.name = 'UnknownEventError';
  }
}

/** The event as the subscription type it becomes; throws UnknownEventError for a topic or payload it does not know. */
export function decodeEvent(event: { topic: string; payload: unknown; cursor: string }): DecodedEvent {
  const type = eventTypes[event.topic];
  if (!type) throw new UnknownEventError(event.topic, 'unknown topic');
  const parsed = type.topic.payload.safeParse(event.payload);
  if (!parsed.success) throw new UnknownEventError(event.topic, parsed.error.message);
  const payload = parsed.data as { conversationId?: string };
  return {
    value: {
      __typename: type.typename,
      cursor: event.cursor,
      conversationId: payload.conversationId?.toLowerCase() ?? null,
      ...type.fields(payload),
    },
    audience: type.audience?.(payload) ?? { kind: 'members' },
    endsConversationFor: type.endsConversationFor?.(payload) ?? never,
    presence: type.presence ?? false,
  };
}

/** Why a subscriber is told to reload (the schema's `ResyncReason`). */
export type ResyncReason = 'CURSOR_EXPIRED' | 'LOG_RESET' | 'LAGGING' | 'HYDRATION_FAILED';

/** A stream signal: events were lost for this subscriber. */
export function resyncEvent(cursor: string, reason: ResyncReason): EventValue {
  return { __typename: 'StreamResync', cursor, conversationId: null, reason };
}

export const isEntityRef = (value: unknown): value is EntityRef =>
  typeof value === 'object' && value !== null && 'entity' in value && 'id' in value;
