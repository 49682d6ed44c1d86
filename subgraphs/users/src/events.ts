/** Domain events this service publishes (after the change is committed). Payloads carry ids only. */
export const userEvents = {
  updated: 'users.updated',
  blocked: 'users.blocked',
  unblocked: 'users.unblocked',
  deleted: 'users.deleted',
  sessionsRevoked: 'users.sessions-revoked',
} as const;

export interface UserUpdatedEvent {
  userId: string;
}
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
