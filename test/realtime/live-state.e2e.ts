import { startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import { eventOf, useRealtime, type EventFields, type EventSubscription } from './operations.js';

let parley: Parley;

beforeAll(async () => {
  parley = await startParley({ label: 'realtime_live_state' });
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

const LIVE_FIELDS = `__typename cursor conversationId
  ... on MessageAdded { message { id seq body } }
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
  it('tells the other member when sending moved the sender’s read marker, as markRead does', async () => {
    const [ann, bob] = await parley.registerUsers('ann', 'bob');
    const dm = await createDm(ann, bob);
    await send(ann, dm.id, 'are you there?');
    const annEvents = subscribeConversation(await realtime.connect(ann), dm.id);
    await realtime.live(1);

    // bob answers without calling markRead: his marker moves past ann's message by his own send.
    await send(bob, dm.id, 'yes');
    expect(
      await nextMatching(
        annEvents,
        (event) => event.__typename === 'ReadReceipt' && event.user?.id === bob.id,
      ),
    ).toMatchObject({
      __typename: 'ReadReceipt',
      conversationId: dm.id,
      user: { id: bob.id },
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
});
