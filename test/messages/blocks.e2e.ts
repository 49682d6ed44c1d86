import { randomUUID } from 'node:crypto';
import { conversationEvents } from '@parley/conversations/events';
import { createRedisPubSub } from '@parley/kit';
import { testRedisUrl } from '@parley/kit/testing';
import {
  codeOf,
  connectRealtime,
  type Parley,
  sharedParley,
  type SignedInUser,
  type TypedDocumentString,
} from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONVERSATION, CREATE_GROUP, createDm, createGroup, ok } from '../conversations/operations.js';
import { EVENTS, nextEvent, type EventSubscription } from '../realtime/operations.js';
import { ADD_REACTION, DELETE, EDIT, MESSAGE, REMOVE_REACTION, send, SEND } from './operations.js';

/**
 * One test per row of the table "Blocks" in subgraphs/messages/README.md (the rows for new DMs, typing and
 * presence are tested where those live: test/conversations, test/presence).
 */

let parley: Parley;

beforeAll(async () => {
  parley = await sharedParley();
}, 60_000);

afterAll(async () => {
  await parley?.stop();
});

const block = (user: SignedInUser, other: SignedInUser) =>
  ok(user, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: other.id });
const unblock = (user: SignedInUser, other: SignedInUser) =>
  ok(user, `mutation ($id: ID!) { unblockUser(userId: $id) }`, { id: other.id });

/** The error of a refused request: its code and message (the document is sent as text: no data to type). */
async function refusal(
  user: SignedInUser,
  query: string | TypedDocumentString<unknown, never>,
  variables: Record<string, unknown>,
) {
  const response = await user.client.request(String(query), variables);
  return { code: codeOf(response), message: response.errors?.[0]?.message };
}

const forbidden = (message: string) => ({ code: 'FORBIDDEN', message });

/** What the messages subgraph tells the blocker and the blocked user (FORBIDDEN, as sends always did). */
const blockRefusals = {
  send: {
    blocker: 'You blocked this user; unblock them to send messages',
    blocked: 'You cannot send messages to this user',
  },
  edit: {
    blocker: 'You blocked this user; unblock them to edit your messages to them',
    blocked: 'You cannot edit your messages to this user',
  },
  react: {
    blocker: 'You blocked this user; unblock them to react to their messages or in your conversation',
    blocked: 'You cannot react to this user’s messages or in your conversation with them',
  },
  reply: {
    blocker: 'You blocked this user; unblock them to reply to their messages',
    blocked: 'You cannot reply to this user’s messages',
  },
};

const sendInput = (conversationId: string, extra: Record<string, unknown> = {}) => ({
  input: { conversationId, body: 'hi', clientMutationId: randomUUID(), ...extra },
});

const messageOf = async (user: SignedInUser, id: string) => (await ok(user, MESSAGE, { id })).message;

const conversationOf = async (user: SignedInUser, id: string) =>
  (await ok(user, CONVERSATION, { id })).conversation;

/** Waits until the conversations subgraph has seen every message up to `seq` (markers are clamped to it). */
const caughtUp = (user: SignedInUser, conversationId: string, seq: number) =>
  expect.poll(async () => (await conversationOf(user, conversationId)).lastSeq).toBe(seq);

describe('a block, on every path between the two people', () => {
  it('send: refused in a DM in both directions (a retry of an earlier send still answers), allowed in a group and after unblocking', async () => {
    const [dee, eve] = await parley.registerUsers('dee', 'eve');
    const dm = await createDm(dee, eve);
    const group = await createGroup(dee, [eve], 'Shared');
    const before = await send(dee, dm.id, 'before', { clientMutationId: `before-${randomUUID()}` });
    await block(eve, dee);
    expect(await refusal(dee, SEND, sendInput(dm.id))).toEqual(forbidden(blockRefusals.send.blocked));
    expect(await refusal(eve, SEND, sendInput(dm.id))).toEqual(forbidden(blockRefusals.send.blocker));
    // A retry of a send made before the block still gets its message.
    const retried = await send(dee, dm.id, 'before', { clientMutationId: before.clientMutationId! });
    expect(retried.id).toBe(before.id);
    // Groups are shared with others: both still write in the group they share.
    expect((await send(dee, group.id, 'still fine')).seq).toBe(1);
    expect((await send(eve, group.id, 'me too')).seq).toBe(2);
    await unblock(eve, dee);
    expect(codeOf(await dee.client.request(SEND, sendInput(dm.id)))).toBeUndefined();
  });

  it('edit: refused in a DM in both directions, so the other keeps reading the old text; allowed in a group', async () => {
    const [fay, gus] = await parley.registerUsers('fay', 'gus');
    const dm = await createDm(fay, gus);
    const group = await createGroup(fay, [gus], 'Edits');
    const fays = await send(fay, dm.id, 'what fay wrote');
    const guss = await send(gus, dm.id, 'what gus wrote');
    const inGroup = await send(gus, group.id, 'group text');
    await block(fay, gus);

    const edit = (id: string) => ({ input: { id, body: 'rewritten' } });
    expect(await refusal(gus, EDIT, edit(guss.id))).toEqual(forbidden(blockRefusals.edit.blocked));
    expect(await refusal(fay, EDIT, edit(fays.id))).toEqual(forbidden(blockRefusals.edit.blocker));
    expect((await messageOf(fay, guss.id)).body).toBe('what gus wrote');
    expect((await messageOf(gus, fays.id)).body).toBe('what fay wrote');
    // History stays readable to both, in the DM as in the group.
    expect((await messageOf(gus, guss.id)).body).toBe('what gus wrote');

    const edited = await ok(gus, EDIT, edit(inGroup.id));
    expect(edited.editMessage.body).toBe('rewritten');
    expect((await messageOf(fay, inGroup.id)).body).toBe('rewritten');
  });

  it('delete for everyone: allowed to both (it only takes content away), in a DM and in a group', async () => {
    const [hal, ida] = await parley.registerUsers('hal', 'ida');
    const dm = await createDm(hal, ida);
    const hals = await send(hal, dm.id, 'hal');
    const idas = await send(ida, dm.id, 'ida');
    await block(ida, hal);
    for (const [user, message] of [
      [hal, hals],
      [ida, idas],
    ] as const) {
      const { deleteMessage } = await ok(user, DELETE, { id: message.id });
      expect(deleteMessage.deletedAt).not.toBeNull();
    }
  });

  it('react: refused in a DM in both directions (adding and removing), and in a group on each other’s messages', async () => {
    const [jo, kim, lou] = await parley.registerUsers('jo', 'kim', 'lou');
    const dm = await createDm(jo, kim);
    const group = await createGroup(jo, [kim, lou], 'Reactions');
    const jos = await send(jo, dm.id, 'jo');
    const kims = await send(kim, dm.id, 'kim');
    const josInGroup = await send(jo, group.id, 'jo in the group');
    const kimsInGroup = await send(kim, group.id, 'kim in the group');
    const lousInGroup = await send(lou, group.id, 'lou in the group');
    await ok(jo, ADD_REACTION, { id: kimsInGroup.id, emoji: '👍' });
    await block(kim, jo);

    const react = (id: string) => ({ id, emoji: '🎉' });
    const refusals = blockRefusals.react;
    expect(await refusal(jo, ADD_REACTION, react(kims.id))).toEqual(forbidden(refusals.blocked));
    expect(await refusal(jo, ADD_REACTION, react(jos.id))).toEqual(forbidden(refusals.blocked));
    expect(await refusal(kim, ADD_REACTION, react(jos.id))).toEqual(forbidden(refusals.blocker));
    expect(await refusal(jo, ADD_REACTION, react(kimsInGroup.id))).toEqual(forbidden(refusals.blocked));
    expect(await refusal(kim, ADD_REACTION, react(josInGroup.id))).toEqual(forbidden(refusals.blocker));
    // Removing is an event the other receives too.
    expect(await refusal(jo, REMOVE_REACTION, { id: kimsInGroup.id, emoji: '👍' })).toEqual(
      forbidden(refusals.blocked),
    );
    // Others' messages in the group, and one's own, take reactions as before.
    await ok(jo, ADD_REACTION, react(lousInGroup.id));
    await ok(kim, ADD_REACTION, react(lousInGroup.id));
    await ok(jo, ADD_REACTION, react(josInGroup.id));
    expect((await messageOf(lou, kimsInGroup.id)).reactions).toEqual([
      { emoji: '👍', count: 1, viewerReacted: false },
    ]);
  });

  it('reply: refused in a group to each other’s messages (in a DM every send is refused)', async () => {
    const [max, ned, oli] = await parley.registerUsers('max', 'ned', 'oli');
    const group = await createGroup(oli, [max, ned], 'Replies');
    const maxs = await send(max, group.id, 'max');
    const neds = await send(ned, group.id, 'ned');
    const olis = await send(oli, group.id, 'oli');
    await block(max, ned);
    const reply = (id: string) => sendInput(group.id, { replyToId: id });
    expect(await refusal(ned, SEND, reply(maxs.id))).toEqual(forbidden(blockRefusals.reply.blocked));
    expect(await refusal(max, SEND, reply(neds.id))).toEqual(forbidden(blockRefusals.reply.blocker));
    expect((await send(ned, group.id, 'to oli', { replyToId: olis.id })).replyTo).toEqual({ id: olis.id });
    expect((await send(ned, group.id, 'to myself', { replyToId: neds.id })).replyTo).toEqual({ id: neds.id });
  });

  it('mentions: a mention of someone in a block relation with the sender is not recorded (no mention count), in sends and edits', async () => {
    const [pat, quin, rae] = await parley.registerUsers('pat', 'quin', 'rae');
    const group = await createGroup(rae, [pat, quin], 'Mentions');
    await block(quin, pat);
    const byPat = await send(pat, group.id, '@quin @rae', { mentions: [quin.id, rae.id] });
    expect(byPat.mentions).toEqual([{ id: rae.id }]);
    const byQuin = await send(quin, group.id, '@pat @rae', { mentions: [pat.id, rae.id] });
    expect(byQuin.mentions).toEqual([{ id: rae.id }]);
    const edited = await ok(pat, EDIT, { input: { id: byPat.id, body: '@quin again', mentions: [quin.id] } });
    expect(edited.editMessage.mentions).toEqual([]);
    // Rae's count shows both messages were applied; neither of the other two was counted.
    await expect.poll(async () => (await conversationOf(rae, group.id)).mentionCount).toBe(2);
    expect((await conversationOf(quin, group.id)).mentionCount).toBe(0);
    expect((await conversationOf(pat, group.id)).mentionCount).toBe(0);
  });

  it('receipts: each one’s markers still move (their own unread count) but the other is not shown them, in a DM and in a group', async () => {
    const [sam, tia, uma] = await parley.registerUsers('sam', 'tia', 'uma');
    const dm = await createDm(sam, tia);
    const group = await createGroup(uma, [sam, tia], 'Receipts');
    await send(sam, dm.id, 'one');
    await send(sam, dm.id, 'two');
    await send(uma, group.id, 'from uma');
    await send(sam, group.id, 'from sam');
    await caughtUp(sam, dm.id, 2);
    await caughtUp(sam, group.id, 2);
    await block(sam, tia);

    const events = createRedisPubSub({
      publisher: new Redis(testRedisUrl()),
      subscriber: new Redis(testRedisUrl()),
      prefix: parley.redisPrefix,
    });
    const read = await events.subscribe(conversationEvents.read);
    const next = read[Symbol.asyncIterator]();
    try {
      const MARK_READ = `mutation ($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { unreadCount } }`;
      expect(await ok(tia, MARK_READ, { c: dm.id, s: 2 })).toEqual({ markRead: { unreadCount: 0 } });
      // The event names who must not receive it (the router's realtime delivery leaves them out).
      expect((await next.next()).value).toMatchObject({
        userId: tia.id,
        readSeq: 2,
        excludedUserIds: [sam.id],
      });
      await ok(tia, MARK_READ, { c: group.id, s: 2 });
      expect((await next.next()).value).toMatchObject({
        userId: tia.id,
        readSeq: 2,
        excludedUserIds: [sam.id],
      });
      await ok(uma, MARK_READ, { c: group.id, s: 2 });
      expect((await next.next()).value).toMatchObject({ userId: uma.id, excludedUserIds: [] });
      // A marker asked for past the messages known moves when the next one arrives: the same exclusions.
      await ok(tia, MARK_READ, { c: group.id, s: 3 });
      await send(uma, group.id, 'three');
      expect((await next.next()).value).toMatchObject({
        userId: tia.id,
        readSeq: 3,
        excludedUserIds: [sam.id],
      });
    } finally {
      await read.unsubscribe();
      await events.close();
    }

    const RECEIPTS = `query ($id: ID!) { conversation(id: $id) {
      messages { edges { node { seq readBy { id } readCount deliveredTo { id } deliveredCount } } }
      members { edges { node { user { id } lastReadSeq lastDeliveredSeq } } }
    } }`;
    const receipts = async (user: SignedInUser, id: string) => {
      const { conversation } = await ok<{
        conversation: {
          messages: { edges: { node: Record<string, unknown> }[] };
          members: {
            edges: { node: { user: { id: string }; lastReadSeq: number; lastDeliveredSeq: number } }[];
          };
        };
      }>(user, RECEIPTS, { id });
      return {
        messages: conversation.messages.edges.map((edge) => edge.node),
        markers: Object.fromEntries(
          conversation.members.edges.map(({ node }) => [
            node.user.id,
            [node.lastReadSeq, node.lastDeliveredSeq],
          ]),
        ),
      };
    };
    const unseen = { readBy: [], readCount: 0, deliveredTo: [], deliveredCount: 0 };
    // The DM: neither sees the other's markers (nor the sender's own sends counted as read by him).
    expect(await receipts(sam, dm.id)).toEqual({
      messages: [
        { seq: 1, ...unseen },
        { seq: 2, ...unseen },
      ],
      markers: { [sam.id]: [2, 2], [tia.id]: [0, 0] },
    });
    expect((await receipts(tia, dm.id)).markers).toEqual({ [sam.id]: [0, 0], [tia.id]: [2, 2] });
    // The group: uma sees everyone's; sam does not see tia's, and tia not sam's.
    const byUma = await receipts(uma, group.id);
    expect(byUma.markers).toEqual({ [uma.id]: [3, 3], [sam.id]: [2, 2], [tia.id]: [3, 3] });
    expect(byUma.messages.map((message) => message.readCount)).toEqual([2, 2, 1]);
    const bySam = await receipts(sam, group.id);
    expect(bySam.markers[tia.id]).toEqual([0, 0]);
    expect(bySam.messages[1]).toMatchObject({ readBy: [{ id: uma.id }], readCount: 1 });
    expect(bySam.messages[0]).toMatchObject({ readBy: [{ id: sam.id }], readCount: 1 });
    const byTia = await receipts(tia, group.id);
    expect(byTia.markers[sam.id]).toEqual([0, 0]);
    expect(byTia.messages[0]).toMatchObject({ readBy: [{ id: tia.id }], readCount: 1 });

    await unblock(sam, tia);
    expect((await receipts(sam, dm.id)).markers[tia.id]).toEqual([2, 2]);
  });

  it('receipts over realtime: the other is not sent the receipt events', async () => {
    const [vi, wu, xi] = await parley.registerUsers('vi', 'wu', 'xi');
    const group = await createGroup(xi, [vi, wu], 'Live receipts');
    await send(xi, group.id, 'one');
    await caughtUp(xi, group.id, 1);
    await block(vi, wu);
    const { realtimeCursor } = await ok<{ realtimeCursor: string }>(vi, `query { realtimeCursor }`);
    const socket = await connectRealtime(parley.wsUrl, { token: vi.accessToken });
    try {
      const events: EventSubscription = socket.subscribe(EVENTS, { after: realtimeCursor });
      await ok(wu, `mutation ($c: ID!) { markRead(conversationId: $c, upToSeq: 1) { id } }`, { c: group.id });
      // Events arrive in order: had wu's receipt been sent to vi, it would come before this message.
      await send(xi, group.id, 'two');
      expect((await nextEvent(events)).__typename).toBe('MessageAdded');
    } finally {
      await socket.close();
    }
  });

  it('being added to a group: neither can put the other in one (created or added to); a third member can add both', async () => {
    const [vic, wes, xan] = await parley.registerUsers('vic', 'wes', 'xan');
    await block(vic, wes);
    const create = (owner: SignedInUser, others: SignedInUser[]) =>
      refusal(owner, CREATE_GROUP, { input: { title: 'G', memberIds: others.map((user) => user.id) } });
    // Whoever was blocked sees the same answer as for an unknown user; the blocker is told why.
    expect(await create(wes, [vic])).toEqual({ code: 'NOT_FOUND', message: 'User not found' });
    expect(await create(vic, [wes])).toEqual(forbidden('You blocked this user; unblock them first'));

    const ADD = `mutation ($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u) { memberCount } }`;
    const byWes = await createGroup(wes, [xan], 'Wes');
    const byVic = await createGroup(vic, [xan], 'Vic');
    expect(await refusal(wes, ADD, { c: byWes.id, u: [vic.id] })).toEqual({
      code: 'NOT_FOUND',
      message: 'User not found',
    });
    expect(await refusal(vic, ADD, { c: byVic.id, u: [wes.id] })).toEqual(
      forbidden('You blocked this user; unblock them first'),
    );
    // A group is shared with others: a third person may have both in it.
    const byXan = await createGroup(xan, [vic], 'Xan');
    expect(await ok(xan, ADD, { c: byXan.id, u: [wes.id] })).toEqual({ addMembers: { memberCount: 3 } });
  });
});
