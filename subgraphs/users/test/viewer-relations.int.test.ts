import { codeOf } from '@parley/kit/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

const RELATIONS = `query($ids: [ID!]!) {
  viewerRelations(userIds: $ids) { userId exists blockedByViewer hasBlockedViewer listsViewerAsContact }
}`;

interface Relation {
  userId: string;
  exists: boolean;
  blockedByViewer: boolean;
  hasBlockedViewer: boolean;
  listsViewerAsContact: boolean;
}

type Api = Awaited<ReturnType<UsersTestServer['register']>>['api'];

async function relations(api: Api, ids: string[]): Promise<Relation[]> {
  const response = await api.request<{ viewerRelations: Relation[] }>(RELATIONS, { ids });
  expect(response.errors).toBeUndefined();
  return response.data!.viewerRelations;
}

const block = (api: Api, id: string) => api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id });

const addContact = (api: Api, id: string) =>
  api.request('mutation($id: ID!) { addContact(userId: $id) { id } }', { id });

const relation = (
  userId: string,
  exists: boolean,
  blockedByViewer = false,
  hasBlockedViewer = false,
  listsViewerAsContact = false,
) => ({ userId, exists, blockedByViewer, hasBlockedViewer, listsViewerAsContact });

describe('viewerRelations', () => {
  it('answers each id in the order asked, duplicates included, with four queries for the whole list', async () => {
    const viewer = await server.register('rel_viewer');
    const normal = await server.register('rel_normal');
    const blocked = await server.register('rel_blocked');
    const blocker = await server.register('rel_blocker');
    const deleted = await server.register('rel_deleted');
    const lister = await server.register('rel_lister');
    await block(viewer.api, blocked.user.id);
    expect((await addContact(lister.api, viewer.user.id)).errors).toBeUndefined();
    await block(blocker.api, viewer.user.id);
    const erased = await deleted.api.request(
      'mutation($p: String!) { deleteAccount(input: { password: $p }) }',
      {
        p: deleted.input.password,
      },
    );
    expect(erased.errors).toBeUndefined();
    const unknown = randomUUID();

    const ids = [
      blocker.user.id,
      'not-a-uuid',
      normal.user.id,
      unknown,
      blocked.user.id,
      deleted.user.id,
      viewer.user.id,
      normal.user.id.toUpperCase(),
      blocker.user.id,
      lister.user.id.toUpperCase(),
    ];
    server.queries.length = 0;
    expect(await relations(viewer.api, ids)).toEqual([
      relation(blocker.user.id, true, false, true),
      relation('not-a-uuid', false),
      relation(normal.user.id, true),
      relation(unknown, false),
      relation(blocked.user.id, true, true, false),
      relation(deleted.user.id, false),
      relation(viewer.user.id, true),
      relation(normal.user.id.toUpperCase(), true),
      relation(blocker.user.id, true, false, true),
      relation(lister.user.id.toUpperCase(), true, false, false, true),
    ]);
    const from = (table: string) =>
      server.queries.filter(({ sql }) => sql.includes(`FROM "public"."${table}"`));
    expect(from('users')).toHaveLength(1);
    expect(from('blocks')).toHaveLength(2);
    expect(from('contacts')).toHaveLength(1);
    expect(server.queries).toHaveLength(4);
    expect(server.queries.some(({ params }) => params.includes('not-a-uuid'))).toBe(false);
  });

  it('sees the relation from the asking viewer: the blocked side reports being blocked', async () => {
    const blocker = await server.register('rel_side_a');
    const blocked = await server.register('rel_side_b');
    await block(blocker.api, blocked.user.id);
    expect(await relations(blocked.api, [blocker.user.id])).toEqual([
      relation(blocker.user.id, true, false, true),
    ]);
    expect(await relations(blocker.api, [blocked.user.id])).toEqual([
      relation(blocked.user.id, true, true, false),
    ]);
  });

  it('answers only malformed or unknown ids, and an empty list, without touching the database', async () => {
    const viewer = await server.register('rel_nodb');
    server.queries.length = 0;
    expect(await relations(viewer.api, [])).toEqual([]);
    expect(await relations(viewer.api, ['', 'x', '1'])).toEqual([
      relation('', false),
      relation('x', false),
      relation('1', false),
    ]);
    expect(server.queries).toEqual([]);
  });

  it('listsViewerAsContact: whether the user has the viewer in their contacts, not the other way round', async () => {
    const viewer = await server.register('rel_lists_viewer');
    const listsViewer = await server.register('rel_lists_a');
    const listedByViewer = await server.register('rel_lists_b');
    const mutual = await server.register('rel_lists_c');
    const stranger = await server.register('rel_lists_d');
    for (const [api, id] of [
      [listsViewer.api, viewer.user.id],
      [viewer.api, listedByViewer.user.id],
      [viewer.api, mutual.user.id],
      [mutual.api, viewer.user.id],
      // A contact of someone else does not count.
      [stranger.api, listsViewer.user.id],
    ] as const)
      expect((await addContact(api, id)).errors).toBeUndefined();
    const ids = [listsViewer, listedByViewer, mutual, stranger].map((user) => user.user.id);
    expect((await relations(viewer.api, ids)).map((answer) => answer.listsViewerAsContact)).toEqual([
      true,
      false,
      true,
      false,
    ]);

    // Removed, or dropped by a block, it no longer counts.
    await listsViewer.api.request('mutation($id: ID!) { removeContact(userId: $id) }', {
      id: viewer.user.id,
    });
    await block(viewer.api, mutual.user.id);
    expect(await relations(viewer.api, [listsViewer.user.id, mutual.user.id])).toEqual([
      relation(listsViewer.user.id, true),
      relation(mutual.user.id, true, true),
    ]);
  });

  it('accepts 1000 ids and refuses 1001 with BAD_USER_INPUT', async () => {
    const viewer = await server.register('rel_many');
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    const answered = await relations(viewer.api, ids);
    expect(answered.map((answer) => answer.userId)).toEqual(ids);
    expect(answered.every((answer) => !answer.exists)).toBe(true);

    server.queries.length = 0;
    const tooMany = await viewer.api.request(RELATIONS, { ids: [...ids, randomUUID()] });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.data).toBeNull();
    expect(server.queries).toEqual([]);
  });

  it('is UNAUTHENTICATED without a viewer, and reveals nothing', async () => {
    const known = await server.register('rel_anon');
    const anonymous = await server.client().request(RELATIONS, { ids: [known.user.id] });
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    expect(anonymous.data).toBeNull();
  });
});
