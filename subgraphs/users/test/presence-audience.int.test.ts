import { codeOf, forgedServiceAuthorizations } from '@parley/kit/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

const AUDIENCE = `query($ids: [ID!]!) { presenceAudienceOf(userIds: $ids) { userId contactIds blockedIds } }`;

interface Audience {
  userId: string;
  contactIds: string[];
  blockedIds: string[];
}

type Api = Awaited<ReturnType<UsersTestServer['register']>>['api'];

async function audienceOf(ids: string[]): Promise<Audience[]> {
  const response = await (
    await server.serviceClient()
  ).request<{ presenceAudienceOf: Audience[] }>(AUDIENCE, {
    ids,
  });
  expect(response.errors).toBeUndefined();
  return response.data!.presenceAudienceOf;
}

async function mutate(api: Api, field: 'addContact' | 'blockUser', id: string) {
  const selection = field === 'addContact' ? '{ id }' : '';
  const response = await api.request(`mutation($id: ID!) { ${field}(userId: $id) ${selection} }`, { id });
  expect(response.errors).toBeUndefined();
}

const sorted = (...ids: string[]) => [...ids].sort();
const empty = (userId: string) => ({ userId, contactIds: [], blockedIds: [] });

describe('presenceAudienceOf', () => {
  it('lists each user’s contacts and everyone on either side of a block with them, in the order asked, with two queries', async () => {
    const [ann, ben, cat, dan, eve, fay] = await Promise.all([
      server.register('aud_ann'),
      server.register('aud_ben'),
      server.register('aud_cat'),
      server.register('aud_dan'),
      server.register('aud_eve'),
      server.register('aud_fay'),
    ]);
    await mutate(ann.api, 'addContact', ben.user.id);
    await mutate(ann.api, 'addContact', cat.user.id);
    // Each user's list holds the contacts they added themselves: Ben's holds Ann, Cat's nobody.
    await mutate(ben.api, 'addContact', ann.user.id);
    await mutate(ann.api, 'blockUser', dan.user.id);
    await mutate(eve.api, 'blockUser', ann.user.id);
    // Blocked both ways: listed once.
    await mutate(ann.api, 'blockUser', fay.user.id);
    await mutate(fay.api, 'blockUser', ann.user.id);
    const unknown = randomUUID();

    server.queries.length = 0;
    expect(
      await audienceOf([
        cat.user.id,
        ann.user.id.toUpperCase(),
        'not-a-uuid',
        unknown,
        ben.user.id,
        ann.user.id,
        dan.user.id,
      ]),
    ).toEqual([
      empty(cat.user.id),
      {
        userId: ann.user.id.toUpperCase(),
        contactIds: sorted(ben.user.id, cat.user.id),
        blockedIds: sorted(dan.user.id, eve.user.id, fay.user.id),
      },
      empty('not-a-uuid'),
      empty(unknown),
      { userId: ben.user.id, contactIds: [ann.user.id], blockedIds: [] },
      {
        userId: ann.user.id,
        contactIds: sorted(ben.user.id, cat.user.id),
        blockedIds: sorted(dan.user.id, eve.user.id, fay.user.id),
      },
      { userId: dan.user.id, contactIds: [], blockedIds: [ann.user.id] },
    ]);
    const from = (table: string) =>
      server.queries.filter(({ sql }) => sql.includes(`FROM "public"."${table}"`));
    expect(from('contacts')).toHaveLength(1);
    expect(from('blocks')).toHaveLength(1);
    expect(server.queries).toHaveLength(2);
    expect(server.queries.some(({ params }) => params.includes('not-a-uuid'))).toBe(false);
  });

  it('answers an empty list, and only malformed ids, without touching the database', async () => {
    server.queries.length = 0;
    expect(await audienceOf([])).toEqual([]);
    expect(await audienceOf(['', 'x'])).toEqual([empty(''), empty('x')]);
    expect(server.queries).toEqual([]);
  });

  it('accepts 1000 ids and refuses 1001 with BAD_USER_INPUT', async () => {
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    expect((await audienceOf(ids)).map((answer) => answer.userId)).toEqual(ids);

    server.queries.length = 0;
    const tooMany = await (await server.serviceClient()).request(AUDIENCE, { ids: [...ids, randomUUID()] });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(tooMany.data).toBeNull();
    expect(server.queries).toEqual([]);
  });

  it('is FORBIDDEN to a user’s token, to no token and to anything but a valid service token', async () => {
    const user = await server.register('aud_user');
    const ids = [user.user.id];
    const callers = [
      user.api,
      server.client(),
      ...(await forgedServiceAuthorizations(user.accessToken)).map((authorization) =>
        server.client(undefined, { authorization }),
      ),
    ];
    server.queries.length = 0;
    for (const caller of callers) {
      const refused = await caller.request(AUDIENCE, { ids });
      expect(codeOf(refused)).toBe('FORBIDDEN');
      expect(refused.data).toBeNull();
    }
    // Refused before the ids are even looked at.
    const tooMany = await user.api.request(AUDIENCE, {
      ids: Array.from({ length: 1001 }, () => randomUUID()),
    });
    expect(codeOf(tooMany)).toBe('FORBIDDEN');
    expect(server.queries).toEqual([]);
  });
});
