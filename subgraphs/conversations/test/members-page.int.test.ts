import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ok,
  startConversationsTestServer,
  type ConversationsTestServer,
  type TestUser,
} from './conversations-test-server.js';

let server: ConversationsTestServer;
beforeAll(async () => {
  server = await startConversationsTestServer('members_page');
});
afterAll(() => server?.stop());

interface MembersPage {
  edges: { node: { role: string; user: { id: string } } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const MEMBERS = `members(first: $first) {
  edges { node { role user { id } } } pageInfo { hasNextPage endCursor }
}`;
// Three conversations and two page sizes in one request: the first pages are loaded together.
const THREE_CONVERSATIONS = `query($big: ID!, $small: ID!, $direct: ID!, $first: Int!) {
  big: conversation(id: $big) { ${MEMBERS} one: members(first: 1) { edges { node { user { id } } } } }
  small: conversation(id: $small) { ${MEMBERS} }
  direct: conversation(id: $direct) { ${MEMBERS} }
}`;
const NEXT_PAGE = `query($id: ID!, $after: String) {
  conversation(id: $id) { members(first: 3, after: $after) { edges { node { user { id } } } pageInfo { hasNextPage } } }
}`;

const create = async (owner: TestUser, document: string, variables: Record<string, unknown>) => {
  const data = await ok<Record<string, { id: string }>>(owner.api.request(document, variables));
  return Object.values(data)[0]!.id;
};

describe('the first page of members of several conversations at once', () => {
  it('gives each conversation its own members, owner first, with its own next page', async () => {
    const owner = await server.user();
    const others = await Promise.all(Array.from({ length: 5 }, () => server.user()));
    const big = await create(
      owner,
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: { title: 'Big', memberIds: others.map((user) => user.id) },
      },
    );
    const small = await create(
      owner,
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: { title: 'Small', memberIds: [others[0]!.id] },
      },
    );
    const direct = await create(
      owner,
      'mutation($id: ID!) { createDirectConversation(userId: $id) { id } }',
      {
        id: others[4]!.id,
      },
    );

    const data = await ok<Record<'big' | 'small' | 'direct', { members: MembersPage; one?: MembersPage }>>(
      owner.api.request(THREE_CONVERSATIONS, { big, small, direct, first: 3 }),
    );
    const ids = (page: MembersPage) => page.edges.map((edge) => edge.node.user.id);

    expect(data.big.members.edges).toHaveLength(3);
    expect(data.big.members.edges[0]!.node).toEqual({ role: 'OWNER', user: { id: owner.id } });
    expect(data.big.members.pageInfo.hasNextPage).toBe(true);
    expect(ids(data.big.one!)).toEqual([owner.id]);
    expect(ids(data.small.members)).toEqual([owner.id, others[0]!.id]);
    expect(data.small.members.pageInfo.hasNextPage).toBe(false);
    expect(ids(data.direct.members).sort()).toEqual([owner.id, others[4]!.id].sort());
    expect(data.direct.members.pageInfo.hasNextPage).toBe(false);

    // The rest of the big group follows from the batched page's cursor, none repeated or skipped.
    const next = await ok<{ conversation: { members: MembersPage } }>(
      owner.api.request(NEXT_PAGE, { id: big, after: data.big.members.pageInfo.endCursor }),
    );
    expect(next.conversation.members.pageInfo.hasNextPage).toBe(false);
    expect([...ids(data.big.members), ...ids(next.conversation.members)].sort()).toEqual(
      [owner.id, ...others.map((user) => user.id)].sort(),
    );
  });
});
