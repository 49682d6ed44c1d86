import { codeOf } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id username isContact isBlockedByViewer } }
}`;

describe('User entity', () => {
  it('resolves 30 references with one query per field, not one per user', async () => {
    const viewer = await server.register('viewer');
    const users = [];
    for (let i = 0; i < 30; i++) users.push(await server.register(`entity${i}`));
    const representations = users.map((user) => ({ __typename: 'User', id: user.user.id }));

    server.queries.length = 0;
    const response = await viewer.api.request<{ _entities: { id: string; username: string }[] }>(ENTITIES, {
      representations,
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities.map((entity) => entity.id)).toEqual(users.map((user) => user.user.id));
    const userSelects = server.queries.filter(({ sql }) => /FROM "public"\."users"/.test(sql));
    const contactSelects = server.queries.filter(({ sql }) => /FROM "public"\."contacts"/.test(sql));
    const blockSelects = server.queries.filter(({ sql }) => /FROM "public"\."blocks"/.test(sql));
    expect(userSelects).toHaveLength(1);

    expect(contactSelects).toHaveLength(1);
    expect(blockSelects).toHaveLength(1);
  });

  it('answers null for unknown and malformed ids, keeping the order of the others', async () => {
    const viewer = await server.register('viewer2');
    const known = await server.register('known');
    const response = await viewer.api.request<{ _entities: ({ id: string } | null)[] }>(ENTITIES, {
      representations: [
        { __typename: 'User', id: '01900000-0000-7000-8000-000000000000' },
        { __typename: 'User', id: known.user.id },
        { __typename: 'User', id: 'garbage' },
      ],
    });
    expect(response.data!._entities.map((entity) => entity?.id ?? null)).toEqual([null, known.user.id, null]);
  });

  it('resolves nothing for an anonymous caller, and accepts ids in any case', async () => {
    const known = await server.register('cased');
    const anonymous = await server.client().request(ENTITIES, {
      representations: [{ __typename: 'User', id: known.user.id }],
    });
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(anonymous)).not.toContain(known.input.username);
    const upper = await known.api.request<{ _entities: { id: string }[] }>(ENTITIES, {
      representations: [{ __typename: 'User', id: known.user.id.toUpperCase() }],
    });
    expect(upper.data?._entities[0]?.id).toBe(known.user.id);
  });

  it('never resolves another user’s Viewer entity', async () => {
    const alice = await server.register('alice');
    const bob = await server.register('bob');
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Viewer { id email } } }`;
    const own = await alice.api.request<{ _entities: ({ email: string } | null)[] }>(query, {
      r: [{ __typename: 'Viewer', id: alice.user.id }],
    });
    expect(own.data!._entities).toEqual([{ id: alice.user.id, email: alice.input.email }]);
    const theirs = await alice.api.request<{ _entities: ({ email: string } | null)[] }>(query, {
      r: [{ __typename: 'Viewer', id: bob.user.id }],
    });
    expect(theirs.data!._entities).toEqual([null]);
    expect(JSON.stringify(theirs)).not.toContain(bob.input.email);
  });
});
