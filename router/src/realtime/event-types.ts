import { userUpdatedPayload } from '@parley/users/events';
import { z } from 'zod';

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

const id = z.string().min(1).max(100);
const ref = (entity: EntityRef['entity'], value: string): EntityRef => ({ entity, id: value });
const never = () => false;

interface EventType<Schema extends z.ZodType> {
  typename: string;
  payload: Schema;
  fields(payload: z.output<Schema>): Record<string, unknown>;
  audience?(payload: z.output<Schema>): Audience;
  /** See DecodedEvent.presence. */
  presence?: true;
  endsConversationFor?(payload: z.output<Schema>): (userId: string) => boolean;
}

const eventType = <Schema extends z.ZodType>(type: EventType<Schema>) => type;

/**
 * Every topic the realtime log carries, by the GraphQL type it becomes (declared in the subgraph that owns
 * it) and the payload its publisher writes (subgraphs/<name>/src/events.ts; imported from there where the
 * producer declares it as a schema). Fields named like the GraphQL field they fill; references are resolved
 * by hydration.
 */
export const eventTypes: Record<string, EventType<z.ZodType>> = {
  'messages.added': eventType({
    typename: 'MessageAdded',
    payload: z.object({ conversationId: id, messageId: id }),
    fields: (p) => ({ message: ref('Message', p.messageId) }),
  }),
  'messages.edited': eventType({
    typename: 'MessageEdited',
    payload: z.object({ conversationId: id, messageId: id }),
    fields: (p) => ({ message: ref('Message', p.messageId) }),
  }),
  'messages.deleted': eventType({
    typename: 'MessageDeleted',
    payload: z.object({ conversationId: id, messageId: id, byUserId: id }),
    fields: (p) => ({ message: ref('Message', p.messageId), actor: ref('User', p.byUserId) }),
  }),
  'messages.reaction-changed': eventType({
    typename: 'ReactionChanged',
    payload: z.object({
      conversationId: id,
      messageId: id,
      userId: id,
      emoji: z.string().max(100),
      added: z.boolean(),
    }),
    fields: (p) => ({
      message: ref('Message', p.messageId),
      user: ref('User', p.userId),
      emoji: p.emoji,
      added: p.added,
    }),
  }),
  'conversations.updated': eventType({
    typename: 'ConversationUpdated',
    payload: z.object({ conversationId: id, byUserId: id }),
    fields: (p) => ({ conversation: ref('Conversation', p.conversationId), actor: ref('User', p.byUserId) }),
  }),
  'conversations.member-added': eventType({
    typename: 'MemberAdded',
    payload: z.object({ conversationId: id, userId: id, byUserId: id }),
    fields: (p) => ({
      user: ref('User', p.userId),
      conversation: ref('Conversation', p.conversationId),
      actor: ref('User', p.byUserId),
    }),
  }),
  'conversations.member-removed': eventType({
    typename: 'MemberRemoved',
    payload: z.object({ conversationId: id, userId: id, byUserId: id }),
    fields: (p) => ({ user: ref('User', p.userId), actor: ref('User', p.byUserId) }),
    audience: (p) => ({ kind: 'members-and', userId: p.userId }),
    endsConversationFor: (p) => (userId) => userId === p.userId,
  }),
  'conversations.role-changed': eventType({
    typename: 'MemberRoleChanged',
    payload: z.object({
      conversationId: id,
      userId: id,
      role: z.enum(['OWNER', 'ADMIN', 'MEMBER']),
      byUserId: id,
    }),
    fields: (p) => ({ user: ref('User', p.userId), role: p.role, actor: ref('User', p.byUserId) }),
  }),
  'conversations.deleted': eventType({
    typename: 'ConversationDeleted',
    payload: z.object({ conversationId: id, byUserId: id, memberIds: z.array(id).max(100_000) }),
    fields: (p) => ({ actor: ref('User', p.byUserId) }),
    audience: (p) => ({ kind: 'users', userIds: p.memberIds }),
    endsConversationFor: () => () => true,
  }),
  'conversations.read': eventType({
    typename: 'ReadReceipt',
    payload: z.object({
      conversationId: id,
      userId: id,
      readSeq: z.number().int().nonnegative(),
      // Absent from events written before receipts were kept from blocked members.
      excludedUserIds: z.array(id).max(100_000).default([]),
    }),
    fields: (p) => ({ user: ref('User', p.userId), lastReadSeq: p.readSeq }),
    // Receipts are not exchanged across a block (decided by the conversations service when it happened).
    audience: (p) => ({ kind: 'members', except: p.excludedUserIds }),
  }),
  'conversations.delivered': eventType({
    typename: 'DeliveryReceipt',
    payload: z.object({
      conversationId: id,
      userId: id,
      deliveredSeq: z.number().int().nonnegative(),
      excludedUserIds: z.array(id).max(100_000).default([]),
    }),
    fields: (p) => ({ user: ref('User', p.userId), lastDeliveredSeq: p.deliveredSeq }),
    audience: (p) => ({ kind: 'members', except: p.excludedUserIds }),
  }),
  'users.updated': eventType({
    typename: 'UserUpdated',
    payload: userUpdatedPayload,
    fields: (p) => ({ user: ref('User', p.userId) }),
    // Decided by the users service when it delivered it (the user, contacts, fellow members, minus blocks).
    // No conversation: `events` subscribers in it get it, `conversationEvents` ones do not.
    audience: (p) => ({ kind: 'users', userIds: p.audience }),
  }),
  'presence.changed': eventType({
    typename: 'PresenceChanged',
    payload: z.object({
      userId: id,
      status: z.enum(['ONLINE', 'AWAY', 'OFFLINE']),
      lastSeenAt: z.iso.datetime().nullable(),
      audience: z.array(id).max(1_000_000),
    }),
    fields: (p) => ({
      user: ref('User', p.userId),
      presence: { status: p.status, lastSeenAt: p.lastSeenAt },
    }),
    // Decided by the presence service when it happened (who may see the user: users and conversations know).
    audience: (p) => ({ kind: 'users', userIds: p.audience }),
    presence: true,
  }),
  'presence.typing': eventType({
    typename: 'TypingChanged',
    payload: z.object({
      conversationId: id,
      userId: id,
      typing: z.boolean(),
      expiresAt: z.iso.datetime().nullable(),
      // Absent from events written before blocks were excluded.
      excludedUserIds: z.array(id).max(100_000).default([]),
    }),
    fields: (p) => ({ user: ref('User', p.userId), typing: p.typing, expiresAt: p.expiresAt }),
    // Blocks either way with the typing user, decided by the presence service when it happened.
    audience: (p) => ({ kind: 'members', except: p.excludedUserIds }),
    presence: true,
  }),
};

export const realtimeTopics = Object.keys(eventTypes);

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
  const parsed = type.payload.safeParse(event.payload);
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
