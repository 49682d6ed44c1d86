import { codeOf, type Parley, sharedParley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from './operations.js';

type Role = 'owner' | 'admin' | 'member' | 'nonMember';
type Outcome = 'allowed' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';

/** A fresh group per case: owner, admin, two members (one is the usual target), an outsider to add. */
interface Cast {
  conversationId: string;
  owner: SignedInUser;
  admin: SignedInUser;
  member: SignedInUser;
  target: SignedInUser;
  outsider: SignedInUser;
  nonMember: SignedInUser;
}

interface Case {
  mutation: string;
  operation: (cast: Cast) => { query: string; variables: Record<string, unknown> };
  expected: Record<Role, Outcome>;
  /** Whether an allowed call changes what members see (title, members, roles); settings are the viewer's own. */
  changesGroup?: false;
}

const byAdmins = { owner: 'allowed', admin: 'allowed', member: 'FORBIDDEN', nonMember: 'NOT_FOUND' } as const;
const byOwner = {
  owner: 'allowed',
  admin: 'FORBIDDEN',
  member: 'FORBIDDEN',
  nonMember: 'NOT_FOUND',
} as const;
const byMembers = { owner: 'allowed', admin: 'allowed', member: 'allowed', nonMember: 'NOT_FOUND' } as const;

const cases: Case[] = [
  {
    mutation: 'updateGroup',
    operation: ({ conversationId }) => ({
      query: `mutation ($id: ID!) { updateGroup(id: $id, input: { title: "Renamed" }) { id } }`,
      variables: { id: conversationId },
    }),
    expected: byAdmins,
  },
  {
    mutation: 'addMembers',
    operation: ({ conversationId, outsider }) => ({
      query: `mutation ($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u) { id } }`,
      variables: { c: conversationId, u: [outsider.id] },
    }),
    expected: byAdmins,
  },
  {
    mutation: 'removeMember (a member)',
    operation: ({ conversationId, target }) => ({
      query: `mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) }`,
      variables: { c: conversationId, u: target.id },
    }),
    expected: byAdmins,
  },
  {
    mutation: 'removeMember (the admin)',
    operation: ({ conversationId, admin }) => ({
      query: `mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) }`,
      variables: { c: conversationId, u: admin.id },
    }),
    // The admin removing themself is told to leave instead.
    expected: { owner: 'allowed', admin: 'BAD_USER_INPUT', member: 'FORBIDDEN', nonMember: 'NOT_FOUND' },
  },
  {
    mutation: 'removeMember (the owner)',
    operation: ({ conversationId, owner }) => ({
      query: `mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) }`,
      variables: { c: conversationId, u: owner.id },
    }),
    expected: { owner: 'BAD_USER_INPUT', admin: 'FORBIDDEN', member: 'FORBIDDEN', nonMember: 'NOT_FOUND' },
  },
  {
    mutation: 'setMemberRole',
    operation: ({ conversationId, target }) => ({
      query: `mutation ($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { role } }`,
      variables: { c: conversationId, u: target.id },
    }),
    expected: byOwner,
  },
  {
    mutation: 'transferOwnership',
    operation: ({ conversationId, target }) => ({
      query: `mutation ($c: ID!, $u: ID!) { transferOwnership(conversationId: $c, userId: $u) { id } }`,
      variables: { c: conversationId, u: target.id },
    }),
    expected: byOwner,
  },
  {
    mutation: 'leaveConversation',
    operation: ({ conversationId }) => ({
      query: `mutation ($id: ID!) { leaveConversation(id: $id) }`,
      variables: { id: conversationId },
    }),
    expected: { owner: 'FORBIDDEN', admin: 'allowed', member: 'allowed', nonMember: 'NOT_FOUND' },
  },
  {
    mutation: 'deleteConversation',
    operation: ({ conversationId }) => ({
      query: `mutation ($id: ID!) { deleteConversation(id: $id) }`,
      variables: { id: conversationId },
    }),
    expected: byOwner,
  },
  {
    mutation: 'updateConversationSettings',
    operation: ({ conversationId }) => ({
      query: `mutation ($id: ID!) { updateConversationSettings(id: $id, input: { pinned: true }) { isPinned } }`,
      variables: { id: conversationId },
    }),
    expected: byMembers,
    changesGroup: false,
  },
  {
    mutation: 'markRead',
    operation: ({ conversationId }) => ({
      query: `mutation ($id: ID!) { markRead(conversationId: $id, upToSeq: 0) { unreadCount } }`,
      variables: { id: conversationId },
    }),
    expected: byMembers,
    changesGroup: false,
  },
];

/** What every member can observe of the group: refused mutations must leave it exactly as it was. */
const STATE = `query ($id: ID!) { conversation(id: $id) { title memberCount
  members(first: 100) { edges { node { role user { id } } } } } }`;

let parley: Parley;
let users: SignedInUser[];

beforeAll(async () => {
  parley = await sharedParley();
  users = await parley.registerUsers('owner', 'admin', 'member', 'target', 'outsider', 'stranger');
});

afterAll(async () => {
  await parley?.stop();
});

async function castGroup(): Promise<Cast> {
  const [owner, admin, member, target, outsider, nonMember] = users as [
    SignedInUser,
    SignedInUser,
    SignedInUser,
    SignedInUser,
    SignedInUser,
    SignedInUser,
  ];
  const group = await createGroup(owner, [admin, member, target], 'Matrix');
  await ok(
    owner,
    `mutation ($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { role } }`,
    {
      c: group.id,
      u: admin.id,
    },
  );
  return { conversationId: group.id, owner, admin, member, target, outsider, nonMember };
}

describe('permissions matrix: every group mutation × owner, admin, member, non-member', () => {
  for (const testCase of cases) {
    for (const role of ['owner', 'admin', 'member', 'nonMember'] as const) {
      const expected = testCase.expected[role];
      it(`${testCase.mutation} by ${role}: ${expected}`, async () => {
        const cast = await castGroup();
        const actor = cast[role];
        const before = (await cast.owner.client.request(STATE, { id: cast.conversationId })).data;
        const { query, variables } = testCase.operation(cast);
        const response = await actor.client.request(query, variables);
        if (expected === 'allowed') {
          expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
          const after = (await cast.owner.client.request(STATE, { id: cast.conversationId })).data;
          if (testCase.changesGroup === false) expect(after).toEqual(before);
          else expect(after).not.toEqual(before);
        } else {
          expect(codeOf(response)).toBe(expected);
          // A refusal changes nothing anyone can see.
          expect((await cast.owner.client.request(STATE, { id: cast.conversationId })).data).toEqual(before);
        }
      });
    }
  }
});

describe('direct conversations: group-only mutations are refused to both members', () => {
  it('refuses group changes, leaving and deleting, and allows settings and read markers', async () => {
    const [a, b] = users as [SignedInUser, SignedInUser];
    const dm = await createDm(a, b);
    const refused = [
      `mutation ($id: ID!) { updateGroup(id: $id, input: { title: "x" }) { id } }`,
      `mutation ($id: ID!, $u: [ID!]!) { addMembers(conversationId: $id, userIds: $u) { id } }`,
      `mutation ($id: ID!, $u: ID!) { removeMember(conversationId: $id, userId: $u) }`,
      `mutation ($id: ID!, $u: ID!) { setMemberRole(conversationId: $id, userId: $u, role: ADMIN) { role } }`,
      `mutation ($id: ID!, $u: ID!) { transferOwnership(conversationId: $id, userId: $u) { id } }`,
      `mutation ($id: ID!) { leaveConversation(id: $id) }`,
      `mutation ($id: ID!) { deleteConversation(id: $id) }`,
    ];
    for (const query of refused) {
      const variables = { id: dm.id, u: query.includes('[ID!]') ? [users[4]!.id] : b.id };
      expect(codeOf(await a.client.request(query, variables)), query).toBe('FORBIDDEN');
    }
    await ok(
      a,
      `mutation ($id: ID!) { updateConversationSettings(id: $id, input: { archived: true }) { id } }`,
      {
        id: dm.id,
      },
    );
    await ok(b, `mutation ($id: ID!) { markRead(conversationId: $id, upToSeq: 5) { id } }`, { id: dm.id });
  });
});
