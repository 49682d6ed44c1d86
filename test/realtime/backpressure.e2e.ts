import { startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import { eventOf, subscribeEvents, useRealtime, type EventSubscription } from './operations.js';

/** Bytes waiting on one socket past which its subscriptions drop results (WS_MAX_BUFFERED_BYTES). */
const MAX_BUFFERED_BYTES = 64 * 1024;
const SUBSCRIPTIONS_ON_THE_SLOW_SOCKET = 25;
const MESSAGES = 60;

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;

beforeAll(async () => {
  parley = await startParley({
    label: 'realtime_backpressure',
    routerEnv: { WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES) },
  });
  [ann, bob] = await parley.registerUsers('ann', 'bob');
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

type Entry = { seq: number; cursor: string } | { resync: string; cursor: string };

/** The messages (by seq) and resyncs (by reason) a subscription received, in order. */
const received = (subscription: EventSubscription): Entry[] =>
  subscription.results.flatMap((result): Entry[] => {
    const event = eventOf(result);
    if (event.__typename === 'MessageAdded' && event.message) {
      return [{ seq: event.message.seq, cursor: event.cursor }];
    }
    if (event.__typename === 'StreamResync') return [{ resync: event.reason, cursor: event.cursor }];
    return [];
  });
const seqOf = (entry: Entry | undefined) => (entry && 'seq' in entry ? entry.seq : null);

describe('a socket too slow to keep up', () => {
  it('drops what it cannot take, tells its subscriptions they lagged once it reads again, and slows no other socket', async () => {
    const group = await createGroup(ann, [bob], 'Backpressure');
    // Bob's slow socket holds 25 subscriptions to his stream (25 frames per message); his other socket one.
    const slowSocket = await realtime.connect(bob);
    const slow = Array.from({ length: SUBSCRIPTIONS_ON_THE_SLOW_SOCKET }, () => subscribeEvents(slowSocket));
    const steady = subscribeEvents(await realtime.connect(bob));
    await realtime.live(SUBSCRIPTIONS_ON_THE_SLOW_SOCKET + 1);

    // Bob's slow socket stops reading while Ann sends ~6 MB of frames to it: more than the network
    // buffers take (about 4 MB on loopback) plus what the router keeps for it.
    slowSocket.stopReading();
    const body = 'x'.repeat(3_990);
    const sent: number[] = [];
    for (let n = 0; n < MESSAGES; n += 1) sent.push((await send(ann, group.id, `${n} ${body}`)).seq);

    // The other socket got every message, in order, while the slow one was not reading.
    await steady.take(MESSAGES, 30_000);
    const steadyReceived = received(steady);
    expect(steadyReceived.map(seqOf)).toEqual(sent);

    // Reading again, each slow subscription gets the messages the router had sent before it fell behind, in
    // order, then one LAGGING resync at the last message it dropped, and nothing twice.
    slowSocket.readAgain();
    const lastCursor = steadyReceived.at(-1)!.cursor;
    for (const subscription of slow) {
      await expect
        .poll(() => received(subscription).some((entry) => 'resync' in entry), { timeout: 20_000 })
        .toBe(true);
      const entries = received(subscription);
      const resyncAt = entries.findIndex((entry) => 'resync' in entry);
      const before = entries.slice(0, resyncAt).map(seqOf);
      expect(before).toEqual(sent.slice(0, before.length));
      expect(before.length).toBeLessThan(MESSAGES);
      expect(entries.slice(resyncAt)).toEqual([{ resync: 'LAGGING', cursor: lastCursor }]);
    }

    // And the slow socket follows again: the next message reaches every one of its subscriptions.
    const next = await send(ann, group.id, 'caught up');
    for (const subscription of slow) {
      await expect
        .poll(() => received(subscription).at(-1), { timeout: 10_000 })
        .toMatchObject({ seq: next.seq });
    }
  }, 90_000);
});
