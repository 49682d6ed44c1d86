import { randomBytes, randomUUID } from 'node:crypto';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../files/operations.js';
import { CONVERSATION, createDm, createGroup, ok } from '../conversations/operations.js';
import {
  ADD_REACTION,
  DELETE,
  EDIT,
  history,
  MESSAGE,
  REMOVE_REACTION,
  send,
  SEND,
  type HistoryPage,
  type MessageFields,
} from './operations.js';

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;
let cy: SignedInUser;

beforeAll(async () => {
  // The load test sends a thousand messages from one address.
  parley = await startParley({ label: 'messages', routerEnv: { RATE_LIMIT_PER_IP: '100000' } });
  [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
}, 60_000);

afterAll(async () => {
  await parley?.stop();
});

const conversationOf = async (user: SignedInUser, id: string) =>
  (await ok(user, CONVERSATION, { id })).conversation;

describe('sending and history', () => {
  it('gives 20 concurrent senders of 50 messages the seqs 1..1000, and pages back then forth over them once each', async () => {
    const senders = await Promise.all(
      Array.from({ length: 19 }, (_, index) => parley.registerUser(`s${index}`)),
    );
    const group = await createGroup(ann, senders, 'Load');
    const seqsBySender = await Promise.all(
      [ann, ...senders].map(async (sender) => {
        const mine: number[] = [];
        for (let index = 0; index < 50; index += 1) {
          mine.push((await send(sender, group.id, `${sender.username} #${index}`)).seq);
        }
        return mine;
      }),
    );
    const seqs = seqsBySender.flat();
    const all = Array.from({ length: 1000 }, (_, index) => index + 1);
    expect([...seqs].sort((a, b) => a - b)).toEqual(all);

    const backwards: number[] = [];
    let page: HistoryPage = await history(ann, group.id, { last: 100 });
    backwards.unshift(...page.edges.map((edge) => edge.node.seq));
    while (page.pageInfo.hasPreviousPage) {
      page = await history(ann, group.id, { last: 100, before: page.pageInfo.startCursor });
      backwards.unshift(...page.edges.map((edge) => edge.node.seq));
    }
    expect(backwards).toEqual(all);
    const forwards: number[] = [];
    page = await history(ann, group.id, { first: 100 });
    forwards.push(...page.edges.map((edge) => edge.node.seq));
    while (page.pageInfo.hasNextPage) {
      page = await history(ann, group.id, { first: 100, after: page.pageInfo.endCursor });
      forwards.push(...page.edges.map((edge) => edge.node.seq));
    }
    expect(forwards).toEqual(all);

    // The conversations subgraph followed every send (durable stream): the last seq and unread counts.
    await expect
      .poll(async () => (await conversationOf(ann, group.id)).lastSeq, { timeout: 15_000 })
      .toBe(1000);
    // A sender's own sends move their read marker: unread is what came after their last one.
    const lastOwn = Math.max(...seqsBySender[1]!);
    expect(await conversationOf(senders[0]!, group.id)).toMatchObject({
      lastReadSeq: lastOwn,
      unreadCount: 1000 - lastOwn,
    });
  }, 180_000);

  it('resolves the sender through the users subgraph and the conversation through conversations', async () => {
    const dm = await createDm(ann, bob);
    const data = await ok<{ sendMessage: MessageFields & { conversation: { id: string; kind: string } } }>(
      ann,
      `mutation ($input: SendMessageInput!) {
        sendMessage(input: $input) { seq body sender { id username } conversation { id kind peer { username } } }
      }`,
      { input: { conversationId: dm.id, body: '  hello Bob  ', clientMutationId: randomUUID() } },
    );
    expect(data.sendMessage).toEqual({
      seq: 1,
      body: 'hello Bob',
      sender: { id: ann.id, username: ann.username },
      conversation: { id: dm.id, kind: 'DIRECT', peer: { username: bob.username } },
    });
    await expect.poll(async () => (await conversationOf(bob, dm.id)).unreadCount).toBe(1);
  });

  it('returns the first message for a repeated clientMutationId, also for concurrent retries', async () => {
    const group = await createGroup(ann, [bob], 'Retries');
    const input = { conversationId: group.id, body: 'once', clientMutationId: `retry-${randomUUID()}` };
    const first = (await ok(ann, SEND, { input })).sendMessage;
    const again = (await ok(ann, SEND, { input })).sendMessage;
    expect(again).toEqual(first);
    expect(first.clientMutationId).toBe(input.clientMutationId);

    const concurrent = { ...input, body: 'twice?', clientMutationId: `retry-${randomUUID()}` };
    const results = await Promise.all(Array.from({ length: 6 }, () => ok(bob, SEND, { input: concurrent })));
    expect(new Set(results.map((result) => result.sendMessage.id)).size).toBe(1);
    expect(results[0]!.sendMessage.seq).toBe(2);

    const page = await history(ann, group.id, { first: 10 });
    expect(page.edges.map((edge) => edge.node.body)).toEqual(['once', 'twice?']);
    // Others do not see the sender's key.
    expect((await ok(bob, MESSAGE, { id: first.id })).message.clientMutationId).toBeNull();

    const reused = await ann.client.request(SEND, { input: { ...input, body: 'something else' } });
    expect(codeOf(reused)).toBe('CONFLICT');
    expect((await send(ann, group.id, 'next')).seq).toBe(3);
  });

  it('answers history arguments it cannot honour with BAD_USER_INPUT', async () => {
    const group = await createGroup(ann, [], 'Args');
    for (let index = 0; index < 3; index += 1) await send(ann, group.id, `m${index}`);
    const latest = await history(ann, group.id, {});
    expect(latest.edges.map((edge) => edge.node.seq)).toEqual([1, 2, 3]);
    expect(latest.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: false });
    const bad = [
      { first: 2, last: 2 },
      { first: 0 },
      { last: 101 },
      { first: 2, after: 'not-a-cursor' },
      { last: 2, before: Buffer.from('{"s":-1}').toString('base64url') },
      { last: 2, before: Buffer.from('{"s":2147483648}').toString('base64url') },
      { first: 2, after: Buffer.from('{"s":9007199254740991}').toString('base64url') },
    ];
    for (const variables of bad) {
      const response = await ann.client.request(
        `query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
          conversation(id: $id) { messages(first: $first, after: $after, last: $last, before: $before) { edges { cursor } } }
        }`,
        { id: group.id, ...variables },
      );
      expect(codeOf(response), JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
  });
});

describe('limits', () => {
  it('refuses oversized bodies, empty messages, too many attachments and control characters', async () => {
    const group = await createGroup(ann, [], 'Limits');
    // Sent as text, untyped: the inputs are wrong on purpose.
    const attempt = (input: Record<string, unknown>) =>
      ann.client.request(String(SEND), {
        input: { conversationId: group.id, clientMutationId: randomUUID(), ...input },
      });
    expect((await send(ann, group.id, '🙂'.repeat(4000))).body).toHaveLength(8000);
    const cases = [
      { body: 'x'.repeat(4001) },
      { body: '🙂'.repeat(4001) },
      { body: '   ' },
      { body: 'hi\u0000there' },
      { body: 'evil \u202egnp.exe' },
      { body: 'lone \ud800 surrogate' },
      { body: 'hi', clientMutationId: 'k\udbff' },
      { body: 'hi', attachmentIds: Array.from({ length: 11 }, () => randomUUID()) },
      { body: 'hi', attachmentIds: ['not-a-file'] },
      { body: 'hi', clientMutationId: '' },
      { body: 'hi', clientMutationId: 'k'.repeat(65) },
      { body: 'hi', mentions: Array.from({ length: 51 }, () => randomUUID()) },
    ];
    for (const input of cases) {
      const response = await attempt(input);
      expect(codeOf(response), JSON.stringify(input).slice(0, 80)).toBe('BAD_USER_INPUT');
    }
    // A message of attachments only is fine; line breaks and tabs are text.
    const file = await uploadFile(ann, randomBytes(16), { contentType: 'application/octet-stream' });
    expect((await send(ann, group.id, '', { attachmentIds: [file.id] })).attachments).toEqual([
      { id: file.id },
    ]);
    expect((await send(ann, group.id, 'a\n\tb')).body).toBe('a\n\tb');
    // Writing systems and emoji sequences use joiners and other format characters: all text.
    for (const body of ['👨‍👩‍👧', 'می‌خواهم', 'soft\u00adhyphen', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', 'zero\u200bwidth']) {
      expect((await send(ann, group.id, body)).body).toBe(body);
    }
    expect((await send(ann, group.id, 'line1\r\nline2\rline3')).body).toBe('line1\nline2\nline3');
    const page = await history(ann, group.id, {});
    expect(page.edges.map((edge) => edge.node.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('edits and deletes', () => {
  it('lets only the sender edit, keeping when; a deleted message keeps its seq and loses its body', async () => {
    const group = await createGroup(ann, [bob, cy], 'Edits');
    const original = await send(bob, group.id, 'tpyo');
    const byOther = await ann.client.request(EDIT, { input: { id: original.id, body: 'hijacked' } });
    expect(codeOf(byOther)).toBe('FORBIDDEN');
    const edited = (await ok(bob, EDIT, { input: { id: original.id, body: 'typo' } })).editMessage;
    expect(edited).toMatchObject({
      id: original.id,
      seq: original.seq,
      body: 'typo',
      createdAt: original.createdAt,
    });
    expect(edited.editedAt).not.toBeNull();

    const later = await send(cy, group.id, 'after');
    const deleted = (await ok(bob, DELETE, { id: original.id })).deleteMessage;
    expect(deleted).toMatchObject({ seq: original.seq, body: null, attachments: [], reactions: [] });
    expect(deleted.deletedAt).not.toBeNull();
    const page = await history(cy, group.id, {});
    expect(page.edges.map((edge) => [edge.node.seq, edge.node.body])).toEqual([
      [1, null],
      [2, 'after'],
    ]);
    expect(later.seq).toBe(2);
    // Deleting again returns the tombstone; editing it is refused.
    expect((await ok(bob, DELETE, { id: original.id })).deleteMessage.deletedAt).toBe(deleted.deletedAt);
    expect(codeOf(await bob.client.request(EDIT, { input: { id: original.id, body: 'back' } }))).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('lets group admins delete anyone’s message, members only their own, and nobody their peer’s in a DM', async () => {
    const group = await createGroup(ann, [bob, cy], 'Moderation');
    await ok(
      ann,
      `mutation ($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { role } }`,
      {
        c: group.id,
        u: bob.id,
      },
    );
    const fromCy = await send(cy, group.id, 'rude');
    const fromAnn = await send(ann, group.id, 'owner speaking');
    expect(codeOf(await cy.client.request(DELETE, { id: fromAnn.id }))).toBe('FORBIDDEN');
    expect((await ok(bob, DELETE, { id: fromCy.id })).deleteMessage.body).toBeNull();
    expect((await ok(bob, DELETE, { id: fromAnn.id })).deleteMessage.body).toBeNull();

    const dm = await createDm(bob, cy);
    const fromBob = await send(bob, dm.id, 'mine');
    expect(codeOf(await cy.client.request(DELETE, { id: fromBob.id }))).toBe('FORBIDDEN');
    expect((await ok(cy, MESSAGE, { id: fromBob.id })).message.body).toBe('mine');
  });
});

describe('reactions, threads and mentions', () => {
  it('counts reactions per emoji with the viewer’s part, within the limits', async () => {
    const group = await createGroup(ann, [bob, cy], 'Reactions');
    const message = await send(ann, group.id, 'react to me');
    const react = (user: SignedInUser, emoji: string) =>
      user.client.request(ADD_REACTION, { id: message.id, emoji });
    await react(ann, '👍');
    await react(bob, '👍');
    await react(bob, '👍'); // again: nothing changes
    await react(cy, '🎉');
    const seen = await ok(bob, MESSAGE, { id: message.id });
    expect(seen.message.reactions).toEqual([
      { emoji: '👍', count: 2, viewerReacted: true },
      { emoji: '🎉', count: 1, viewerReacted: false },
    ]);
    const removed = await ok(bob, REMOVE_REACTION, { id: message.id, emoji: '👍' });
    expect(removed.removeReaction.reactions).toEqual([
      { emoji: '👍', count: 1, viewerReacted: false },
      { emoji: '🎉', count: 1, viewerReacted: false },
    ]);
    for (const emoji of ['', 'abc', '👍 👍', '😀😀', '<script>', '1', 'x'.repeat(40)]) {
      expect(codeOf(await react(cy, emoji)), emoji).toBe('BAD_USER_INPUT');
    }
    for (const emoji of ['1️⃣', '👨‍👩‍👧', '🇫🇷', '❤']) {
      expect(codeOf(await react(cy, emoji)), emoji).toBeUndefined();
    }
    // Ten reactions per member by default: the eleventh is refused.
    const faces = ['😀', '😃', '😄', '😁', '😆', '😅', '😂', '🤣', '😊', '😇', '🙂'];
    const outcomes = [];
    for (const emoji of faces) outcomes.push(codeOf(await react(ann, emoji)) ?? 'ok');
    expect(outcomes.filter((outcome) => outcome === 'BAD_USER_INPUT')).toHaveLength(2); // ann already had 👍
  });

  it('threads replies under the first message with counts, latest replies and pagination', async () => {
    const group = await createGroup(ann, [bob], 'Threads');
    const root = await send(ann, group.id, 'root');
    const replies: MessageFields[] = [];
    for (let index = 0; index < 5; index += 1) {
      const replyToId = index === 0 ? root.id : replies[index - 1]!.id;
      replies.push(await send(index % 2 ? ann : bob, group.id, `reply ${index}`, { replyToId }));
    }
    expect(replies[3]).toMatchObject({ replyTo: { id: replies[2]!.id }, threadRoot: { id: root.id } });
    const data = await ok<{
      message: {
        replyCount: number;
        latestReplies: { body: string }[];
        replies: {
          edges: { node: { body: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    }>(
      bob,
      `query ($id: ID!) { message(id: $id) {
        replyCount latestReplies(last: 2) { body }
        replies(first: 3) { edges { node { body } } pageInfo { hasNextPage endCursor } }
      } }`,
      { id: root.id },
    );
    expect(data.message.replyCount).toBe(5);
    expect(data.message.latestReplies.map((reply) => reply.body)).toEqual(['reply 3', 'reply 4']);
    expect(data.message.replies.edges.map((edge) => edge.node.body)).toEqual([
      'reply 0',
      'reply 1',
      'reply 2',
    ]);
    expect(data.message.replies.pageInfo.hasNextPage).toBe(true);

    const other = await createGroup(ann, [], 'Elsewhere');
    const foreign = await send(ann, other.id, 'not here');
    const crossed = await ann.client.request(SEND, {
      input: { conversationId: group.id, body: 'x', clientMutationId: randomUUID(), replyToId: foreign.id },
    });
    expect(codeOf(crossed)).toBe('BAD_USER_INPUT');

    // Replying to a message that is then deleted: the reply stands, and a retry of it still gets it.
    const key = `reply-${randomUUID()}`;
    const reply = await send(bob, group.id, 'answer', { replyToId: replies[4]!.id, clientMutationId: key });
    await ok(ann, DELETE, { id: replies[4]!.id });
    expect(
      (await send(bob, group.id, 'answer', { replyToId: replies[4]!.id, clientMutationId: key })).id,
    ).toBe(reply.id);
    const fresh = await bob.client.request(SEND, {
      input: {
        conversationId: group.id,
        body: 'late',
        clientMutationId: randomUUID(),
        replyToId: replies[4]!.id,
      },
    });
    expect(codeOf(fresh)).toBe('BAD_USER_INPUT');
  });

  it('keeps mentions of members only and counts them in the conversation’s mention count', async () => {
    const group = await createGroup(ann, [bob], 'Mentions');
    const message = await send(ann, group.id, 'hey @bob', { mentions: [bob.id, cy.id, ann.id, bob.id] });
    expect(message.mentions).toEqual([{ id: bob.id }]);
    await expect.poll(async () => (await conversationOf(bob, group.id)).mentionCount).toBe(1);
  });
});
