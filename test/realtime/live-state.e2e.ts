import { startParley, type Parley } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm } from '../conversations/operations.js';
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
  ... on ReadReceipt { user { id } lastReadSeq }`;

const subscribeConversation = (
  socket: Awaited<ReturnType<typeof realtime.connect>>,
  conversationId: string,
) =>
  socket.subscribe(
    `subscription ($conversationId: ID!) { conversationEvents(conversationId: $conversationId) { ${LIVE_FIELDS} } }`,
    { conversationId },
  ) as EventSubscription;

type LiveEvent = EventFields;

/** The next event matching `wanted`, passing over the others (bounded by the subscription's timeout). */
async function nextMatching(subscription: EventSubscription, wanted: (event: LiveEvent) => boolean) {
  for (;;) {
    const event = eventOf(await subscription.next()) as LiveEvent;
    if (wanted(event)) return event;
  }
}

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
