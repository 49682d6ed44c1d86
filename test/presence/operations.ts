import type { RealtimeConnection, SignedInUser } from '@parley/testkit';
import { expect } from 'vitest';
import { ok } from '../conversations/operations.js';
import { eventOf, type EventSubscription } from '../realtime/operations.js';

export interface PresenceFields {
  status: 'ONLINE' | 'AWAY' | 'OFFLINE';
  lastSeenAt: string | null;
}

export const PRESENCE_EVENTS = `subscription ($after: String) {
  events(after: $after, presence: true) {
    __typename cursor conversationId
    ... on PresenceChanged { user { id } presence { status lastSeenAt } }
    ... on TypingChanged { user { id } typing expiresAt }
  }
}`;

export interface PresenceEvent {
  __typename: 'PresenceChanged' | 'TypingChanged';
  conversationId: string | null;
  user: { id: string } | null;
  presence?: PresenceFields;
  typing?: boolean;
  expiresAt?: string | null;
}

export const subscribePresence = (socket: RealtimeConnection, after?: string): EventSubscription =>
  socket.subscribe(PRESENCE_EVENTS, { after });

/**
 * The next event of this type about this user, passing over others (a subscriber's stream also tells them
 * of their own presence, and of everyone else they may see).
 */
export async function nextEventAbout(
  subscription: EventSubscription,
  typename: PresenceEvent['__typename'],
  userId: string,
): Promise<PresenceEvent> {
  for (;;) {
    const event = eventOf(await subscription.next()) as unknown as PresenceEvent;
    if (event.__typename === typename && event.user?.id === userId) return event;
  }
}

/** The events a subscription has received so far. */
export const receivedEvents = (subscription: EventSubscription) =>
  subscription.results.map((result) => eventOf(result) as unknown as PresenceEvent);

/** `user(id) { presence }` as `viewer` sees it. */
export async function presenceOf(viewer: SignedInUser, user: SignedInUser): Promise<PresenceFields | null> {
  const data = await ok<{ user: { presence: PresenceFields | null } }>(
    viewer,
    `query ($id: ID!) { user(id: $id) { presence { status lastSeenAt } } }`,
    { id: user.id },
  );
  return data.user.presence;
}

/** Waits until `viewer` sees `user` with this status (presence changes settle before they show in events, not in reads). */
export async function expectStatus(
  viewer: SignedInUser,
  user: SignedInUser,
  status: PresenceFields['status'],
) {
  await expect.poll(async () => (await presenceOf(viewer, user))?.status, { timeout: 10_000 }).toBe(status);
}

export const startTyping = (user: SignedInUser, conversationId: string) =>
  ok<{ startTyping: string }>(user, `mutation ($id: ID!) { startTyping(conversationId: $id) }`, {
    id: conversationId,
  });

export const typingUsers = async (viewer: SignedInUser, conversationId: string) =>
  (
    await ok<{ conversation: { typingUsers: Array<{ id: string }> } }>(
      viewer,
      `query ($id: ID!) { conversation(id: $id) { typingUsers { id } } }`,
      { id: conversationId },
    )
  ).conversation.typingUsers.map((user) => user.id);
