import { z } from 'zod';

/** Domain events this service publishes (after the change is committed). Payloads carry ids only. */
export const userEvents = {
  updated: 'users.updated',
  blocked: 'users.blocked',
  unblocked: 'users.unblocked',
  deleted: 'users.deleted',
  sessionsRevoked: 'users.sessions-revoked',
} as const;

const id = z.string().min(1).max(100);

/**
 * `users.updated` (display name, bio or avatar changed), through the outbox to the realtime log and the bus;
 * the router decodes it with this schema (it becomes `UserUpdated`).
 */
export const userUpdatedPayload = z.object({
  userId: id,
  /** Who may see the user when it was delivered: the user, contacts either way and fellow members, minus blocks. */
  audience: z.array(id).max(1_000_000),
});
export type UserUpdatedEvent = z.output<typeof userUpdatedPayload>;

export interface UserBlockedEvent {
  blockerId: string;
  blockedId: string;
}
export interface UserDeletedEvent {
  userId: string;
}
export interface SessionsRevokedEvent {
  userId: string;
  sessionIds: string[];
}
