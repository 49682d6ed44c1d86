import { randomUUID } from 'node:crypto';
import { codeOf, forgedServiceAuthorizations } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ok,
  startConversationsTestServer,
  type ConversationsTestServer,
  type TestUser,
} from './conversations-test-server.js';

let server: ConversationsTestServer;
beforeAll(async () => {
  server = await startConversationsTestServer('co_members');
});
afterAll(() => server?.stop());

const VIEWER_CO_MEMBERS = `query($ids: [ID!]!) { viewerCoMemberIds(userIds: $ids) }`;
const CO_MEMBERS = `query($ids: [ID!]!) { coMembersOf(userIds: $ids) { userId memberIds } }`;
const CO_MEMBERS_EVERYWHERE = `query($ids: [ID!]!, $participatedOnly: Boolean!) {
  coMembersOf(userIds: $ids, participatedOnly: $participatedOnly) { userId memberIds } }`;

interface CoMembers {
  userId: string;
  memberIds: string[];
}

const createGroup = async (owner: TestUser, members: TestUser[]) =>
  (
    await ok<{ createGroup: { id: string } }>(
      owner.api.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
        input: { title: 'Presence', memberIds: members.map((member) => member.id) },
      }),
    )
  ).createGroup.id;

const createDm = async (viewer: TestUser, other: TestUser) =>
  (
    await ok<{ createDirectConversation: { id: string } }>(
      viewer.api.request('mutation($id: ID!) { createDirectConversation(userId: $id) { id } }', {
        id: other.id,
      }),
    )
  ).createDirectConversation.id;

const viewerCoMemberIds = async (viewer: TestUser, ids: string[]) =>
  (await ok<{ viewerCoMemberIds: string[] }>(viewer.api.request(VIEWER_CO_MEMBERS, { ids })))
    .viewerCoMemberIds;

const coMembersOf = async (ids: string[], participatedOnly?: boolean) =>
  (
    await ok<{ coMembersOf: CoMembers[] }>(
      (await server.serviceClient()).request(
        participatedOnly === undefined ? CO_MEMBERS : CO_MEMBERS_EVERYWHERE,
        { ids, participatedOnly },
      ),
    )
  ).coMembersOf;

const sorted = (...users: TestUser[]) => users.map((user) => user.id).sort();

/**
 * Vic is in a group with Ann and Ben (Ann wrote there, Ben never did) and in a DM with Cal (who answered);
 * Dee and Eve share a group Dee made (Eve never wrote); Vic's group with Dee was deleted; Fay left Vic's
 * group and owns a group of her own with nobody else in it. Creators took part in what they created.
 */
async function seed() {
  const [vic, ann, ben, cal, dee, eve, fay] = (await Promise.all(
    Array.from({ length: 7 }, () => server.user()),
  )) as [TestUser, TestUser, TestUser, TestUser, TestUser, TestUser, TestUser];
  await server.sent(await createGroup(vic, [ann, ben]), ann.id);
  await server.sent(await createDm(vic, cal), cal.id);
  await createGroup(dee, [eve]);
  const deleted = await createGroup(vic, [dee]);
  await ok(vic.api.request('mutation($id: ID!) { deleteConversation(id: $id) }', { id: deleted }));
  const left = await createGroup(vic, [fay]);
  await ok(fay.api.request('mutation($id: ID!) { leaveConversation(id: $id) }', { id: left }));
  await createGroup(fay, []);
  return { vic, ann, ben, cal, dee, eve, fay };
}

describe('viewerCoMemberIds', () => {
  it('keeps the users who share with the viewer a conversation they took part in, once each, as stored, in the order asked, with one query', async () => {
    const { vic, ann, ben, cal, dee, eve, fay } = await seed();
    server.queries.length = 0;
    const ids = [
      eve.id,
      ben.id.toUpperCase(),
      'not-a-uuid',
      randomUUID(),
      cal.id,
      vic.id,
      ann.id,
      ben.id,
      dee.id,
      fay.id,
    ];
    // Not Ben: put in the group by Vic, he never wrote or read there.
    expect(await viewerCoMemberIds(vic, ids)).toEqual([cal.id, ann.id]);
    expect(server.queries).toHaveLength(1);
    expect(server.queries[0]!.params).not.toContain('not-a-uuid');
    // Seen from the other side.
    expect(await viewerCoMemberIds(ann, [cal.id, vic.id, ben.id])).toEqual([vic.id]);
    // One way: Ben sees those who took part, they do not see him.
    expect(await viewerCoMemberIds(ben, [vic.id, ann.id])).toEqual([vic.id, ann.id]);
    expect(await viewerCoMemberIds(fay, [vic.id, fay.id])).toEqual([]);
  });

  it('answers an empty list, and only malformed ids, without a query', async () => {
    const viewer = await server.user();
    server.queries.length = 0;
    expect(await viewerCoMemberIds(viewer, [])).toEqual([]);
    expect(await viewerCoMemberIds(viewer, ['', 'x'])).toEqual([]);
    expect(server.queries).toEqual([]);
  });

  it('accepts 1000 ids and refuses 1001 with BAD_USER_INPUT', async () => {
    const viewer = await server.user();
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    expect(await viewerCoMemberIds(viewer, ids)).toEqual([]);
    const tooMany = await viewer.api.request(VIEWER_CO_MEMBERS, { ids: [...ids, randomUUID()] });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.data).toBeNull();
  });

  it('needs a viewer: UNAUTHENTICATED without one, a service token included', async () => {
    for (const caller of [server.client(), await server.serviceClient()]) {
      const refused = await caller.request(VIEWER_CO_MEMBERS, { ids: [randomUUID()] });
      expect(codeOf(refused)).toBe('UNAUTHENTICATED');
      expect(refused.data).toBeNull();
    }
  });
});

describe('taking part', () => {
  it('starts again for a creator who left and was added back', async () => {
    const [vic, ann, mal] = (await Promise.all([server.user(), server.user(), server.user()])) as [
      TestUser,
      TestUser,
      TestUser,
    ];
    const group = await createGroup(vic, [ann]);
    expect(await viewerCoMemberIds(ann, [vic.id])).toEqual([vic.id]); // the creator took part
    await ok(
      vic.api.request(
        'mutation($id: ID!, $u: ID!) { transferOwnership(conversationId: $id, userId: $u) { id } }',
        {
          id: group,
          u: ann.id,
        },
      ),
    );
    await ok(vic.api.request('mutation($id: ID!) { leaveConversation(id: $id) }', { id: group }));
    await ok(
      ann.api.request(
        'mutation($id: ID!, $u: [ID!]!) { addMembers(conversationId: $id, userIds: $u) { id } }',
        {
          id: group,
          u: [vic.id, mal.id],
        },
      ),
    );
    // Put back in by someone else, vic has not taken part in this membership.
    expect(await viewerCoMemberIds(mal, [vic.id, ann.id])).toEqual([]);
    expect(await coMembersOf([vic.id])).toEqual([{ userId: vic.id, memberIds: [] }]);
    await server.sent(group, vic.id);
    expect(await viewerCoMemberIds(mal, [vic.id])).toEqual([vic.id]);
  });
});

describe('coMembersOf', () => {
  it('lists every other member of the conversations each user took part in, once each, in the order asked, with one query', async () => {
    const { vic, ann, ben, cal, dee, eve, fay } = await seed();
    const unknown = randomUUID();
    server.queries.length = 0;
    expect(
      await coMembersOf([
        ann.id,
        vic.id.toUpperCase(),
        'not-a-uuid',
        unknown,
        eve.id,
        dee.id,
        fay.id,
        ann.id,
      ]),
    ).toEqual([
      { userId: ann.id, memberIds: sorted(vic, ben) },
      { userId: vic.id.toUpperCase(), memberIds: sorted(ann, ben, cal) },
      { userId: 'not-a-uuid', memberIds: [] },
      { userId: unknown, memberIds: [] },
      // Put in Dee's group, she never wrote or read there.
      { userId: eve.id, memberIds: [] },
      // Not Vic: their group was deleted.
      { userId: dee.id, memberIds: [eve.id] },
      // Left Vic's group; alone in her own.
      { userId: fay.id, memberIds: [] },
      { userId: ann.id, memberIds: sorted(vic, ben) },
    ]);
    expect(server.queries).toHaveLength(1);
    expect(server.queries[0]!.params).not.toContain('not-a-uuid');
  });

  it('with participatedOnly: false, counts the conversations a user was put in too (who sees them listed)', async () => {
    const { vic, ann, ben, dee, eve, fay } = await seed();
    server.queries.length = 0;
    expect(await coMembersOf([eve.id, ben.id, dee.id, fay.id], false)).toEqual([
      { userId: eve.id, memberIds: [dee.id] },
      { userId: ben.id, memberIds: sorted(vic, ann) },
      { userId: dee.id, memberIds: [eve.id] },
      { userId: fay.id, memberIds: [] },
    ]);
    expect(server.queries).toHaveLength(1);
    // The default is the presence rule.
    expect(await coMembersOf([eve.id, ben.id], true)).toEqual([
      { userId: eve.id, memberIds: [] },
      { userId: ben.id, memberIds: [] },
    ]);
  });

  it('answers an empty list, and only malformed ids, without a query', async () => {
    server.queries.length = 0;
    expect(await coMembersOf([])).toEqual([]);
    expect(await coMembersOf(['x'])).toEqual([{ userId: 'x', memberIds: [] }]);
    expect(server.queries).toEqual([]);
  });

  it('accepts 1000 ids and refuses 1001 with BAD_USER_INPUT', async () => {
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    expect((await coMembersOf(ids)).map((answer) => answer.userId)).toEqual(ids);
    const tooMany = await (await server.serviceClient()).request(CO_MEMBERS, { ids: [...ids, randomUUID()] });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.data).toBeNull();
  });

  it('is FORBIDDEN to a user’s token, to no token and to anything but a valid service token', async () => {
    const user = await server.user();
    const callers = [
      user.api,
      server.client(),
      ...(await forgedServiceAuthorizations(user.token)).map((authorization) =>
        server.client({ authorization }),
      ),
    ];
    server.queries.length = 0;
    for (const caller of callers) {
      const refused = await caller.request(CO_MEMBERS, { ids: [user.id] });
      expect(codeOf(refused)).toBe('FORBIDDEN');
      expect(refused.data).toBeNull();
    }
    const tooMany = await user.api.request(CO_MEMBERS, {
      ids: Array.from({ length: 1001 }, () => randomUUID()),
    });
    expect(codeOf(tooMany)).toBe('FORBIDDEN');
    expect(server.queries).toEqual([]);
  });
});
