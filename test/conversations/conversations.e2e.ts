import { randomUUID } from 'node:crypto';
import { conversationEvents } from '@parley/conversations/events';
import { createRedisPubSub, type PubSub } from '@parley/kit';
import { createRedisMembershipProjection } from '@parley/membership';
import {
  codeOf,
  createGraphQLClient,
  startParley,
  testRedisUrl,
  type Parley,
  type SignedInUser,
} from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONVERSATION,
  CREATE_DM,
  CREATE_GROUP,
  MY_CONVERSATIONS,
  createDm,
  createGroup,
  ok,
  type ConversationFields,
} from './operations.js';

const MAX_GROUP_MEMBERS = 5;

let parley: Parley;
let redis: Redis;
let events: PubSub;
let alice: SignedInUser;
let bob: SignedInUser;
let carol: SignedInUser;

beforeAll(async () => {
  parley = await startParley({
    label: 'conversations',
    conversationsEnv: { MAX_GROUP_MEMBERS: String(MAX_GROUP_MEMBERS) },
  });
  redis = new Redis(testRedisUrl());
  events = createRedisPubSub({
    publisher: new Redis(testRedisUrl()),
    subscriber: new Redis(testRedisUrl()),
    prefix: parley.redisPrefix,
  });
  [alice, bob, carol] = await parley.registerUsers('alice', 'bob', 'carol');
});

afterAll(async () => {
  await events?.close();
  redis?.disconnect();
  await parley?.stop();
});

const projection = () => createRedisMembershipProjection({ redis, prefix: parley.redisPrefix });

describe('one graph: conversations with users from the users subgraph', () => {
  it('lists the viewer’s conversations with members and peers resolved by the users subgraph', async () => {
    const [erin, frank] = await parley.registerUsers('erin', 'frank');
    const dm = await createDm(erin, frank);
    const group = await createGroup(erin, [frank], 'Weekend');
    const data = await ok<{
      me: {
        user: { username: string };
        conversations: {
          edges: {
            node: {
              id: string;
              kind: string;
              title: string | null;
              peer: { username: string } | null;
              members: { edges: { node: { role: string; user: { id: string; username: string } } }[] };
            };
          }[];
        };
      };
    }>(
      erin,
      `{ me { user { username } conversations { edges { node { id kind title peer { username }
          members { edges { node { role user { id username } } } } } } } } }`,
    );
    expect(data.me.user.username).toBe(erin.username);
    const nodes = data.me.conversations.edges.map((edge) => edge.node);
    // Newest activity first: the group was created after the DM.
    expect(nodes.map((node) => node.id)).toEqual([group.id, dm.id]);
    expect(nodes[0]).toMatchObject({ kind: 'GROUP', title: 'Weekend', peer: null });
    expect(nodes[0]!.members.edges.map((edge) => [edge.node.role, edge.node.user.username])).toEqual([
      ['OWNER', erin.username],
      ['MEMBER', frank.username],
    ]);
    expect(nodes[1]).toMatchObject({ kind: 'DIRECT', title: null, peer: { username: frank.username } });
    expect(nodes[1]!.members.edges.map((edge) => edge.node.user.username).sort()).toEqual(
      [erin.username, frank.username].sort(),
    );
  });
});

describe('direct conversations', () => {
  it('creates exactly one conversation for a pair under 10 concurrent calls from both sides', async () => {
    const [gina, hank] = await parley.registerUsers('gina', 'hank');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        index % 2 === 0 ? createDm(gina, hank) : createDm(hank, gina),
      ),
    );
    const ids = new Set(results.map((conversation) => conversation.id));
    expect(ids.size).toBe(1);
    expect(results.every((conversation) => conversation.memberCount === 2)).toBe(true);
    // What the messages subgraph checks before a send: both members, and that the conversation is DIRECT.
    expect(await projection().membershipsOf(gina.id, [...ids])).toEqual([{ role: 'MEMBER', kind: 'DIRECT' }]);
    expect(await projection().membershipsOf(hank.id, [...ids])).toEqual([{ role: 'MEMBER', kind: 'DIRECT' }]);
    for (const user of [gina, hank]) {
      const list = await ok(user, MY_CONVERSATIONS);
      expect(list.me.conversations.edges.map((edge) => edge.node.id)).toEqual([...ids]);
    }
  });

  it('refuses oneself, unknown and malformed users, and blocks in either direction', async () => {
    const [ivan, judy] = await parley.registerUsers('ivan', 'judy');
    expect(codeOf(await ivan.client.request(CREATE_DM, { userId: ivan.id }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await ivan.client.request(CREATE_DM, { userId: randomUUID() }))).toBe('NOT_FOUND');
    expect(codeOf(await ivan.client.request(CREATE_DM, { userId: 'not-a-uuid' }))).toBe('NOT_FOUND');

    await ok(judy, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: ivan.id });
    // Whoever was blocked sees the same answer as for an unknown user; the blocker is told why.
    const byBlocked = await ivan.client.request(CREATE_DM, { userId: judy.id });
    expect(codeOf(byBlocked)).toBe('NOT_FOUND');
    expect(byBlocked.errors?.[0]?.message).toBe('User not found');
    expect(codeOf(await judy.client.request(CREATE_DM, { userId: ivan.id }))).toBe('FORBIDDEN');

    await ok(judy, `mutation ($id: ID!) { unblockUser(userId: $id) }`, { id: ivan.id });
    const dm = await createDm(ivan, judy);
    // An existing DM is not a way around a later block.
    await ok(ivan, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: judy.id });
    expect(codeOf(await judy.client.request(CREATE_DM, { userId: ivan.id }))).toBe('NOT_FOUND');
    expect(codeOf(await ivan.client.request(CREATE_DM, { userId: judy.id }))).toBe('FORBIDDEN');
    expect(dm.kind).toBe('DIRECT');
  });
});

describe('strangers', () => {
  it('cannot tell a conversation they are not in from one that does not exist', async () => {
    const group = await createGroup(alice, [bob], 'Private');
    const unknown = randomUUID();
    const probes: [string, (id: string) => Record<string, unknown>][] = [
      [String(CONVERSATION), (id) => ({ id })],
      [`mutation ($id: ID!) { markRead(conversationId: $id, upToSeq: 1) { id } }`, (id) => ({ id })],
      [`mutation ($id: ID!) { updateGroup(id: $id, input: { title: "x" }) { id } }`, (id) => ({ id })],
      [`mutation ($id: ID!) { leaveConversation(id: $id) }`, (id) => ({ id })],
      [
        `mutation ($id: ID!, $u: [ID!]!) { addMembers(conversationId: $id, userIds: $u) { id } }`,
        (id) => ({ id, u: [carol.id] }),
      ],
    ];
    for (const [query, variables] of probes) {
      const existing = await carol.client.request(query, variables(group.id));
      const missing = await carol.client.request(query, variables(unknown));
      expect(codeOf(existing)).toBe('NOT_FOUND');
      expect(existing.errors).toEqual(missing.errors);
      expect(existing.data).toEqual(missing.data);
    }
    // Nothing changed for the members.
    const seen = await ok(bob, CONVERSATION, { id: group.id });
    expect(seen.conversation).toMatchObject({ title: 'Private', memberCount: 2 });
  });

  it('refuses anonymous callers', async () => {
    const response = await createGraphQLClient({ url: parley.url }).request(MY_CONVERSATIONS);
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
  });
});

describe('membership changes', () => {
  it('a removed member loses the conversation, its list entry and its membership projection at once', async () => {
    const group = await createGroup(alice, [bob, carol], 'Team');
    expect(await projection().membershipsOf(carol.id, [group.id])).toEqual([
      { role: 'MEMBER', kind: 'GROUP' },
    ]);
    const removed = await events.subscribe(conversationEvents.memberRemoved);
    const iterator = removed[Symbol.asyncIterator]();

    await ok(alice, `mutation ($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) }`, {
      c: group.id,
      u: carol.id,
    });
    // Right after the mutation returns: what the messages subgraph and the router check says so too.
    expect(await projection().membershipsOf(carol.id, [group.id])).toEqual([null]);
    expect(await projection().membershipsOf(bob.id, [group.id])).toEqual([{ role: 'MEMBER', kind: 'GROUP' }]);
    expect(codeOf(await carol.client.request(CONVERSATION, { id: group.id }))).toBe('NOT_FOUND');
    const list = await ok(carol, MY_CONVERSATIONS);
    expect(list.me.conversations.edges.map((edge) => edge.node.id)).not.toContain(group.id);
    const event = await iterator.next();
    expect(event.value).toMatchObject({ conversationId: group.id, userId: carol.id, byUserId: alice.id });
    await removed.unsubscribe();

    const seen = await ok(bob, CONVERSATION, { id: group.id });
    expect(seen.conversation.memberCount).toBe(2);
  });

  it('rebuilds a lost projection entry from the database on request', async () => {
    const group = await createGroup(alice, [bob], 'Lost');
    await projection().forget(group.id);
    expect(await projection().membershipsOf(bob.id, [group.id])).toEqual([undefined]);
    // Subgraphs call the conversations subgraph directly; the field is not in the public graph.
    const SYNC = `mutation ($ids: [ID!]!) { syncMembershipProjection(conversationIds: $ids) }`;
    const viaRouter = await bob.client.request(SYNC, { ids: [group.id] });
    expect(codeOf(viaRouter)).toBe('GRAPHQL_VALIDATION_FAILED');
    const direct = createGraphQLClient({ url: parley.subgraphUrls.conversations, token: bob.accessToken });
    const synced = await direct.request<{ syncMembershipProjection: boolean }>(SYNC, {
      ids: [group.id, randomUUID(), 'junk'],
    });
    expect(synced.data?.syncMembershipProjection).toBe(true);
    expect(await projection().membershipsOf(bob.id, [group.id])).toEqual([{ role: 'MEMBER', kind: 'GROUP' }]);
    expect(await projection().membershipsOf(alice.id, [group.id])).toEqual([
      { role: 'OWNER', kind: 'GROUP' },
    ]);
  });

  it('transfers ownership, lets members leave but not the owner, and deletes for everyone', async () => {
    const group = await createGroup(alice, [bob, carol], 'Club');
    const LEAVE = `mutation ($id: ID!) { leaveConversation(id: $id) }`;
    expect(codeOf(await alice.client.request(LEAVE, { id: group.id }))).toBe('FORBIDDEN');
    await ok(
      alice,
      `mutation ($c: ID!, $u: ID!) { transferOwnership(conversationId: $c, userId: $u) { id } }`,
      {
        c: group.id,
        u: bob.id,
      },
    );
    const roles = await ok<{
      conversation: { members: { edges: { node: { role: string; user: { id: string } } }[] } };
    }>(
      bob,
      `query ($id: ID!) { conversation(id: $id) { members { edges { node { role user { id } } } } } }`,
      { id: group.id },
    );
    expect(roles.conversation.members.edges.map((edge) => [edge.node.user.id, edge.node.role])).toEqual([
      [bob.id, 'OWNER'],
      [alice.id, 'ADMIN'],
      [carol.id, 'MEMBER'],
    ]);
    expect(await ok(alice, LEAVE, { id: group.id })).toEqual({ leaveConversation: group.id });
    expect(await projection().membershipsOf(alice.id, [group.id])).toEqual([null]);
    expect(codeOf(await alice.client.request(CONVERSATION, { id: group.id }))).toBe('NOT_FOUND');

    await ok(bob, `mutation ($id: ID!) { deleteConversation(id: $id) }`, { id: group.id });
    for (const user of [bob, carol]) {
      expect(codeOf(await user.client.request(CONVERSATION, { id: group.id }))).toBe('NOT_FOUND');
    }
    expect(await projection().membershipsOf(bob.id, [group.id])).toEqual([null]);
  });

  it('enforces the member limit, also under concurrent additions', async () => {
    const extra = await parley.registerUsers('m1', 'm2', 'm3', 'm4', 'm5');
    const tooMany = await alice.client.request(CREATE_GROUP, {
      input: { title: 'Big', memberIds: extra.map((user) => user.id) },
    });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');

    const group = await createGroup(alice, [bob], 'Limited');
    await ok(
      alice,
      `mutation ($c: ID!, $u: ID!, $r: AssignableRole!) { setMemberRole(conversationId: $c, userId: $u, role: $r) { role } }`,
      {
        c: group.id,
        u: bob.id,
        r: 'ADMIN',
      },
    );
    // Two admins each add two users at once: 2 + 2 + 2 = 6 > 5, so exactly one of them succeeds.
    const ADD = `mutation ($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u) { memberCount } }`;
    const results = await Promise.all([
      alice.client.request(ADD, { c: group.id, u: [extra[0]!.id, extra[1]!.id] }),
      bob.client.request(ADD, { c: group.id, u: [extra[2]!.id, extra[3]!.id] }),
    ]);
    expect(results.map(codeOf).sort()).toEqual(['BAD_USER_INPUT', undefined].sort());
    const seen = await ok(alice, CONVERSATION, { id: group.id });
    expect(seen.conversation.memberCount).toBe(4);
    const snapshot = await projection().snapshot(group.id);
    expect(snapshot?.members.size).toBe(4);
  });

  it('publishes events only for changes that committed', async () => {
    const group = await createGroup(alice, [bob], 'Events');
    const updated = await events.subscribe(conversationEvents.updated);
    const iterator = updated[Symbol.asyncIterator]();
    // Refused (bob is a member, not an admin): no event.
    const refused = await bob.client.request(
      `mutation ($id: ID!) { updateGroup(id: $id, input: { title: "No" }) { id } }`,
      {
        id: group.id,
      },
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    const invalid = await alice.client.request(
      `mutation ($id: ID!) { updateGroup(id: $id, input: { title: "" }) { id } }`,
      {
        id: group.id,
      },
    );
    expect(codeOf(invalid)).toBe('BAD_USER_INPUT');
    await ok(
      alice,
      `mutation ($id: ID!) { updateGroup(id: $id, input: { title: "Yes", description: "About" }) { id } }`,
      {
        id: group.id,
      },
    );
    const event = await iterator.next();
    expect(event.value).toEqual({ conversationId: group.id, byUserId: alice.id });
    await updated.unsubscribe();
    const seen = await ok(bob, CONVERSATION, { id: group.id });
    expect(seen.conversation).toMatchObject({ title: 'Yes', description: 'About' });
  });
});

describe('per-member settings', () => {
  it('mutes, archives and pins for the viewer only; archived conversations leave the default list', async () => {
    const [kim, leo] = await parley.registerUsers('kim', 'leo');
    const dm = await createDm(kim, leo);
    const group = await createGroup(kim, [leo], 'Settings');
    const SETTINGS = `mutation ($id: ID!, $input: ConversationSettingsInput!) {
      updateConversationSettings(id: $id, input: $input) { id isMuted mutedUntil isArchived isPinned } }`;
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const muted = await ok<{ updateConversationSettings: ConversationFields }>(kim, SETTINGS, {
      id: dm.id,
      input: { mutedUntil: until, archived: true },
    });
    expect(muted.updateConversationSettings).toMatchObject({
      isMuted: true,
      mutedUntil: until,
      isArchived: true,
      isPinned: false,
    });
    await ok(kim, SETTINGS, { id: group.id, input: { pinned: true } });

    const ids = async (user: SignedInUser, filter?: Record<string, unknown>) =>
      (await ok(user, MY_CONVERSATIONS, { filter })).me.conversations.edges.map((edge) => edge.node.id);
    expect(await ids(kim)).toEqual([group.id]);
    expect(await ids(kim, { archived: true })).toEqual([dm.id]);
    expect(await ids(kim, { archived: null })).toEqual([group.id, dm.id]);
    expect(await ids(kim, { pinned: true })).toEqual([group.id]);
    expect(await ids(kim, { archived: null, kind: 'DIRECT' })).toEqual([dm.id]);
    // Leo's view is his own.
    expect(await ids(leo)).toEqual([group.id, dm.id]);

    const unmuted = await ok<{ updateConversationSettings: ConversationFields }>(kim, SETTINGS, {
      id: dm.id,
      input: { mutedUntil: null, archived: false },
    });
    expect(unmuted.updateConversationSettings).toMatchObject({
      isMuted: false,
      mutedUntil: null,
      isArchived: false,
    });
    expect(codeOf(await kim.client.request(SETTINGS, { id: dm.id, input: { pinned: null } }))).toBe(
      'BAD_USER_INPUT',
    );
  });
});
