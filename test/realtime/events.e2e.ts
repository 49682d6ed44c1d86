import { randomUUID } from 'node:crypto';
import { startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, ok } from '../conversations/operations.js';
import { ADD_REACTION, DELETE, EDIT, REMOVE_REACTION, send } from '../messages/operations.js';
import {
  codesOf,
  eventOf,
  nextEvent,
  nextMessage,
  nextOf,
  removeMember,
  useRealtime,
  type EventFields,
  type EventSubscription,
} from './operations.js';

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let cy: SignedInUser;

beforeAll(async () => {
  parley = await startParley({ label: 'realtime_events' });
  [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

const subscribeEventsOf = (socket: Awaited<ReturnType<typeof realtime.connect>>) =>
  socket.subscribe(`subscription { events { __typename } }`) as EventSubscription;

/** Every event type with the fields its publisher's payload fills and the references hydration fills. */
const ALL_EVENTS = `subscription ($conversationId: ID!) {
  conversationEvents(conversationId: $conversationId) {
    __typename conversationId
    ... on ConversationUpdated { conversation { id title } actor { id } }
    ... on MemberAdded { user { id } conversation { id memberCount } actor { id } }
    ... on MemberRoleChanged { user { id } role actor { id } }
    ... on MessageAdded { message { id body } }
    ... on MessageEdited { message { id body } }
    ... on ReactionChanged { message { id reactions { emoji count } } user { id } emoji added }
    ... on MessageDeleted { message { id body } actor { id } }
    ... on ReadReceipt { user { id } lastReadSeq }
    ... on DeliveryReceipt { user { id } lastDeliveredSeq }
    ... on MemberRemoved { user { id } actor { id } }
    ... on ConversationDeleted { actor { id } }
  }
}`;

describe('event types', () => {
  it('delivers every kind of conversation and message event with its fields filled in', async () => {
    const [dan] = await parley.registerUsers('dan');
    const group = await createGroup(ann, [bob, cy], 'Events');
    const id = group.id;
    // ALL_EVENTS selects more than EventFields: of the rest, the loop below reads a DeliveryReceipt's user.
    const events = (await realtime.connect(bob)).subscribe(ALL_EVENTS, {
      conversationId: id,
    }) as EventSubscription<EventFields & { user?: { id: string } | null }>;
    await realtime.live(1);
    const at = { conversationId: id };

    await ok(ann, `mutation ($id: ID!) { updateGroup(id: $id, input: { title: "Renamed" }) { id } }`, { id });
    expect(await nextOf(events, 'ConversationUpdated')).toEqual({
      __typename: 'ConversationUpdated',
      ...at,
      conversation: { id, title: 'Renamed' },
      actor: { id: ann.id },
    });

    await ok(ann, `mutation ($id: ID!, $u: [ID!]!) { addMembers(conversationId: $id, userIds: $u) { id } }`, {
      id,
      u: [dan!.id],
    });
    expect(await nextOf(events, 'MemberAdded')).toEqual({
      __typename: 'MemberAdded',
      ...at,
      user: { id: dan!.id },
      conversation: { id, memberCount: 4 },
      actor: { id: ann.id },
    });

    await ok(
      ann,
      `mutation ($id: ID!, $u: ID!) { setMemberRole(conversationId: $id, userId: $u, role: ADMIN) { role } }`,
      {
        id,
        u: cy.id,
      },
    );
    expect(await nextOf(events, 'MemberRoleChanged')).toEqual({
      __typename: 'MemberRoleChanged',
      ...at,
      user: { id: cy.id },
      role: 'ADMIN',
      actor: { id: ann.id },
    });

    const message = await send(ann, id, 'first');
    expect(await nextOf(events, 'MessageAdded')).toEqual({
      __typename: 'MessageAdded',
      ...at,
      message: { id: message.id, body: 'first' },
    });

    await ok(ann, EDIT, { input: { id: message.id, body: 'edited' } });
    expect(await nextOf(events, 'MessageEdited')).toEqual({
      __typename: 'MessageEdited',
      ...at,
      message: { id: message.id, body: 'edited' },
    });

    await ok(cy, ADD_REACTION, { id: message.id, emoji: '👍' });
    expect(await nextOf(events, 'ReactionChanged')).toEqual({
      __typename: 'ReactionChanged',
      ...at,
      message: { id: message.id, reactions: [{ emoji: '👍', count: 1 }] },
      user: { id: cy.id },
      emoji: '👍',
      added: true,
    });
    await ok(cy, REMOVE_REACTION, { id: message.id, emoji: '👍' });
    expect(await nextOf(events, 'ReactionChanged')).toMatchObject({
      message: { reactions: [] },
      added: false,
    });

    await ok(cy, `mutation ($id: ID!) { markRead(conversationId: $id, upToSeq: 1) { id } }`, { id });
    expect(await nextOf(events, 'ReadReceipt')).toEqual({
      __typename: 'ReadReceipt',
      ...at,
      user: { id: cy.id },
      lastReadSeq: 1,
    });
    await ok(dan!, `mutation ($id: ID!) { markDelivered(conversationId: $id, upToSeq: 1) { id } }`, { id });
    let delivered = await nextEvent(events);
    while (delivered.__typename !== 'DeliveryReceipt' || delivered.user?.id !== dan!.id) {
      delivered = await nextEvent(events);
    }
    expect(delivered).toEqual({
      __typename: 'DeliveryReceipt',
      ...at,
      user: { id: dan!.id },
      lastDeliveredSeq: 1,
    });

    await ok(ann, DELETE, { id: message.id });
    expect(await nextOf(events, 'MessageDeleted')).toEqual({
      __typename: 'MessageDeleted',
      ...at,
      message: { id: message.id, body: null },
      actor: { id: ann.id },
    });

    await removeMember(ann, id, dan!);
    expect(await nextOf(events, 'MemberRemoved')).toEqual({
      __typename: 'MemberRemoved',
      ...at,
      user: { id: dan!.id },
      actor: { id: ann.id },
    });

    await ok(ann, `mutation ($id: ID!) { deleteConversation(id: $id) }`, { id });
    expect(await nextOf(events, 'ConversationDeleted')).toEqual({
      __typename: 'ConversationDeleted',
      ...at,
      actor: { id: ann.id },
    });
    // The conversation is gone, so is its subscription.
    await events.completed;
  });
});

describe('selections', () => {
  it('answers with the subscriber’s own aliases, fragments, variables and directives', async () => {
    const group = await createGroup(ann, [bob], 'Shapes');
    const socket = await realtime.connect(bob);
    const feed = socket.subscribe(
      `subscription Feed($n: Int!, $withBody: Boolean!) { feed: events { ...Event } }
       fragment Event on RealtimeEvent {
         kind: __typename
         at: cursor
         ... on MessageAdded { msg: message { ...Message text: body @include(if: $withBody) } }
       }
       fragment Message on Message { id who: sender { name: displayName } thread: latestReplies(last: $n) { id } }`,
      { n: 2, withBody: true },
    );
    await realtime.live(1);

    const message = await send(ann, group.id, 'shaped');

    const result = await feed.next();
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      feed: {
        kind: 'MessageAdded',
        at: expect.any(String),
        msg: { id: message.id, who: { name: ann.username }, thread: [], text: 'shaped' },
      },
    });
  });

  it('gives each viewer their own value of a per-viewer field, in one shared subscription document', async () => {
    const group = await createGroup(ann, [bob], 'Private');
    const SELECTION = `subscription ($id: ID!) {
      conversationEvents(conversationId: $id) { ... on MessageAdded { message { id clientMutationId } } }
    }`;
    const annEvents = (await realtime.connect(ann)).subscribe(SELECTION, { id: group.id });
    const bobEvents = (await realtime.connect(bob)).subscribe(SELECTION, { id: group.id });
    await realtime.live(2);

    const clientMutationId = randomUUID();
    const message = await send(ann, group.id, 'mine', { clientMutationId });

    // Only the sender sees the idempotency key: bob's result is not ann's.
    expect((await annEvents.next()).data).toEqual({
      conversationEvents: { message: { id: message.id, clientMutationId } },
    });
    expect((await bobEvents.next()).data).toEqual({
      conversationEvents: { message: { id: message.id, clientMutationId: null } },
    });
  });
});

describe('sharing', () => {
  it('keeps apart subscribers whose fragments use different variable values', async () => {
    const group = await createGroup(ann, [bob], 'Variables');
    const DOCUMENT = `subscription ($withBody: Boolean!) { events { ...Event } }
      fragment Event on RealtimeEvent { ... on MessageAdded { message { id body @include(if: $withBody) } } }`;
    const socket = await realtime.connect(bob);
    const withBody = socket.subscribe(DOCUMENT, { withBody: true });
    const without = socket.subscribe(DOCUMENT, { withBody: false });
    await realtime.live(2);

    const message = await send(ann, group.id, 'variable');

    expect((await withBody.next()).data).toEqual({
      events: { message: { id: message.id, body: 'variable' } },
    });
    expect((await without.next()).data).toEqual({ events: { message: { id: message.id } } });
  });

  it('fills in user references as each viewer may see them: not a user who blocked that viewer', async () => {
    const [dan] = await parley.registerUsers('dan');
    const group = await createGroup(ann, [bob, dan!], 'Blocks');
    const message = await send(ann, group.id, 'react to me');
    await ok(dan!, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: bob.id });
    const DOCUMENT = `subscription ($id: ID!) {
      conversationEvents(conversationId: $id) { ... on ReactionChanged { emoji user { id } } }
    }`;
    const annEvents = (await realtime.connect(ann)).subscribe(DOCUMENT, { id: group.id });
    const bobEvents = (await realtime.connect(bob)).subscribe(DOCUMENT, { id: group.id });
    await realtime.live(2);

    await ok(dan!, ADD_REACTION, { id: message.id, emoji: '🎉' });

    expect((await annEvents.next()).data).toEqual({
      conversationEvents: { emoji: '🎉', user: { id: dan!.id } },
    });
    const forBob = await bobEvents.next();
    expect(forBob.data).toEqual({ conversationEvents: { emoji: '🎉', user: null } });
    expect(codesOf(forBob.errors ?? [])).toEqual(['NOT_FOUND']);
  });
});

describe('cursors', () => {
  it('keeps following a conversation whose old removal of the viewer is replayed after they were added back', async () => {
    const group = await createGroup(ann, [bob, cy], 'Back again');
    const { realtimeCursor } = await ok<{ realtimeCursor: string }>(cy, `query { realtimeCursor }`);
    await removeMember(ann, group.id, cy);
    await ok(ann, `mutation ($id: ID!, $u: [ID!]!) { addMembers(conversationId: $id, userIds: $u) { id } }`, {
      id: group.id,
      u: [cy.id],
    });

    const events = (await realtime.connect(cy)).subscribe(
      `subscription ($id: ID!, $after: String) {
        conversationEvents(conversationId: $id, after: $after) { __typename ... on MessageAdded { message { body } } }
      }`,
      { id: group.id, after: realtimeCursor },
    ) as EventSubscription;
    expect((await nextEvent(events)).__typename).toBe('MemberRemoved');
    expect((await nextEvent(events)).__typename).toBe('MemberAdded');
    await realtime.live(1);
    await send(ann, group.id, 'welcome back');
    expect(await nextEvent(events)).toEqual({
      __typename: 'MessageAdded',
      message: { body: 'welcome back' },
    });
  });

  it('loses nothing between loading state and subscribing, from Query.realtimeCursor', async () => {
    const group = await createGroup(ann, [bob], 'Gapless');
    const { realtimeCursor } = await ok<{ realtimeCursor: string }>(bob, `query { realtimeCursor }`);
    // Sent after the client read its state and cursor, before it subscribed.
    const missed = await send(ann, group.id, 'in between');

    const events = (await realtime.connect(bob)).subscribe(
      `subscription ($after: String) { events(after: $after) { __typename ... on MessageAdded { message { id } } } }`,
      { after: realtimeCursor },
    ) as EventSubscription;

    expect(await nextEvent(events)).toEqual({ __typename: 'MessageAdded', message: { id: missed.id } });
  });

  it('tells live subscribers and stale cursors to resync when the log is lost', async () => {
    const group = await createGroup(ann, [bob], 'Lost');
    const socket = await realtime.connect(bob);
    const live = socket.subscribe(
      `subscription { events { __typename cursor ... on StreamResync { reason } ... on MessageAdded { message { body } } } }`,
    ) as EventSubscription;
    await realtime.live(1);
    await send(ann, group.id, 'before the loss');
    const { cursor: stale } = await nextEvent(live);

    // What Redis restarting without persistence does to the log: its epoch (and entries) are gone.
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      await redis.del(`${parley.redisPrefix}realtime:epoch`, `${parley.redisPrefix}realtime:log`);
    } finally {
      redis.disconnect();
    }
    await send(ann, group.id, 'after the loss');

    // The live subscriber is told, then goes on with the new log.
    expect(await nextEvent(live, 15_000)).toMatchObject({ __typename: 'StreamResync', reason: 'LOG_RESET' });
    expect((await nextMessage(live, 15_000)).message?.body).toBe('after the loss');

    // A client coming back with a cursor of the lost log is told too, then gets live events.
    const resumed = socket.subscribe(
      `subscription ($after: String) { events(after: $after) { __typename ... on StreamResync { reason } } }`,
      { after: stale },
    );
    expect(eventOf(await resumed.next())).toEqual({ __typename: 'StreamResync', reason: 'CURSOR_EXPIRED' });
  });
});

describe('transport', () => {
  it('refuses subscriptions over HTTP and runs queries over the socket', async () => {
    const response = await bob.client.request(`subscription { events { cursor } }`);
    expect(codesOf(response.errors ?? [])).toEqual(['BAD_REQUEST']);

    const socket = await realtime.connect(bob);
    const me = socket.subscribe(`query { me { id } }`);
    expect((await me.next()).data).toEqual({ me: { id: bob.id } });
    await me.completed;
  });

  it('refuses variables of the wrong type with BAD_USER_INPUT, and keeps the socket and its subscriptions', async () => {
    const group = await createGroup(ann, [bob], 'Types');
    const socket = await realtime.connect(bob);
    const working = subscribeEventsOf(socket);
    const DOCUMENT = `subscription ($id: ID!) { conversationEvents(conversationId: $id) { cursor } }`;
    const wrongType = socket.subscribe(DOCUMENT, { id: { not: 'an id' } });
    const missing = socket.subscribe(DOCUMENT, {});
    expect(codesOf(await wrongType.error)).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await missing.error)).toEqual(['BAD_USER_INPUT']);

    await realtime.live(1);
    await send(ann, group.id, 'still here');
    expect((await nextEvent(working)).__typename).toBe('MessageAdded');
  });

  it('rebuilds a lost membership entry through the conversations service before deciding', async () => {
    const group = await createGroup(ann, [bob], 'Rebuilt');
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      expect(await redis.del(`${parley.redisPrefix}membership:${group.id}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
    const events = (await realtime.connect(bob)).subscribe(
      `subscription ($id: ID!) { conversationEvents(conversationId: $id) { __typename } }`,
      { id: group.id },
    ) as EventSubscription;
    await realtime.live(1);
    await send(ann, group.id, 'after the rebuild');
    expect((await nextEvent(events)).__typename).toBe('MessageAdded');
  });

  it('refuses a removed member at once, also when resubscribing', async () => {
    const group = await createGroup(ann, [bob, cy], 'Gone');
    await removeMember(ann, group.id, cy);
    const socket = await realtime.connect(cy);
    const refused = socket.subscribe(
      `subscription ($id: ID!) { conversationEvents(conversationId: $id) { cursor } }`,
      { id: group.id },
    );
    expect(codesOf(await refused.error)).toEqual(['NOT_FOUND']);
  });
});
