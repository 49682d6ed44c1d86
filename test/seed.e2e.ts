import { startParley, type Parley } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_GROUP_TITLE, DEMO_PASSWORD, seed } from '../scripts/seed.js';

let parley: Parley;

beforeAll(async () => {
  parley = await startParley({ label: 'seed' });
});

afterAll(async () => {
  await parley?.stop();
});

interface Listed {
  id: string;
  kind: 'DIRECT' | 'GROUP';
  title: string | null;
  memberCount: number;
  lastSeq: number;
  peer: { username: string } | null;
  messages: { edges: { node: { seq: number; body: string; sender: { username: string } } }[] };
}

/** Signs in with the demo password and lists the user's conversations with their history, through the router. */
async function conversationsOf(username: string) {
  const login = await parley
    .client()
    .request<{ login: { accessToken: string } }>(
      'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
      { input: { email: `${username}@example.com`, password: DEMO_PASSWORD } },
    );
  expect(login.errors, JSON.stringify(login.errors)).toBeUndefined();
  const client = parley.client(login.data!.login.accessToken);
  const listed = await client.request<{
    me: { conversations: { edges: { node: Omit<Listed, 'messages'> }[] } };
  }>(
    `{ me { conversations(first: 10, filter: { archived: null }) { edges { node {
      id kind title memberCount lastSeq peer { username }
    } } } } }`,
  );
  expect(listed.errors, JSON.stringify(listed.errors)).toBeUndefined();
  return Promise.all(
    listed.data!.me.conversations.edges.map(async ({ node }) => {
      const history = await client.request<{ conversation: Pick<Listed, 'messages'> }>(
        `query ($id: ID!) { conversation(id: $id) {
          messages(first: 10) { edges { node { seq body sender { username } } } }
        } }`,
        { id: node.id },
      );
      expect(history.errors, JSON.stringify(history.errors)).toBeUndefined();
      return { ...node, messages: history.data!.conversation.messages };
    }),
  );
}

const byKind = (conversations: Listed[], kind: Listed['kind']) =>
  conversations.filter((conversation) => conversation.kind === kind);

describe('the seed command', () => {
  it('creates demo users, a direct conversation, a group and messages, and a second run adds nothing', async () => {
    const lines: string[] = [];
    const first = await seed({ url: parley.url, log: (line) => lines.push(line) });
    expect(Object.values(first.users).map((user) => [user.username, user.registered])).toEqual([
      ['alice', true],
      ['bob', true],
      ['carol', true],
    ]);
    expect(first.group.created).toBe(true);
    expect(lines.join('\n')).toContain('registered');

    const second = await seed({ url: parley.url });
    // The same accounts (signed in to, not registered), conversations and messages.
    expect(Object.values(second.users).map((user) => user.registered)).toEqual([false, false, false]);
    expect(second.users).toEqual(
      Object.fromEntries(
        Object.entries(first.users).map(([key, user]) => [key, { ...user, registered: false }]),
      ),
    );
    expect(second.direct).toEqual(first.direct);
    expect(second.group).toEqual({ id: first.group.id, created: false });
    expect(second.messages).toEqual(first.messages);

    // What the graph holds: one direct conversation and one group, each message once.
    const alice = await conversationsOf('alice');
    expect(alice).toHaveLength(2);
    const [direct] = byKind(alice, 'DIRECT');
    const [group] = byKind(alice, 'GROUP');
    expect(direct).toMatchObject({ id: first.direct.id, peer: { username: 'bob' }, memberCount: 2 });
    expect(group).toMatchObject({ id: first.group.id, title: DEMO_GROUP_TITLE, memberCount: 3 });
    for (const conversation of [direct!, group!]) {
      const sent = first.messages.filter((message) => message.conversationId === conversation.id);
      expect(conversation.lastSeq).toBe(sent.length);
      expect(conversation.messages.edges.map(({ node }) => ({ seq: node.seq, body: node.body }))).toEqual(
        sent.map(({ seq, body }) => ({ seq, body })),
      );
    }
    expect(group!.messages.edges.map(({ node }) => node.sender.username)).toEqual(
      expect.arrayContaining(['alice', 'bob', 'carol']),
    );

    // Bob has the same two; carol only the group.
    expect((await conversationsOf('bob')).map(({ id }) => id).sort()).toEqual(
      [first.direct.id, first.group.id].sort(),
    );
    expect((await conversationsOf('carol')).map(({ id }) => id)).toEqual([first.group.id]);
  });
});
