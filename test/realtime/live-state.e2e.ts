import { startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import {
  nextEventAbout,
  presenceOf,
  type PresenceEvent,
  receivedEvents,
  startTyping,
  subscribePresence,
  typingUsers,
} from '../presence/operations.js';
import { eventOf, useRealtime, type EventFields, type EventSubscription } from './operations.js';

let parley: Parley;
/** Longer than any gap between a close and a reopen below: a settled change is a real one. */
const SETTLE_MS = 5_000;

beforeAll(async () => {
  parley = await startParley({
    label: 'realtime_live_state',
    // Indicators outlive every wait here: one that ends did not run out.
    presenceEnv: { TYPING_TTL_SECONDS: '60', PRESENCE_SETTLE_MS: String(SETTLE_MS) },
  });
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

const LIVE_FIELDS = `__typename cursor conversationId
  ... on MessageAdded { message { id seq body sender { id } } }
  ... on ReadReceipt { user { id } lastReadSeq }
  ... on UserUpdated { user { id displayName bio } }`;

const subscribeEvents = (socket: Awaited<ReturnType<typeof realtime.connect>>) =>
  socket.subscribe(`subscription { events { ${LIVE_FIELDS} } }`) as EventSubscription;
const subscribeConversation = (
  socket: Awaited<ReturnType<typeof realtime.connect>>,
  conversationId: string,
) =>
  socket.subscribe(
    `subscription ($conversationId: ID!) { conversationEvents(conversationId: $conversationId) { ${LIVE_FIELDS} } }`,
    { conversationId },
  ) as EventSubscription;

type LiveEvent = EventFields & { user?: { id: string; displayName?: string; bio?: string | null } | null };

/** The next event matching `wanted`, passing over the others (bounded by the subscription's timeout). */
async function nextMatching(subscription: EventSubscription, wanted: (event: LiveEvent) => boolean) {
  for (;;) {
    const event = eventOf(await subscription.next()) as LiveEvent;
    if (wanted(event)) return event;
  }
}

const updateProfile = (user: SignedInUser, input: Record<string, unknown>) =>
  ok(user, `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`, { input });
const blockUser = (user: SignedInUser, blocked: SignedInUser) =>
  ok(user, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: blocked.id });

describe('read receipts', () => {
  it('a send moves its sender’s read marker, which its MessageAdded says, with no second event', async () => {
    const [ann, bob] = await parley.registerUsers('ann', 'bob');
    const dm = await createDm(ann, bob);
    await send(ann, dm.id, 'are you there?');
    const annEvents = subscribeConversation(await realtime.connect(ann), dm.id);
    await realtime.live(1);

    // bob answers without calling markRead: his marker moves past ann's message by his own send.
    await send(bob, dm.id, 'yes');
    expect(eventOf(await annEvents.next())).toMatchObject({
      __typename: 'MessageAdded',
      message: { seq: 2, body: 'yes', sender: { id: bob.id } },
    });
    const MARKERS = `query ($id: ID!) { conversation(id: $id) {
      members { edges { node { user { id } lastReadSeq } } } } }`;
    const bobsMarker = async () =>
      (
        await ok<{
          conversation: {
            members: { edges: Array<{ node: { user: { id: string }; lastReadSeq: number } }> };
          };
        }>(ann, MARKERS, { id: dm.id })
      ).conversation.members.edges.find(({ node }) => node.user.id === bob.id)?.node.lastReadSeq;
    await expect.poll(bobsMarker, { timeout: 10_000 }).toBe(2);

    // ann's own markRead is the next event: none came for bob's marker in between.
    await ok(ann, `mutation ($id: ID!) { markRead(conversationId: $id, upToSeq: 2) { id } }`, { id: dm.id });
    expect(eventOf(await annEvents.next())).toMatchObject({
      __typename: 'ReadReceipt',
      user: { id: ann.id },
      lastReadSeq: 2,
    });
  });
});

describe('UserUpdated', () => {
  it('reaches the user’s devices and who may see them, not a blocker nor a conversation subscription', async () => {
    const [ann, bob, cy, dan] = await parley.registerUsers('ann', 'bob', 'cy', 'dan');
    const dm = await createDm(ann, bob);
    await createGroup(ann, [cy, dan], 'Profiles');
    await blockUser(dan, ann);
    const annEvents = subscribeEvents(await realtime.connect(ann));
    const bobSocket = await realtime.connect(bob);
    const bobEvents = subscribeEvents(bobSocket);
    const bobDm = subscribeConversation(bobSocket, dm.id);
    const cyEvents = subscribeEvents(await realtime.connect(cy));
    const danEvents = subscribeEvents(await realtime.connect(dan));
    await realtime.live(5);

    await updateProfile(ann, { displayName: 'Ann Renamed', bio: 'new here' });
    const isAnnUpdated = (event: LiveEvent) =>
      event.__typename === 'UserUpdated' && event.user?.id === ann.id;
    const expected = {
      __typename: 'UserUpdated',
      conversationId: null,
      user: { id: ann.id, displayName: 'Ann Renamed', bio: 'new here' },
    };
    expect(await nextMatching(annEvents, isAnnUpdated)).toMatchObject(expected);
    expect(await nextMatching(bobEvents, isAnnUpdated)).toMatchObject(expected);
    expect(await nextMatching(cyEvents, isAnnUpdated)).toMatchObject(expected);

    // Later events show what came before them: dan (who blocked ann) got his own change first, not ann's;
    // bob's conversation subscription got the message first, not the profile (it belongs to no conversation).
    await updateProfile(dan, { bio: 'dan too' });
    expect(eventOf(await danEvents.next())).toMatchObject({
      __typename: 'UserUpdated',
      user: { id: dan.id },
    });
    await send(ann, dm.id, 'hello');
    expect(eventOf(await bobDm.next()).__typename).toBe('MessageAdded');
  });

  it('reaches the members of a group the user was put in and never wrote or read in', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    await createGroup(bob, [ann, cy], 'Quiet');
    const bobEvents = subscribeEvents(await realtime.connect(bob));
    const cyEvents = subscribeEvents(await realtime.connect(cy));
    await realtime.live(2);

    await updateProfile(ann, { displayName: 'Ann Quiet' });
    const isAnnUpdated = (event: LiveEvent) =>
      event.__typename === 'UserUpdated' && event.user?.id === ann.id;
    for (const events of [bobEvents, cyEvents]) {
      expect(await nextMatching(events, isAnnUpdated)).toMatchObject({
        user: { id: ann.id, displayName: 'Ann Quiet' },
      });
    }
  });
});

describe('typing', () => {
  it('ends when the typist’s last socket closes, not while another is open', async () => {
    const [ann, bob] = await parley.registerUsers('ann', 'bob');
    const group = await createGroup(ann, [bob], 'Typing');
    const other = await createDm(ann, bob);
    const bobTyping = subscribePresence(await realtime.connect(bob));
    const annPhone = await realtime.connect(ann);
    const annLaptop = await realtime.connect(ann);
    await realtime.live(1);

    await startTyping(ann, group.id);
    expect(await nextEventAbout(bobTyping, 'TypingChanged', ann.id)).toMatchObject({ typing: true });
    await annPhone.close();
    // The laptop is still open: the next thing bob hears of ann's typing is her new indicator, not an end.
    await startTyping(ann, other.id);
    expect(await nextEventAbout(bobTyping, 'TypingChanged', ann.id)).toMatchObject({
      conversationId: other.id,
      typing: true,
    });
    expect(await typingUsers(bob, group.id)).toEqual([ann.id]);

    await annLaptop.close();
    const ended = [
      await nextEventAbout(bobTyping, 'TypingChanged', ann.id),
      await nextEventAbout(bobTyping, 'TypingChanged', ann.id),
    ];
    expect(ended.map((event) => [event.conversationId, event.typing, event.expiresAt]).sort()).toEqual(
      [
        [group.id, false, null],
        [other.id, false, null],
      ].sort(),
    );
    expect(await typingUsers(bob, group.id)).toEqual([]);
  });
});

describe('presence across quick reconnects', () => {
  /** How many devices the presence store holds for the user (its hash `presence:u:<id>`, fields `d:<device>`). */
  async function devicesOf(userId: string) {
    const redis = new Redis(parley.redisUrl);
    try {
      const fields = await redis.hkeys(`${parley.redisPrefix}presence:u:${userId}`);
      return fields.filter((field) => field.startsWith('d:')).length;
    } finally {
      redis.disconnect();
    }
  }
  const devices = (userId: string, count: number) =>
    vi.waitFor(async () => expect(await devicesOf(userId)).toBe(count), { timeout: 5_000, interval: 20 });

  it('never shows a connected user OFFLINE, whichever of the close and the reopen comes first', async () => {
    const [ann, bob] = await parley.registerUsers('ann', 'bob');
    await createDm(ann, bob);
    const bobEvents = subscribePresence(await realtime.connect(bob));
    await realtime.live(1);
    const first = await realtime.connect(ann);
    expect(await nextEventAbout(bobEvents, 'PresenceChanged', ann.id)).toMatchObject({
      presence: { status: 'ONLINE' },
    });

    // The new socket opens before the old one's close arrives.
    const second = await realtime.connect(ann);
    await first.close();
    await devices(ann.id, 1);
    expect(await presenceOf(bob, ann)).toEqual({ status: 'ONLINE', lastSeenAt: null });

    // The old socket's close arrives first: for a moment no device at all (the store has taken it out).
    await second.close();
    await devices(ann.id, 0);
    expect(await presenceOf(bob, ann)).toEqual({ status: 'ONLINE', lastSeenAt: null });
    expect(await presenceOf(ann, ann)).toEqual({ status: 'ONLINE', lastSeenAt: null });
    await realtime.connect(ann);
    await devices(ann.id, 1);
    expect(await presenceOf(bob, ann)).toEqual({ status: 'ONLINE', lastSeenAt: null });
    // Nor did an event say otherwise.
    const aboutAnn = receivedEvents(bobEvents)
      .filter((event) => event.__typename === 'PresenceChanged')
      .filter((event) => event.user?.id === ann.id);
    expect(aboutAnn.map((event) => event.presence?.status)).toEqual(['ONLINE']);
  });
});

describe('resuming with presence: true', () => {
  it('tells the typing and presence of now, which the replay passes over, not across a block', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    const group = await createGroup(ann, [bob, cy], 'Resume');
    await blockUser(bob, cy);
    // bob takes part (his fellow members there are whose presence he is told), then goes away.
    await send(bob, group.id, 'hi all');
    const { realtimeCursor } = await ok<{ realtimeCursor: string }>(bob, `query { realtimeCursor }`);

    // While bob is away: ann and cy come online and type.
    await realtime.connect(ann);
    await realtime.connect(cy);
    const { startTyping: until } = await startTyping(ann, group.id);
    await startTyping(cy, group.id);

    const resumed = subscribePresence(await realtime.connect(bob), realtimeCursor);
    await realtime.live(1);
    await send(ann, group.id, 'after the resume');
    const before: Array<Omit<PresenceEvent, '__typename'> & { __typename: string }> = [];
    for (;;) {
      const event = eventOf(await resumed.next()) as unknown as Omit<PresenceEvent, '__typename'> & {
        __typename: string;
      };
      if (event.__typename === 'MessageAdded') break;
      before.push(event);
    }
    expect(before).toContainEqual({
      __typename: 'TypingChanged',
      cursor: expect.any(String),
      conversationId: group.id,
      user: { id: ann.id },
      typing: true,
      expiresAt: until,
    });
    expect(before).toContainEqual(
      expect.objectContaining({
        __typename: 'PresenceChanged',
        conversationId: null,
        user: { id: ann.id },
        presence: { status: 'ONLINE', lastSeenAt: null },
      }),
    );
    // cy, whom bob blocked, is in neither; nor is anything else about anyone but ann and bob himself.
    expect(before.filter((event) => event.user?.id !== ann.id && event.user?.id !== bob.id)).toEqual([]);
  });
});
