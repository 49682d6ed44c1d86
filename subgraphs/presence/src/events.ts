import type { PresenceStatus } from '@parley/kit';

/** Topics this subgraph appends to the realtime log (the router's event-types.ts decodes them). */
export const presenceEvents = {
  changed: 'presence.changed',
  typing: 'presence.typing',
} as const;

export interface PresenceChangedPayload {
  userId: string;
  status: PresenceStatus;
  /** ISO time; null while not OFFLINE, when the user hides it, or never seen. */
  lastSeenAt: string | null;
  /** Who may see it when it happened: the user, their contacts and fellow members, minus blocks either way. */
  audience: string[];
}

export interface TypingPayload {
  conversationId: string;
  userId: string;
  typing: boolean;
  /** ISO time the indicator ends unless renewed; null when it stopped. */
  expiresAt: string | null;
  /** Members who are not told: a block either way between them and the typing user. */
  excludedUserIds: string[];
}

/** What this subgraph reads of other subgraphs' events on the bus (their events.ts have the whole shapes). */
export const followedEvents = {
  messageAdded: 'messages.added',
  sessionsRevoked: 'users.sessions-revoked',
  userDeleted: 'users.deleted',
} as const;
export interface MessageAddedEvent {
  conversationId: string;
  senderId: string;
}
export interface UserDeletedEvent {
  userId: string;
}
export interface SessionsRevokedEvent {
  userId: string;
  sessionIds: string[];
}
