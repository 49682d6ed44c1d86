import { randomUUID } from 'node:crypto';
import { conversationEvents } from '@parley/conversations/events';
import { messageEvents } from '@parley/messages/events';
import { createRedisEventStream, createRedisPubSub, type EventStream, type PubSub } from '@parley/kit';
import { codeOf, type Parley, sharedParley, type SignedInUser, testRedisUrl } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MyConversationsQuery } from '../generated/graphql.js';
import { CONVERSATION, MY_CONVERSATIONS, createGroup, ok, type ConversationFields } from './operations.js';

let parley: Parley;
let bus: PubSub;
let redis: Redis;
let stream: EventStream;

beforeAll(async () => {
  parley = await sharedParley();
  bus = createRedisPubSub({
    publisher: new Redis(testRedisUrl()),
    subscriber: new Redis(testRedisUrl()),
    prefix: parley.redisPrefix,
  });
  redis = new Redis(testRedisUrl());
  stream = createRedisEventStream({ redis, prefix: parley.redisPrefix });
});

afterAll(async () => {
  await bus?.close();
  redis?.disconnect();
  await parley?.stop();
});

/**
 * A message sent, as the messages subgraph appends it to the `messages.added` stream (the contract in
 * subgraphs/conversations/src/events.ts). Resolves once the conversations subgraph applied it.
 */
async function send(
  conversationId: string,
  sender: SignedInUser,
  seq: number,
  options: { mentions?: SignedInUser[]; observer?: SignedInUser } = {},
) {
  await stream.append(messageEvents.added, {
    conversationId,
    messageId: randomUUID(),
    seq,
    senderId: sender.id,
    mentionedUserIds: (options.mentions ?? []).map((user) => user.id),
  });
  await expect
    .poll(async () => (await view(options.observer ?? sender, conversationId)).lastSeq, {
      timeout: 5_000,
      interval: 10,
    })
    .toBeGreaterThanOrEqual(seq);
}

async function view(user: SignedInUser, id: string): Promise<ConversationFields> {
  return (await ok(user, CONVERSATION, { id })).conversation;
}

describe('me.conversations pagination by last activity', () => {
  it('returns every conversation exactly once while activity reorders them between pages', async () => {
    const [owner, peer] = await parley.registerUsers('pager', 'peer');
    const created: string[] = [];
    for (let index = 0; index < 23; index += 1)
      created.push((await createGroup(owner, [peer], `G${index}`)).id);
    // Newest first: the last created leads.
    const fresh = await ok(owner, MY_CONVERSATIONS, { first: 23 });
    expect(fresh.me.conversations.edges.map((edge) => edge.node.id)).toEqual([...created].reverse());

    const seen: string[] = [];
    let after: string | null = null;
    let seq = 0;
    let round = 0;
    do {
      // Annotated: `after` comes from the page before, which TypeScript cannot infer through.
      const page: MyConversationsQuery = await ok(owner, MY_CONVERSATIONS, { first: 5, after });
      seen.push(...page.me.conversations.edges.map((edge) => edge.node.id));
      after = page.me.conversations.pageInfo.hasNextPage ? page.me.conversations.pageInfo.endCursor : null;
      round += 1;
      // Between pages: activity in a conversation not listed yet (it jumps to the top), in one already
      // listed, and a brand-new conversation.
      const unseen = created.filter((id) => !seen.includes(id));
      if (unseen.length > 0) await send(unseen.at(-1)!, peer, (seq += 1), { observer: owner });
      await send(seen[0]!, peer, (seq += 1), { observer: owner });
      await createGroup(peer, [owner], `new during round ${round}`);
    } while (after);

    expect(seen.length).toBe(new Set(seen).size);
    expect(new Set(seen)).toEqual(new Set(created));

    // A new first page shows the new order: the conversations with activity and the new ones lead.
    const restarted = await ok(owner, MY_CONVERSATIONS, { first: 100 });
    const order = restarted.me.conversations.edges.map((edge) => edge.node.id);
    expect(order.length).toBe(created.length + round);
    expect(order.slice(0, 2)).not.toContain(created[0]);
  });

  it('refuses forged and expired cursors', async () => {
    const user = await parley.registerUser('cursor');
    const forged = Buffer.from(JSON.stringify({ t: 'x' })).toString('base64url');
    expect(codeOf(await user.client.request(MY_CONVERSATIONS, { after: forged }))).toBe('BAD_USER_INPUT');
    const old = Buffer.from(
      JSON.stringify({ t: Date.now() - 2 * 3_600_000, p: 0, i: randomUUID() }),
    ).toString('base64url');
    const expired = await user.client.request(MY_CONVERSATIONS, { after: old });
    expect(codeOf(expired)).toBe('BAD_USER_INPUT');
    expect(expired.errors?.[0]?.message).toMatch(/expired/);
    expect(codeOf(await user.client.request(MY_CONVERSATIONS, { first: 0 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await user.client.request(MY_CONVERSATIONS, { first: 101 }))).toBe('BAD_USER_INPUT');
  });
});

describe('unread and mention counts', () => {
  it('are exact after sends by others, own sends, read markers, replays and out-of-order events', async () => {
    const [ann, ben, cat] = await parley.registerUsers('ann', 'ben', 'cat');
    const group = await createGroup(ann, [ben, cat], 'Counts');
    const counts = async (user: SignedInUser) => {
      const { unreadCount, mentionCount, lastReadSeq, lastSeq } = await view(user, group.id);
      return { unreadCount, mentionCount, lastReadSeq, lastSeq };
    };
    expect(await counts(ann)).toEqual({ unreadCount: 0, mentionCount: 0, lastReadSeq: 0, lastSeq: 0 });

    for (const seq of [1, 2, 3]) await send(group.id, ben, seq);
    expect(await counts(ann)).toMatchObject({ unreadCount: 3, lastReadSeq: 0 });
    expect(await counts(ben)).toMatchObject({ unreadCount: 0, lastReadSeq: 3 });

    // Sending marks everything up to one's own message read.
    await send(group.id, ann, 4);
    expect(await counts(ann)).toMatchObject({ unreadCount: 0, lastReadSeq: 4 });
    expect(await counts(ben)).toMatchObject({ unreadCount: 1 });
    expect(await counts(cat)).toMatchObject({ unreadCount: 4 });

    const MARK = `mutation ($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { unreadCount lastReadSeq } }`;
    const read = await bus.subscribe(conversationEvents.read);
    const reads = read[Symbol.asyncIterator]();
    expect(await ok(cat, MARK, { c: group.id, s: 2 })).toEqual({
      markRead: { unreadCount: 2, lastReadSeq: 2 },
    });
    expect((await reads.next()).value).toEqual({
      conversationId: group.id,
      userId: cat.id,
      readSeq: 2,
      excludedUserIds: [],
    });
    // Never backwards.
    expect(await ok(cat, MARK, { c: group.id, s: 1 })).toEqual({
      markRead: { unreadCount: 2, lastReadSeq: 2 },
    });
    expect(await ok(cat, MARK, { c: group.id, s: 4 })).toEqual({
      markRead: { unreadCount: 0, lastReadSeq: 4 },
    });
    expect((await reads.next()).value).toEqual({
      conversationId: group.id,
      userId: cat.id,
      readSeq: 4,
      excludedUserIds: [],
    });
    await read.unsubscribe();
    expect(codeOf(await cat.client.request(MARK, { c: group.id, s: -1 }))).toBe('BAD_USER_INPUT');

    // Mentions count while unread.
    await send(group.id, ben, 5, { mentions: [ann, cat, ben] });
    expect(await counts(cat)).toMatchObject({ unreadCount: 1, mentionCount: 1 });
    expect(await counts(ann)).toMatchObject({ unreadCount: 1, mentionCount: 1 });
    expect(await counts(ben)).toMatchObject({ unreadCount: 0, mentionCount: 0 });
    await ok(ann, MARK, { c: group.id, s: 5 });
    expect(await counts(ann)).toMatchObject({ unreadCount: 0, mentionCount: 0 });

    // A replayed event changes nothing; a late, older one does not move anything back.
    await send(group.id, ben, 5, { mentions: [cat] });
    await send(group.id, ben, 7, { mentions: [cat] });
    await stream.append(messageEvents.added, {
      conversationId: group.id,
      messageId: randomUUID(),
      seq: 6,
      senderId: ben.id,
      mentionedUserIds: [],
    });
    await send(group.id, ben, 8);
    expect(await counts(cat)).toEqual({ unreadCount: 4, mentionCount: 2, lastReadSeq: 4, lastSeq: 8 });
    expect(await counts(ann)).toEqual({ unreadCount: 3, mentionCount: 0, lastReadSeq: 5, lastSeq: 8 });
    expect(await counts(ben)).toEqual({ unreadCount: 0, mentionCount: 0, lastReadSeq: 8, lastSeq: 8 });

    // The list shows the same counts.
    const list = await ok(cat, MY_CONVERSATIONS);
    expect(list.me.conversations.edges.find((edge) => edge.node.id === group.id)?.node).toMatchObject({
      unreadCount: 4,
      mentionCount: 2,
    });
  });

  it('apply a marker asked for before its messages were known as they arrive, and no further', async () => {
    const [ann, ben] = await parley.registerUsers('ann', 'ben');
    const group = await createGroup(ann, [ben], 'Ahead');
    await send(group.id, ann, 1);
    const MARK = `mutation ($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { lastReadSeq } }`;
    const DELIVERED = `mutation ($c: ID!, $s: Int!) { markDelivered(conversationId: $c, upToSeq: $s) { id } }`;
    // Ben's device shows messages 2 and 3 (and received 4) before this service heard of them.
    expect(await ok(ben, MARK, { c: group.id, s: 3 })).toEqual({ markRead: { lastReadSeq: 1 } });
    await ok(ben, DELIVERED, { c: group.id, s: 4 });
    const read = await bus.subscribe(conversationEvents.read);
    const reads = read[Symbol.asyncIterator]();
    // Ann's sends move her own marker too (receipts of hers): only ben's are looked at.
    const nextReadOfBen = async () => {
      for (;;) {
        const { value } = await reads.next();
        if (value?.userId === ben.id) return value;
      }
    };
    try {
      await send(group.id, ann, 2);
      expect(await nextReadOfBen()).toMatchObject({ userId: ben.id, readSeq: 2 });
      await send(group.id, ann, 3);
      await send(group.id, ann, 4);
      expect(await nextReadOfBen()).toMatchObject({ userId: ben.id, readSeq: 3 });
    } finally {
      await read.unsubscribe();
    }
    expect(await view(ben, group.id)).toMatchObject({ lastSeq: 4, lastReadSeq: 3, unreadCount: 1 });
    const members = await ok<{
      conversation: { members: { edges: { node: { user: { id: string }; lastDeliveredSeq: number } }[] } };
    }>(
      ben,
      `query ($id: ID!) { conversation(id: $id) { members { edges { node { user { id } lastDeliveredSeq } } } } }`,
      {
        id: group.id,
      },
    );
    expect(
      members.conversation.members.edges.find((edge) => edge.node.user.id === ben.id)?.node.lastDeliveredSeq,
    ).toBe(4);
  });
});
