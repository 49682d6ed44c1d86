import {
  connectRealtime,
  type ConnectRealtimeOptions,
  type RealtimeConnection,
  type RealtimeSubscription,
  type SignedInUser,
} from '@parley/testkit';
import { afterEach, expect } from 'vitest';
import { ok } from '../conversations/operations.js';
import { graphql } from '../generated/index.js';
import type { EventFieldsFragment } from '../generated/graphql.js';

/**
 * What the tests read of every event; `message` without per-viewer fields, so subscribers can share it.
 * Codegen reads this fragment from here; each document that spreads it carries its text.
 */
graphql(`
  fragment EventFields on RealtimeEvent {
    __typename
    cursor
    conversationId
    ... on MessageAdded {
      message {
        id
        seq
        body
        sender {
          id
          displayName
        }
      }
    }
    ... on MessageEdited {
      message {
        id
        seq
        body
      }
    }
    ... on MessageDeleted {
      message {
        id
        seq
      }
    }
    ... on MemberAdded {
      user {
        id
      }
    }
    ... on MemberRemoved {
      user {
        id
      }
      actor {
        id
      }
    }
    ... on ReadReceipt {
      user {
        id
      }
      lastReadSeq
    }
    ... on StreamResync {
      reason
    }
  }
`);

export const EVENTS = graphql(`
  subscription Events($after: String) {
    events(after: $after) {
      ...EventFields
    }
  }
`);
export const CONVERSATION_EVENTS = graphql(`
  subscription ConversationEvents($conversationId: ID!, $after: String) {
    conversationEvents(conversationId: $conversationId, after: $after) {
      ...EventFields
    }
  }
`);

export const REMOVE_MEMBER = graphql(`
  mutation RemoveMember($conversationId: ID!, $userId: ID!) {
    removeMember(conversationId: $conversationId, userId: $userId)
  }
`);
export const LOGOUT = graphql(`
  mutation Logout {
    logout
  }
`);

/**
 * An event of EVENTS or CONVERSATION_EVENTS: one type per event type, told apart by `__typename` (which
 * narrows it to the fields selected on that type).
 */
export type EventFields = EventFieldsFragment;

/** What every event selection here reads: its type. */
interface NamedEvent {
  __typename: string;
}

/**
 * A subscription to `events` or `conversationEvents`: each result answers its one root field. Its events
 * are EventFields unless another selection says what they are.
 */
export type EventSubscription<TEvent extends NamedEvent = EventFields> = RealtimeSubscription<
  Record<string, TEvent>
>;

/** The events of TEvent of this type (those that may be of it, when TEvent names its type as any string). */
export type EventOfType<TEvent extends NamedEvent, TName extends string> = TEvent extends unknown
  ? TName extends TEvent['__typename']
    ? TEvent & { __typename: TName }
    : never
  : never;

export const subscribeEvents = (socket: RealtimeConnection, after?: string): EventSubscription =>
  socket.subscribe(EVENTS, { after });

export const subscribeConversation = (
  socket: RealtimeConnection,
  conversationId: string,
  after?: string,
): EventSubscription => socket.subscribe(CONVERSATION_EVENTS, { conversationId, after });

/** The event of one result (of any selection: the fields asked for), which must have no errors. */
export function eventOf<TEvent>(result: { data?: Record<string, TEvent> | null; errors?: unknown }): TEvent {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const [event] = Object.values(result.data ?? {});
  expect(event, `a result without an event: ${JSON.stringify(result)}`).toBeDefined();
  return event!;
}

export const nextEvent = async <TEvent extends NamedEvent>(
  subscription: EventSubscription<TEvent>,
  timeoutMs?: number,
) => eventOf(await subscription.next(timeoutMs));

/** The next event of the given type; receipts of the sender's own sends may come first and are skipped. */
export async function nextOf<TEvent extends NamedEvent, TName extends TEvent['__typename']>(
  subscription: EventSubscription<TEvent>,
  typename: TName,
  timeoutMs?: number,
): Promise<EventOfType<TEvent, TName>> {
  for (;;) {
    const event = await nextEvent(subscription, timeoutMs);
    if (event.__typename === typename) return event as EventOfType<TEvent, TName>;
    expect(
      ['ReadReceipt', 'DeliveryReceipt'],
      `${typename} expected, got ${JSON.stringify(event)}`,
    ).toContain(event.__typename);
  }
}

/** The next MessageAdded, passing over read and delivery receipts. */
export const nextMessage = <TEvent extends NamedEvent>(
  subscription: EventSubscription<TEvent>,
  timeoutMs?: number,
) => nextOf(subscription, 'MessageAdded', timeoutMs);

/** The next `count` MessageAdded events, as `nextMessage`. */
export async function takeMessages<TEvent extends NamedEvent>(
  subscription: EventSubscription<TEvent>,
  count: number,
  timeoutMs?: number,
) {
  const messages: EventOfType<TEvent, 'MessageAdded'>[] = [];
  while (messages.length < count) messages.push(await nextMessage(subscription, timeoutMs));
  return messages;
}

/** The bodies of MessageAdded events, the others named by their type: compact to compare in order. */
export const summaryOf = (events: EventFields[]) =>
  events.map((event) =>
    event.__typename === 'MessageAdded' ? `MessageAdded ${event.message?.body}` : event.__typename,
  );

/** `extensions.code` of each GraphQL error. */
export const codesOf = (errors: readonly { extensions?: Record<string, unknown> }[]) =>
  errors.map((error) => error.extensions?.['code']);

/** The sum of a Prometheus metric's samples at `metricsUrl` (every label set); undefined if absent. */
export async function metricValue(metricsUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  const samples = text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  return samples.length === 0 ? undefined : samples.reduce((sum, value) => sum + value, 0);
}

/** Both read a router's metrics URL (its METRICS_PORT). */
export const activeSubscriptions = (metricsUrl: string) =>
  metricValue(metricsUrl, 'router_active_subscriptions');
export const hydrations = (metricsUrl: string) =>
  metricValue(metricsUrl, 'router_subscription_hydrations_total');

/** A router to connect to: its graphql-ws URL and its metrics (the test kit's platform is one). */
export interface RouterTarget {
  wsUrl: string;
  metricsUrls: { router: string };
}

/**
 * Sockets for one test file: `connect` opens one for a user (on the file's router unless told), and every
 * socket is closed after each test, which waits until its router counts no subscription any more (so the
 * next test's `live` counts its own).
 */
export function useRealtime(defaultRouter: () => RouterTarget) {
  const sockets: RealtimeConnection[] = [];
  const routers = new Map<string, RouterTarget>();
  async function closeAll() {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    for (const { metricsUrls } of routers.values()) {
      await expect.poll(() => activeSubscriptions(metricsUrls.router), { timeout: 10_000 }).toBe(0);
    }
    routers.clear();
  }
  afterEach(closeAll);

  return {
    /** Closes every socket now (as after each test), for a test that runs several scenarios. */
    closeAll,

    async connect(
      user: SignedInUser | undefined,
      router: RouterTarget = defaultRouter(),
      options: ConnectRealtimeOptions = {},
    ) {
      const socket = await connectRealtime(router.wsUrl, { token: user?.accessToken, ...options });
      sockets.push(socket);
      routers.set(router.metricsUrls.router, router);
      return socket;
    },

    /**
     * Waits until the router counts `count` subscriptions: graphql-ws does not acknowledge a subscribe, and
     * an event published before the router has the subscription is (rightly) not delivered to it.
     */
    async live(count: number, router: RouterTarget = defaultRouter()) {
      try {
        await expect
          .poll(() => activeSubscriptions(router.metricsUrls.router), { timeout: 10_000 })
          .toBe(count);
      } catch (error) {
        const ended = sockets.flatMap((socket) =>
          socket.subscriptions.map((subscription) => subscription.ended),
        );
        throw new Error(
          `router_active_subscriptions of ${router.metricsUrls.router} did not reach ${count}: ${(error as Error).message}; ` +
            `this test's subscriptions: ${ended.map((how) => how ?? 'running').join(', ')}`,
          { cause: error },
        );
      }
    },
  };
}

export async function removeMember(admin: SignedInUser, conversationId: string, member: SignedInUser) {
  await ok(admin, REMOVE_MEMBER, { conversationId, userId: member.id });
}
