import type { RealtimeConnection, SignedInUser } from '@parley/testkit';
import { expect } from 'vitest';
import { ok } from '../conversations/operations.js';
import { graphql } from '../generated/index.js';
import type { PresenceEventsSubscription, PresenceOfQuery } from '../generated/graphql.js';
import { eventOf, type EventOfType, type EventSubscription } from '../realtime/operations.js';

export const PRESENCE_EVENTS = graphql(`
  subscription PresenceEvents($after: String) {
    events(after: $after, presence: true) {
      __typename
      cursor
      conversationId
      ... on PresenceChanged {
        user {
          id
        }
        presence {
          status
          lastSeenAt
        }
      }
      ... on TypingChanged {
        user {
          id
        }
        typing
        expiresAt
      }
    }
  }
`);
const PRESENCE_OF = graphql(`
  query PresenceOf($id: ID!) {
    user(id: $id) {
      presence {
        status
        lastSeenAt
      }
    }
  }
`);
const START_TYPING = graphql(`
  mutation StartTyping($id: ID!) {
    startTyping(conversationId: $id)
  }
`);
const TYPING_USERS = graphql(`
  query TypingUsers($id: ID!) {
    conversation(id: $id) {
      typingUsers {
        id
      }
    }
  }
`);

/** A user's presence, as PRESENCE_OF reads it. */
export type PresenceFields = NonNullable<PresenceOfQuery['user']['presence']>;

/** An event of PRESENCE_EVENTS: any type, but only presence and typing changes have more than their type. */
export type PresenceEvents = PresenceEventsSubscription['events'];

/** The events of PRESENCE_EVENTS the tests wait for: presence and typing changes. */
export type PresenceEvent = EventOfType<PresenceEvents, 'PresenceChanged' | 'TypingChanged'>;

export type PresenceSubscription = EventSubscription<PresenceEvents>;

export const subscribePresence = (socket: RealtimeConnection, after?: string): PresenceSubscription =>
  socket.subscribe(PRESENCE_EVENTS, { after });

/**
 * The next event of this type about this user, passing over others (a subscriber's stream also tells them
 * of their own presence, and of everyone else they may see).
 */
export async function nextEventAbout<TName extends PresenceEvent['__typename']>(
  subscription: PresenceSubscription,
  typename: TName,
  userId: string,
): Promise<EventOfType<PresenceEvents, TName>> {
  for (;;) {
    const event = eventOf(await subscription.next());
    if (event.__typename === typename && 'user' in event && event.user?.id === userId)
      return event as EventOfType<PresenceEvents, TName>;
  }
}

/** The events a subscription has received so far. */
export const receivedEvents = (subscription: PresenceSubscription) =>
  subscription.results.map((result) => eventOf(result));

/** `user(id) { presence }` as `viewer` sees it. */
export async function presenceOf(viewer: SignedInUser, user: SignedInUser): Promise<PresenceFields | null> {
  return (await ok(viewer, PRESENCE_OF, { id: user.id })).user.presence;
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
  ok(user, START_TYPING, { id: conversationId });

export const typingUsers = async (viewer: SignedInUser, conversationId: string) =>
  (await ok(viewer, TYPING_USERS, { id: conversationId })).conversation.typingUsers.map((user) => user.id);
