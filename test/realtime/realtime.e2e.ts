import { randomUUID } from 'node:crypto';
import { type Parley, sharedParley, type SignedInUser, within } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import {
  codesOf,
  nextEvent,
  removeMember,
  subscribeConversation,
  subscribeEvents,
  useRealtime,
} from './operations.js';

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let cy: SignedInUser;

beforeAll(async () => {
  parley = await sharedParley();
  [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

describe('delivery', () => {
  it("delivers a DM to the other member's events as MessageAdded, with the sender's display name from users", async () => {
    const displayName = `Ann ${randomUUID().slice(0, 8)}`;
    await ok(ann, `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`, {
      input: { displayName },
    });
    const dm = await createDm(ann, bob);
    const events = subscribeEvents(await realtime.connect(bob));
    await realtime.live(1);

    const sent = await send(ann, dm.id, 'hello Bob');

    expect(await nextEvent(events)).toEqual({
      __typename: 'MessageAdded',
      cursor: expect.any(String),
      conversationId: dm.id,
      message: { id: sent.id, seq: sent.seq, body: 'hello Bob', sender: { id: ann.id, displayName } },
    });
  });
});

describe('membership', () => {
  it('refuses conversationEvents to a non-member with NOT_FOUND, as for an unknown conversation id', async () => {
    const dm = await createDm(ann, bob);
    const socket = await realtime.connect(cy);

    const notMine = subscribeConversation(socket, dm.id);
    const unknown = subscribeConversation(socket, randomUUID());

    expect(codesOf(await notMine.error)).toEqual(['NOT_FOUND']);
    expect(codesOf(await unknown.error)).toEqual(['NOT_FOUND']);
    // The two refusals are indistinguishable.
    expect((await notMine.error)[0]!.message).toBe((await unknown.error)[0]!.message);
    expect(notMine.results).toEqual([]);
  });

  it('gives a member removed mid-stream their MemberRemoved on events, then nothing more of that conversation', async () => {
    const group = await createGroup(ann, [bob, cy], 'Removal');
    const dm = await createDm(ann, bob);
    const events = subscribeEvents(await realtime.connect(bob));
    await realtime.live(1);

    await removeMember(ann, group.id, bob);
    expect(await nextEvent(events)).toMatchObject({
      __typename: 'MemberRemoved',
      conversationId: group.id,
      user: { id: bob.id },
      actor: { id: ann.id },
    });

    // Sent in order: were the group's message delivered to Bob, it would come before the DM's.
    await send(ann, group.id, 'after Bob left');
    await send(ann, dm.id, 'still in touch');
    expect(await nextEvent(events)).toMatchObject({
      __typename: 'MessageAdded',
      conversationId: dm.id,
      message: { body: 'still in touch' },
    });
    expect(events.results).toHaveLength(2);
  });

  it('gives a member removed mid-stream their MemberRemoved on conversationEvents, then completes it', async () => {
    const group = await createGroup(ann, [bob, cy], 'Removal');
    const conversation = subscribeConversation(await realtime.connect(bob), group.id);
    await realtime.live(1);

    await removeMember(ann, group.id, bob);

    expect(await nextEvent(conversation)).toMatchObject({
      __typename: 'MemberRemoved',
      conversationId: group.id,
      user: { id: bob.id },
    });
    await within(conversation.completed, 10_000, 'completion after MemberRemoved');
    expect(conversation.results).toHaveLength(1);
  });
});
