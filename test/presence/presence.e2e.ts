import { randomUUID } from 'node:crypto';
import {
  connectRealtime,
  createGraphQLClient,
  createRunningTestClock,
  startParley,
  type Parley,
  type SignedInUser,
} from '@parley/testkit';
import { Redis } from 'ioredis';
import { deleteRedisKeys } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import { codesOf, nextEvent, useRealtime } from '../realtime/operations.js';
import {
  expectStatus,
  nextEventAbout,
  presenceOf,
  receivedEvents,
  startTyping,
  subscribePresence,
  typingUsers,
  type PresenceSubscription,
} from './operations.js';

const SETTLE_MS = 300;
const DEVICE_TTL_MS = 2_000;
const TYPING_TTL_MS = 1_000;
/**
 * The services' clock: the system's, which the test puts ahead at once (`advance`) to make heartbeats and
 * typing indicators run out; changes settle, and everything else happens, in real time.
 */
const clock = createRunningTestClock();

let parley: Parley;

beforeAll(async () => {
  parley = await startParley({
    label: 'presence',
    // The 100-member lookup below is costlier than the default limit allows.
    routerEnv: { MAX_COST: '20000' },
    presenceEnv: {
      PRESENCE_SETTLE_MS: String(SETTLE_MS),
      PRESENCE_SWEEP_INTERVAL_MS: '100',
      PRESENCE_DEVICE_TTL_SECONDS: String(DEVICE_TTL_MS / 1000),
      TYPING_TTL_SECONDS: String(TYPING_TTL_MS / 1000),
    },
    clock,
  });
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

/** Two users who may see each other's presence: they share a direct conversation. */
async function acquaintances() {
  const [ann, bob] = await parley.registerUsers('ann', 'bob');
  const dm = await createDm(ann, bob);
  return { ann, bob, dm };
}

const addContact = (user: SignedInUser, contact: SignedInUser) =>
  ok(user, `mutation ($id: ID!) { addContact(userId: $id) { id } }`, { id: contact.id });
const blockUser = (user: SignedInUser, blocked: SignedInUser) =>
  ok(user, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: blocked.id });

/** A user whose presence `viewer` may see (they start a conversation with them), to be `witnessed`. */
async function witnessFor(viewer: SignedInUser) {
  const [witness] = await parley.registerUsers('witness');
  await createDm(witness, viewer);
  return witness;
}

/**
 * Connects `witness` (see witnessFor) and waits until `events`, their viewer's, tells of it. The router
 * reports sockets in the order they open and close, presence applies the reports in that order, settled
 * changes are claimed oldest first and the log delivers in order: so every presence change reported before
 * the witness's socket opened has been delivered by then, and one not delivered was never published.
 */
async function witnessed(events: PresenceSubscription, witness: SignedInUser) {
  await realtime.connect(witness);
  await nextEventAbout(events, 'PresenceChanged', witness.id);
}

/**
 * Appends an event for `user` alone (a message to a group of their own) and waits until `events`, theirs,
 * delivers it: the log delivers in order, so by then every event appended before it has been delivered to
 * them or passed over.
 */
async function caughtUp(user: SignedInUser, events: PresenceSubscription) {
  const notes = await createGroup(user, [], 'Notes');
  await send(user, notes.id, 'caught up');
  for (;;) {
    const event = await nextEvent(events);
    if (event.__typename === 'MessageAdded' && event.conversationId === notes.id) return;
  }
}

/** The statuses `events` was told of `user`, in order. */
const statusesOf = (events: PresenceSubscription, user: SignedInUser) =>
  receivedEvents(events)
    .filter((event) => event.__typename === 'PresenceChanged')
    .filter((event) => event.user?.id === user.id)
    .map((event) => event.presence.status);

describe('devices', () => {
  it('keeps a user online while one of two devices is connected; offline with lastSeenAt when both are gone', async () => {
    const { ann, bob } = await acquaintances();
    const witness = await witnessFor(bob);
    expect(await presenceOf(bob, ann)).toEqual({ status: 'OFFLINE', lastSeenAt: null });
    const bobEvents = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);

    const phone = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    const laptop = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    await expectStatus(bob, ann, 'ONLINE');
    expect((await presenceOf(bob, ann))!.lastSeenAt).toBeNull();

    await phone.close();
    // The laptop is still connected: the status does not change, however long we look (a change would have
    // been told before the witness's).
    await witnessed(bobEvents, witness);
    expect(statusesOf(bobEvents, ann)).toEqual(['ONLINE']);
    expect(await presenceOf(bob, ann)).toEqual({ status: 'ONLINE', lastSeenAt: null });

    const beforeLeaving = clock.now().getTime();
    await laptop.close();
    await expectStatus(bob, ann, 'OFFLINE');
    const lastSeenAt = Date.parse((await presenceOf(bob, ann))!.lastSeenAt!);
    expect(lastSeenAt).toBeGreaterThanOrEqual(beforeLeaving - 1_000);
    expect(lastSeenAt).toBeLessThanOrEqual(clock.now().getTime() + 1_000);
  });

  it('keeps a heartbeating session online until its heartbeats stop, then offline on its own', async () => {
    const { ann, bob } = await acquaintances();
    const beat = await ok<{ heartbeat: { status: string } }>(ann, `mutation { heartbeat { status } }`);
    expect(beat.heartbeat.status).toBe('ONLINE');
    expect((await presenceOf(bob, ann))!.status).toBe('ONLINE');
    // Without another heartbeat within PRESENCE_DEVICE_TTL_SECONDS, the session expires.
    clock.advance(DEVICE_TTL_MS);
    await expectStatus(bob, ann, 'OFFLINE');
  });

  it('takes a heartbeating session offline at logout, before its heartbeat would expire', async () => {
    const { ann, bob } = await acquaintances();
    const beat = clock.now().getTime(); // before the heartbeat: its expiry is at least DEVICE_TTL_MS after this
    await ok(ann, `mutation { heartbeat { status } }`);
    expect((await presenceOf(bob, ann))!.status).toBe('ONLINE');
    await ok(ann, `mutation { logout }`);
    await expectStatus(bob, ann, 'OFFLINE');
    // The logout ended it, not the expiry.
    expect(clock.now().getTime() - beat).toBeLessThan(DEVICE_TTL_MS);
  });

  it('counts a first heartbeat as activity even when idle (AWAY needs inactivity after it)', async () => {
    const { ann } = await acquaintances();
    const idle = await ok<{ heartbeat: { status: string } }>(
      ann,
      `mutation { heartbeat(active: false) { status } }`,
    );
    // A device seen for the first time counts as activity.
    expect(idle.heartbeat.status).toBe('ONLINE');
    expect((await presenceOf(ann, ann))!.status).toBe('ONLINE');
  });

  it('keeps lastSeenAt when Redis loses every presence key (it is kept in PostgreSQL)', async () => {
    const { ann, bob } = await acquaintances();
    const bobEvents = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);
    const socket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    await nextEventAbout(bobEvents, 'PresenceChanged', ann.id);
    await socket.close();
    // Published once settled, after the last seen time was written to PostgreSQL.
    expect((await nextEventAbout(bobEvents, 'PresenceChanged', ann.id)).presence!.status).toBe('OFFLINE');
    const before = (await presenceOf(bob, ann))!.lastSeenAt;
    expect(before).not.toBeNull();

    const redis = new Redis(parley.redisUrl);
    try {
      await deleteRedisKeys(redis, `${parley.redisPrefix}presence:`);
    } finally {
      redis.disconnect();
    }
    expect(await presenceOf(bob, ann)).toEqual({ status: 'OFFLINE', lastSeenAt: before });
  });

  it('deletes what it keeps of a deleted account', async () => {
    const [ann] = await parley.registerUsers('ann');
    await ok(ann, `mutation { heartbeat { status } }`);
    const redis = new Redis(parley.redisUrl);
    try {
      const key = `${parley.redisPrefix}presence:u:${ann.id}`;
      expect(await redis.exists(key)).toBe(1);
      await ok(ann, `mutation ($input: DeleteAccountInput!) { deleteAccount(input: $input) }`, {
        input: { password: ann.password },
      });
      await expect.poll(() => redis.exists(key), { timeout: 5_000 }).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('privacy', () => {
  it('shows presence to fellow members and to users in the contacts, and nothing to a stranger', async () => {
    const [ann, bob, cy, dan] = await parley.registerUsers('ann', 'bob', 'cy', 'dan');
    await createGroup(ann, [bob], 'Members');
    await addContact(ann, dan);
    const socket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    try {
      await expectStatus(bob, ann, 'ONLINE');
      expect((await presenceOf(dan, ann))!.status).toBe('ONLINE'); // ann lists dan as a contact
      expect(await presenceOf(cy, ann)).toBeNull(); // a stranger
      // Contacts are one way: dan did not list ann, and they share no conversation.
      expect(await presenceOf(ann, dan)).toBeNull();
      expect((await presenceOf(ann, ann))!.status).toBe('ONLINE');
    } finally {
      await socket.close();
    }
  });

  it('shows a blocked user nothing, in either direction, though they share a conversation', async () => {
    const { ann, bob, dm } = await acquaintances();
    const [dan] = await parley.registerUsers('dan');
    await send(bob, dm.id, 'hi Ann'); // bob takes part too: each sees the other
    await addContact(ann, dan); // dan witnesses ann's changes
    const bobEvents = subscribePresence(await realtime.connect(bob));
    const danEvents = subscribePresence(await realtime.connect(dan));
    await realtime.live(2);
    const annSocket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    try {
      // Before the block, bob is told of ann's changes.
      await nextEventAbout(bobEvents, 'PresenceChanged', ann.id);
      await nextEventAbout(danEvents, 'PresenceChanged', ann.id);
      await expectStatus(ann, bob, 'ONLINE');

      await blockUser(ann, bob);
      expect(await presenceOf(ann, bob)).toBeNull(); // the blocker's view
      // The blocked user's view, also through the conversation's members (Query.user hides the blocker).
      const members = await ok<{
        conversation: { members: { edges: Array<{ node: { user: { id: string; presence: unknown } } }> } };
      }>(
        bob,
        `query ($id: ID!) { conversation(id: $id) { members { edges { node { user { id presence { status } } } } } } }`,
        { id: dm.id },
      );
      expect(members.conversation.members.edges.map(({ node }) => node.user)).toEqual(
        expect.arrayContaining([{ id: ann.id, presence: null }]),
      );

      // After it, ann's going offline reaches dan and not bob. Hydrated for bob, the event's user would be
      // null (Query.user hides the blocker): any presence event not about bob himself counts.
      const before = receivedEvents(bobEvents).length;
      await annSocket.close();
      expect((await nextEventAbout(danEvents, 'PresenceChanged', ann.id)).presence!.status).toBe('OFFLINE');
      await caughtUp(bob, bobEvents); // past the log entry dan was given
      expect(
        receivedEvents(bobEvents)
          .slice(before)
          .filter((event) => event.__typename === 'PresenceChanged' && event.user?.id !== bob.id),
      ).toEqual([]);
    } finally {
      await annSocket.close();
    }
  });

  it('shows nothing to a stranger who started a DM, until the user writes or reads there', async () => {
    const [ann, cy] = await parley.registerUsers('ann', 'cy');
    await ok(ann, `mutation { heartbeat { status } }`);
    const dm = await createDm(cy, ann); // anyone may start a DM with anyone
    expect(await presenceOf(cy, ann)).toBeNull();
    expect((await presenceOf(ann, cy))!.status).toBe('OFFLINE'); // cy took part: ann may see cy
    await send(ann, dm.id, 'who are you?');
    // The sender's read marker moves when conversations hears of the message (an event): poll.
    await expectStatus(cy, ann, 'ONLINE');

    // Reading counts as taking part too.
    const [dan] = await parley.registerUsers('dan');
    const other = await createDm(dan, ann);
    const { seq } = await send(dan, other.id, 'hello?');
    expect(await presenceOf(dan, ann)).toBeNull();
    await ok(ann, `mutation ($id: ID!, $seq: Int!) { markRead(conversationId: $id, upToSeq: $seq) { id } }`, {
      id: other.id,
      seq,
    });
    // A read past what conversations has heard of yet is applied when it does: poll.
    await expectStatus(dan, ann, 'ONLINE');
  });

  it('shows a stranger nothing through forged entity references sent to the presence subgraph directly', async () => {
    const { ann, dm } = await acquaintances();
    const [cy] = await parley.registerUsers('cy');
    await ok(ann, `mutation { heartbeat { status } }`);
    await startTyping(ann, dm.id);
    const direct = createGraphQLClient({ url: parley.subgraphUrls.presence, token: cy.accessToken });
    const forged = await direct.request<{ _entities: unknown[] }>(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) {
        ... on User { presence { status lastSeenAt } }
        ... on Conversation { typingUsers { id } }
        ... on Viewer { presenceSettings { hideLastSeen } }
      } }`,
      {
        representations: [
          { __typename: 'User', id: ann.id },
          { __typename: 'Conversation', id: dm.id },
          { __typename: 'Viewer', id: ann.id },
        ],
      },
    );
    expect(forged.errors).toBeUndefined();
    expect(forged.data?._entities).toEqual([{ presence: null }, { typingUsers: [] }, null]);
    const anonymous = await createGraphQLClient({ url: parley.subgraphUrls.presence }).request(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status } } } }`,
      { r: [{ __typename: 'User', id: ann.id }] },
    );
    expect(codesOf(anonymous.errors ?? [])).toEqual(['UNAUTHENTICATED']);
  });

  it('hides lastSeenAt from everyone once the user asks, and shows it again when they stop', async () => {
    const { ann, bob } = await acquaintances();
    const hide = `mutation ($hide: Boolean!) { updatePresenceSettings(hideLastSeen: $hide) { hideLastSeen } }`;
    expect(await ok(ann, hide, { hide: true })).toEqual({ updatePresenceSettings: { hideLastSeen: true } });
    await ok(ann, `mutation { heartbeat { status } }`);
    clock.advance(DEVICE_TTL_MS); // the heartbeat expires
    await expectStatus(bob, ann, 'OFFLINE');
    expect(await presenceOf(bob, ann)).toEqual({ status: 'OFFLINE', lastSeenAt: null });
    expect(await ok(ann, `{ me { presenceSettings { hideLastSeen } } }`)).toEqual({
      me: { presenceSettings: { hideLastSeen: true } },
    });
    await ok(ann, hide, { hide: false });
    expect((await presenceOf(bob, ann))!.lastSeenAt).not.toBeNull();
  });
});

describe('events', () => {
  it('tells a fellow member when a user comes online and goes offline, and a stranger nothing', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    await createDm(ann, bob);
    const bobSocket = await realtime.connect(bob);
    const bobEvents = subscribePresence(bobSocket);
    // Without `presence: true`, a subscription gets none of it.
    const bobPlain = bobSocket.subscribe(`subscription { events { __typename } }`, {});
    const cyEvents = subscribePresence(await realtime.connect(cy));
    await realtime.live(3);

    const socket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    expect(await nextEventAbout(bobEvents, 'PresenceChanged', ann.id)).toMatchObject({
      conversationId: null,
      user: { id: ann.id },
      presence: { status: 'ONLINE', lastSeenAt: null },
    });
    await socket.close();
    const offline = await nextEventAbout(bobEvents, 'PresenceChanged', ann.id);
    expect(offline).toMatchObject({ user: { id: ann.id }, presence: { status: 'OFFLINE' } });
    expect(offline.presence!.lastSeenAt).not.toBeNull();
    // cy's own socket opened before: cy's stream may only hold cy's own presence.
    expect(
      receivedEvents(cyEvents).filter((event) => !('user' in event && event.user?.id === cy.id)),
    ).toEqual([]);
    expect(bobPlain.results).toEqual([]);
  });

  it('does not replay presence history to a resuming subscription (it is told the state of now instead)', async () => {
    const { ann, bob, dm } = await acquaintances();
    const { realtimeCursor } = await ok<{ realtimeCursor: string }>(bob, `query { realtimeCursor }`);
    const live = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);
    const socket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    await nextEventAbout(live, 'PresenceChanged', ann.id); // ONLINE, in the log now
    await socket.close();
    await nextEventAbout(live, 'PresenceChanged', ann.id); // OFFLINE, in the log now
    const resumed = subscribePresence(await realtime.connect(bob), realtimeCursor);
    await realtime.live(2);
    await send(ann, dm.id, 'after the resume');
    const before = [];
    for (
      let event = await nextEvent(resumed);
      event.__typename !== 'MessageAdded';
      event = await nextEvent(resumed)
    )
      before.push(event);
    // Neither of ann's changes was replayed, and she is offline now: nothing of her before the message.
    expect(before.filter((event) => 'user' in event && event.user?.id === ann.id)).toEqual([]);
  });

  it('turns 50 connect/disconnect flaps within a second into at most a few presence events', async () => {
    const { ann, bob } = await acquaintances();
    const witness = await witnessFor(bob);
    const bobEvents = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);

    const started = Date.now();
    for (let flap = 0; flap < 50; flap += 1) {
      const socket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
      await socket.close();
    }
    const flapMs = Date.now() - started;
    expect(flapMs).toBeLessThan(10_000); // a sanity bound on the machine, not a performance assertion
    await expectStatus(bob, ann, 'OFFLINE');
    // Every change of the flaps has been published by the time the witness's is.
    await witnessed(bobEvents, witness);
    const about = statusesOf(bobEvents, ann);
    expect(about.length).toBeLessThanOrEqual(Math.ceil(flapMs / SETTLE_MS) + 2);
    expect(about.length).toBeLessThanOrEqual(6);
    if (about.length > 0) expect(about.at(-1)).toBe('OFFLINE');
  });
});

describe('typing', () => {
  it('shows typing to the other member, renews without an event, and ends on its own without stopTyping', async () => {
    const { ann, bob, dm } = await acquaintances();
    const bobEvents = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);

    const { startTyping: until } = await startTyping(ann, dm.id);
    expect(Date.parse(until)).toBeGreaterThan(clock.now().getTime());
    expect(await typingUsers(bob, dm.id)).toEqual([ann.id]);
    expect(await typingUsers(ann, dm.id)).toEqual([]); // the viewer is not listed
    expect(await nextEventAbout(bobEvents, 'TypingChanged', ann.id)).toMatchObject({
      conversationId: dm.id,
      typing: true,
    });
    await startTyping(ann, dm.id); // a renewal: no event
    // Not renewed within TYPING_TTL_SECONDS: the next event is the end, with no stopTyping.
    clock.advance(TYPING_TTL_MS);
    expect(await nextEventAbout(bobEvents, 'TypingChanged', ann.id)).toMatchObject({
      conversationId: dm.id,
      typing: false,
      expiresAt: null,
    });
    expect(await typingUsers(bob, dm.id)).toEqual([]);
  });

  it('ends the indicator when its member sends a message there', async () => {
    const { ann, bob, dm } = await acquaintances();
    const bobEvents = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);
    const { startTyping: until } = await startTyping(ann, dm.id);
    await nextEventAbout(bobEvents, 'TypingChanged', ann.id);

    await send(ann, dm.id, 'done typing');
    expect(await nextEventAbout(bobEvents, 'TypingChanged', ann.id)).toMatchObject({ typing: false });
    // Before the indicator would have ended by itself (TYPING_TTL_SECONDS): the send ended it, not the sweep.
    expect(clock.now().getTime()).toBeLessThan(Date.parse(until));
    expect(await typingUsers(bob, dm.id)).toEqual([]);
  });

  it('shows a member typing in a group to the others, not to one in a block relation with them', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    const group = await createGroup(ann, [bob, cy], 'Blocks');
    await blockUser(bob, ann);
    const bobEvents = subscribePresence(await realtime.connect(bob));
    const cyEvents = subscribePresence(await realtime.connect(cy));
    await realtime.live(2);

    await startTyping(ann, group.id);
    expect(await typingUsers(cy, group.id)).toEqual([ann.id]);
    expect(await typingUsers(bob, group.id)).toEqual([]);
    await nextEventAbout(cyEvents, 'TypingChanged', ann.id);
    await caughtUp(bob, bobEvents); // past the log entry cy was given
    // Hydrated for bob, the user would be null (Query.user hides the blocked): any typing event counts.
    expect(receivedEvents(bobEvents).filter((event) => event.__typename === 'TypingChanged')).toEqual([]);
    // The other way: the blocker typing is not shown to the one he blocked.
    await startTyping(bob, group.id);
    expect(await typingUsers(cy, group.id)).toEqual(expect.arrayContaining([ann.id, bob.id]));
    expect(await typingUsers(ann, group.id)).toEqual([]);
  });

  it('stops typing at stopTyping; refuses a non-member (NOT_FOUND) and a blocked DM (FORBIDDEN)', async () => {
    const { ann, bob, dm } = await acquaintances();
    const [cy] = await parley.registerUsers('cy');
    await startTyping(ann, dm.id);
    expect(await ok(ann, `mutation ($id: ID!) { stopTyping(conversationId: $id) }`, { id: dm.id })).toEqual({
      stopTyping: true,
    });
    expect(await typingUsers(bob, dm.id)).toEqual([]);

    const stranger = await cy.client.request(`mutation ($id: ID!) { startTyping(conversationId: $id) }`, {
      id: dm.id,
    });
    expect(codesOf(stranger.errors ?? [])).toEqual(['NOT_FOUND']);
    await blockUser(bob, ann);
    // Either way: the blocked user and the blocker.
    for (const typist of [ann, bob]) {
      const blocked = await typist.client.request(
        `mutation ($id: ID!) { startTyping(conversationId: $id) }`,
        {
          id: dm.id,
        },
      );
      expect(codesOf(blocked.errors ?? [])).toEqual(['FORBIDDEN']);
    }
  });
});

describe('batching', () => {
  it('looks up the presence of 100 members with one Redis command', async () => {
    const [owner, ...members] = await parley.registerUsers(
      'owner',
      ...Array.from({ length: 100 }, (_, index) => `m${index}`),
    );
    const group = await createGroup(owner!, members, 'Hundred');
    // Put in the group by its owner, the members took no part: they show the owner presence as contacts.
    await Promise.all(members.map((member) => addContact(member, owner!)));
    await Promise.all(members.slice(0, 10).map((member) => ok(member, `mutation { heartbeat { status } }`)));

    const { result: data, commands } = await commandsNaming(`${parley.redisPrefix}presence:u:`, () =>
      ok<{
        conversation: {
          members: { edges: Array<{ node: { user: { id: string; presence: { status: string } } } }> };
        };
      }>(
        owner!,
        `query ($id: ID!) {
          conversation(id: $id) { members(first: 100) { edges { node { user { id presence { status } } } } } }
        }`,
        { id: group.id },
      ),
    );
    const statuses = data.conversation.members.edges.map((edge) => edge.node.user.presence.status);
    expect(statuses).toHaveLength(100);
    expect(statuses.filter((status) => status === 'ONLINE')).toHaveLength(10);
    expect(commands.map((args) => args[0]!.toLowerCase())).toEqual(['evalsha']);
    expect(commands[0]!.filter((arg) => arg.startsWith(`${parley.redisPrefix}presence:u:`))).toHaveLength(
      100,
    );
  });

  it("reads who is typing in a page of the viewer's conversations with one Redis command", async () => {
    const [viewer, ...others] = await parley.registerUsers('viewer', 'a', 'b', 'c');
    const dms = await Promise.all(others.map((other) => createDm(viewer!, other)));
    await Promise.all(dms.map((dm, index) => startTyping(others[index]!, dm.id)));
    const { result, commands } = await commandsNaming(`${parley.redisPrefix}presence:t:`, () =>
      ok<{
        me: { conversations: { edges: Array<{ node: { id: string; typingUsers: Array<{ id: string }> } }> } };
      }>(viewer!, `{ me { conversations(first: 10) { edges { node { id typingUsers { id } } } } } }`),
    );
    const typing = new Map(result.me.conversations.edges.map(({ node }) => [node.id, node.typingUsers]));
    dms.forEach((dm, index) => expect(typing.get(dm.id)).toEqual([{ id: others[index]!.id }]));
    expect(commands.map((args) => args[0]!.toLowerCase())).toEqual(['evalsha']);
  });
});

/**
 * The Redis commands sent while `run` ran that name a key starting with `keyPrefix` (Redis MONITOR; commands
 * scripts run inside themselves are left out: a script is one command, one round trip).
 */
async function commandsNaming<T>(keyPrefix: string, run: () => Promise<T>) {
  const monitor = await new Redis(parley.redisUrl).monitor();
  const probe = new Redis(parley.redisUrl);
  const marker = `${keyPrefix}monitor-marker:${randomUUID()}`;
  const commands: string[][] = [];
  let markerSeen = false;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args.includes(marker)) markerSeen = true;
    else if (source !== 'lua' && args.some((arg) => arg.startsWith(keyPrefix))) commands.push(args);
  });
  try {
    const result = await run();
    // MONITOR reports each command after it ran, in the order Redis ran them: once a command sent after
    // `run` returned is reported, every one that ran before it has been.
    await probe.exists(marker);
    await expect.poll(() => markerSeen, { timeout: 5_000 }).toBe(true);
    return { result, commands };
  } finally {
    monitor.disconnect();
    probe.disconnect();
  }
}
