import { createRedisPubSub } from '@parley/kit';
import { conversationEvents } from '@parley/conversations/events';
import { createGraphQLClient, testRedisUrl } from '@parley/kit/testing';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONVERSATION, createDm, createGroup, ok } from '../conversations/operations.js';
import { send } from './operations.js';

interface Receipts {
  seq: number;
  readBy: { id: string }[] | null;
  readCount: number;
  deliveredTo: { id: string }[] | null;
  deliveredCount: number;
}

const RECEIPTS = `query ($id: ID!) { conversation(id: $id) {
  messages { edges { node { seq readBy { id } readCount deliveredTo { id } deliveredCount } } }
  members { edges { node { user { id } lastReadSeq lastDeliveredSeq } } }
} }`;
const MARK_READ = `mutation ($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { lastReadSeq } }`;
const MARK_DELIVERED = `mutation ($c: ID!, $s: Int!) { markDelivered(conversationId: $c, upToSeq: $s) { id } }`;

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let cy: SignedInUser;

beforeAll(async () => {
  // Lists of readers for conversations of up to two members (DMs); larger groups get counts only.
  parley = await startParley({ label: 'messages_receipts', conversationsEnv: { RECEIPTS_MAX_MEMBERS: '2' } });
  [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
}, 60_000);

afterAll(async () => {
  await parley?.stop();
});

async function receipts(user: SignedInUser, conversationId: string) {
  const data = await ok<{
    conversation: {
      messages: { edges: { node: Receipts }[] };
      members: { edges: { node: { user: { id: string }; lastReadSeq: number; lastDeliveredSeq: number } }[] };
    };
  }>(user, RECEIPTS, { id: conversationId });
  return {
    messages: data.conversation.messages.edges.map((edge) => edge.node),
    members: new Map(data.conversation.members.edges.map(({ node }) => [node.user.id, node])),
  };
}

/** Waits until the conversations subgraph has seen every message up to `seq` (markers are clamped to it). */
const caughtUp = (user: SignedInUser, conversationId: string, seq: number) =>
  expect
    .poll(async () => (await ok(user, CONVERSATION, { id: conversationId })).conversation.lastSeq)
    .toBe(seq);

describe('delivery and read receipts', () => {
  it('come from the members’ markers: who received and read each message, the sender excepted', async () => {
    const group = await createGroup(ann, [bob, cy], 'Receipts');
    for (const body of ['one', 'two', 'three']) await send(ann, group.id, body);
    await caughtUp(ann, group.id, 3);

    const events = createRedisPubSub({
      publisher: new Redis(testRedisUrl()),
      subscriber: new Redis(testRedisUrl()),
      prefix: parley.redisPrefix,
    });
    const delivered = await events.subscribe(conversationEvents.delivered);
    const next = delivered[Symbol.asyncIterator]();
    try {
      await ok(bob, MARK_DELIVERED, { c: group.id, s: 2 });
      expect((await next.next()).value).toEqual({
        conversationId: group.id,
        userId: bob.id,
        deliveredSeq: 2,
        excludedUserIds: [],
      });
      await ok(cy, MARK_READ, { c: group.id, s: 1 });
      // Backwards changes nothing and publishes nothing; beyond the last message is clamped to it.
      await ok(bob, MARK_DELIVERED, { c: group.id, s: 1 });
      await ok(bob, MARK_DELIVERED, { c: group.id, s: 99 });
      expect((await next.next()).value).toEqual({
        conversationId: group.id,
        userId: bob.id,
        deliveredSeq: 3,
        excludedUserIds: [],
      });
    } finally {
      await delivered.unsubscribe();
      await events.close();
    }

    // Three members is above this platform's list limit of two: counts only.
    const { messages, members } = await receipts(cy, group.id);
    expect(messages).toEqual([
      { seq: 1, readBy: null, readCount: 1, deliveredTo: null, deliveredCount: 2 },
      { seq: 2, readBy: null, readCount: 0, deliveredTo: null, deliveredCount: 1 },
      { seq: 3, readBy: null, readCount: 0, deliveredTo: null, deliveredCount: 1 },
    ]);
    // Reading implies delivery; the sender's own sends count as read by them.
    expect(members.get(cy.id)).toMatchObject({ lastReadSeq: 1, lastDeliveredSeq: 1 });
    expect(members.get(bob.id)).toMatchObject({ lastReadSeq: 0, lastDeliveredSeq: 3 });
    expect(members.get(ann.id)).toMatchObject({ lastReadSeq: 3, lastDeliveredSeq: 3 });
  });

  it('lists readers in small conversations, and refuses strangers and bad markers', async () => {
    const dm = await createDm(bob, cy);
    await send(bob, dm.id, 'hi');
    await send(bob, dm.id, 'there');
    await caughtUp(bob, dm.id, 2);
    await ok(cy, MARK_DELIVERED, { c: dm.id, s: 2 });
    await ok(cy, MARK_READ, { c: dm.id, s: 1 });
    expect((await receipts(bob, dm.id)).messages).toEqual([
      { seq: 1, readBy: [{ id: cy.id }], readCount: 1, deliveredTo: [{ id: cy.id }], deliveredCount: 1 },
      { seq: 2, readBy: [], readCount: 0, deliveredTo: [{ id: cy.id }], deliveredCount: 1 },
    ]);

    expect(codeOf(await ann.client.request(MARK_DELIVERED, { c: dm.id, s: 1 }))).toBe('NOT_FOUND');
    expect(codeOf(await cy.client.request(MARK_DELIVERED, { c: dm.id, s: -1 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await ann.client.request(RECEIPTS, { id: dm.id }))).toBe('NOT_FOUND');
    // Nor by calling the conversations subgraph directly with a forged message reference.
    const direct = createGraphQLClient({ url: parley.subgraphUrls.conversations, token: ann.accessToken });
    const forged = await direct.request<{ _entities: unknown[] }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Message { readCount readBy { id } } } }`,
      {
        r: [
          { __typename: 'Message', id: dm.id, seq: 1, conversation: { id: dm.id }, sender: { id: bob.id } },
        ],
      },
    );
    expect(forged.errors).toBeUndefined();
    expect(forged.data?._entities).toEqual([null]);
  });
});
