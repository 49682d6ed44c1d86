import { randomUUID } from 'node:crypto';
import {
  connectRealtime,
  createGraphQLClient,
  registerUserAt,
  within,
  type RealtimeConnection,
  type SignedInUser,
} from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { history, SEND } from '../messages/operations.js';
import { nextEventAbout, startTyping, subscribePresence, typingUsers } from '../presence/operations.js';
import {
  activeSubscriptions,
  LOGOUT,
  nextEvent,
  subscribeEvents,
  type EventFields,
  type EventSubscription,
} from '../realtime/operations.js';
import { startCluster, type Cluster, type RouterInstance } from './cluster.js';

/** Messages sent to the group, alternately through each router; every fifth is followed by one to the DM. */
const GROUP_MESSAGES = 20;
const DM_EVERY = 5;

const MARK_READ = `mutation ($id: ID!, $upToSeq: Int!) { markRead(conversationId: $id, upToSeq: $upToSeq) { id } }`;
const RENAME = `mutation ($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { id } }`;

let cluster: Cluster;
let routerA: RouterInstance;
let routerB: RouterInstance;
const sockets: RealtimeConnection[] = [];

/** Registers a user through `router` (so its users subgraph copy signs the token). */
const register = (router: RouterInstance, name: string) => registerUserAt(router.url, name);

/** The same signed-in user, talking to another router. */
const through = (user: SignedInUser, router: RouterInstance): SignedInUser => ({
  ...user,
  client: createGraphQLClient({ url: router.url, token: user.accessToken }),
});

/** The events a subscription receives up to and including the first that `isLast` accepts. */
async function eventsUntil(subscription: EventSubscription, isLast: (event: EventFields) => boolean) {
  const events: EventFields[] = [];
  for (;;) {
    const event = await nextEvent(subscription, 20_000);
    events.push(event);
    if (isLast(event)) return events;
  }
}

beforeAll(async () => {
  cluster = await startCluster({ label: 'scale_out' });
  [routerA, routerB] = cluster.routers as [RouterInstance, RouterInstance];
});

afterAll(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  try {
    if (cluster) {
      // Every process ends its graceful shutdown (registerGracefulShutdown) with exit code 0.
      const codes = await cluster.stopProcesses();
      expect(codes).toEqual(Object.fromEntries(cluster.processes.map(({ name }) => [name, 0])));
    }
  } finally {
    await cluster?.stop();
  }
});

describe('two routers and two copies of every subgraph on one Redis and one PostgreSQL', () => {
  it('delivers every message once and in order on both routers, whichever router sent it; typing, receipts, history and logouts cross over too', async () => {
    // Tokens signed by either users copy pass everywhere: ann and cat register through A, bob through B.
    const ann = await register(routerA, 'ann');
    const bob = await register(routerB, 'bob');
    const cat = await register(routerA, 'cat');
    const members = [ann, bob, cat];
    const me = await ok<{ me: { id: string } }>(through(bob, routerA), '{ me { id } }');
    expect(me.me.id).toBe(bob.id);

    const group = await createGroup(through(ann, routerB), [bob, cat], 'Scaled out');
    const dm = await createDm(through(bob, routerA), ann);

    // Every member subscribes on both routers; cat on B also follows typing.
    const subscriptions = new Map<string, EventSubscription>();
    const socketsOf = new Map<SignedInUser, RealtimeConnection[]>();
    for (const user of members) {
      for (const router of [routerA, routerB]) {
        const socket = await connectRealtime(router.wsUrl, { token: user.accessToken });
        sockets.push(socket);
        socketsOf.set(user, [...(socketsOf.get(user) ?? []), socket]);
        subscriptions.set(`${user.username}@${router.name}`, subscribeEvents(socket));
      }
    }
    const typing = subscribePresence(sockets.at(-1)!);
    for (const [router, count] of [
      [routerA, members.length],
      [routerB, members.length + 1],
    ] as const) {
      await expect.poll(() => activeSubscriptions(router.metricsUrl), { timeout: 10_000 }).toBe(count);
    }

    // Typing through A (presence copy 1, written to Redis) reaches cat on B, and B's presence copy reads it.
    await startTyping(through(bob, routerA), group.id);
    expect(await nextEventAbout(typing, 'TypingChanged', bob.id)).toMatchObject({
      conversationId: group.id,
      typing: true,
    });
    expect(await typingUsers(through(cat, routerB), group.id)).toEqual([bob.id]);

    const expected = new Map<string, string[]>([
      [group.id, []],
      [dm.id, []],
    ]);
    const sendThrough = async (index: number, sender: SignedInUser, conversationId: string) => {
      const router = index % 2 === 0 ? routerA : routerB;
      const body = `${conversationId === dm.id ? 'dm' : 'group'} ${index} from ${sender.username} via ${router.name}`;
      const input = { conversationId, body, clientMutationId: randomUUID() };
      const sent = await ok(through(sender, router), SEND, { input });
      const bodies = expected.get(conversationId)!;
      bodies.push(body);
      expect(sent.sendMessage.seq).toBe(bodies.length);
    };
    for (let index = 1; index <= GROUP_MESSAGES; index += 1) {
      await sendThrough(index, members[index % members.length]!, group.id);
      if (index % DM_EVERY === 0) await sendThrough(index, index % 2 === 0 ? ann : bob, dm.id);
    }

    await ok(through(ann, routerB), MARK_READ, { id: group.id, upToSeq: GROUP_MESSAGES });
    // The group renamed through B after every send: once a subscriber has it, it has had everything before.
    await ok(through(ann, routerB), RENAME, { id: group.id, input: { title: 'Crossed over' } });
    const isMarker = (event: EventFields) =>
      event.__typename === 'ConversationUpdated' && event.conversationId === group.id;

    for (const [name, subscription] of subscriptions) {
      const events = await eventsUntil(subscription, isMarker);
      const inDm = name.startsWith(cat.username) ? [] : expected.get(dm.id)!;
      const received = (conversationId: string) =>
        events
          .filter((event) => event.__typename === 'MessageAdded')
          .filter((event) => event.conversationId === conversationId)
          .map((event) => ({ seq: event.message?.seq, body: event.message?.body }));
      const inOrder = (bodies: string[]) => bodies.map((body, index) => ({ seq: index + 1, body }));
      expect(received(group.id), name).toEqual(inOrder(expected.get(group.id)!));
      expect(received(dm.id), name).toEqual(inOrder(inDm));
      // Nothing else: no duplicate, no resync, no event of a conversation the subscriber is not in; besides
      // the messages, ann's markRead (a send moves its sender's marker with no receipt of its own).
      expect(events.length, name).toBe(GROUP_MESSAGES + inDm.length + 2);
      expect(subscription.results.length, name).toBe(events.length);
    }

    // History written through either copy reads the same through the other router.
    const groupHistory = await history(through(cat, routerB), group.id, { first: 50 });
    expect(groupHistory.edges.map(({ node }) => node.body)).toEqual(expected.get(group.id));
    const dmHistory = await history(through(bob, routerA), dm.id, { first: 50 });
    expect(dmHistory.edges.map(({ node }) => node.body)).toEqual(expected.get(dm.id));
    // Conversations learns of messages from a Redis stream its copies share as one consumer group.
    for (const router of [routerA, routerB]) {
      await expect
        .poll(
          async () =>
            (
              await ok<{ conversation: { lastSeq: number; lastReadSeq: number } }>(
                through(ann, router),
                'query ($id: ID!) { conversation(id: $id) { lastSeq lastReadSeq } }',
                { id: group.id },
              )
            ).conversation,
        )
        .toEqual({ lastSeq: GROUP_MESSAGES, lastReadSeq: GROUP_MESSAGES });
    }

    // A logout through A (users copy 1) reaches router B through Redis: the session's sockets close on both.
    expect((await ok(through(ann, routerA), LOGOUT)).logout).toBe(true);
    const closed = await within(
      Promise.all(socketsOf.get(ann)!.map((socket) => socket.closed)),
      10_000,
      "the close of ann's sockets on both routers",
    );
    expect(closed.map(({ code }) => code)).toEqual([4403, 4403]);
  });
});
