import { defineTopic, type PayloadOf } from '@parley/kit';
import { z } from 'zod';

const id = z.string().min(1).max(100);

/**
 * Domain events this service publishes (after the change is committed): the one declaration of each topic's
 * name and payload, which consumers import (`@parley/users/events`). Payloads carry ids only.
 */
export const userEvents = {
  /**
   * Display name, bio or avatar changed; through the outbox to the realtime log (it becomes `UserUpdated`), the
   * bus and a durable stream (the conversations service tells the user's fellow members from it).
   */
  updated: defineTopic(
    'users.updated',
    z.object({
      userId: id,
      /**
       * Who this service tells, decided when it was delivered: the user and their contacts either way, minus
       * blocks either way. Fellow members are not in it unless they are contacts: the conversations service
       * tells the others (`conversations.fellow-member-updated`).
       */
      audience: z.array(id).max(1_000_000),
      /**
       * The change's id (`users:<outbox id>`), the same in every redelivery: what the realtime log stores it
       * under, and what a consumer derives its own idempotent ids from (absent from events written before).
       */
      eventId: id.optional(),
    }),
  ),
  blocked: defineTopic('users.blocked', z.object({ blockerId: id, blockedId: id })),
  unblocked: defineTopic('users.unblocked', z.object({ blockerId: id, blockedId: id })),
  deleted: defineTopic('users.deleted', z.object({ userId: id })),
  /** Sessions ended (logout, revocation, password change, deletion): their sockets close. */
  sessionsRevoked: defineTopic(
    'users.sessions-revoked',
    z.object({ userId: id, sessionIds: z.array(id).max(1_000_000) }),
  ),
} as const;

export type UserUpdatedEvent = PayloadOf<typeof userEvents.updated>;
export type UserBlockedEvent = PayloadOf<typeof userEvents.blocked>;
export type UserDeletedEvent = PayloadOf<typeof userEvents.deleted>;
export type SessionsRevokedEvent = PayloadOf<typeof userEvents.sessionsRevoked>;
