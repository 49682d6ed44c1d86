import { codeOf, extensionsOf } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTER, startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

type Response = Awaited<ReturnType<ReturnType<UsersTestServer['client']>['request']>>;

/** Every refusal must be a coded GraphQL error, never a masked internal one, and never a 5xx. */
function expectCoded(response: Response, code: string, field?: string) {
  expect(response.status).toBeLessThan(500);
  expect(response.errors?.length, JSON.stringify(response)).toBeGreaterThan(0);
  expect(codeOf(response), response.errors![0]!.message).toBe(code);
  if (field) expect(extensionsOf(response)['field']).toBe(field);
  expect(JSON.stringify(response)).not.toMatch(/stack|prisma|at \//i);
}

const validInput = () => {
  const unique = Math.random().toString(36).slice(2, 10);
  return { email: `u_${unique}@example.test`, username: `u_${unique}`, password: 'long enough password' };
};

describe('registration input', () => {
  it.each([
    ['invalid email', { email: 'not-an-email' }, 'email'],
    ['email over 254 characters', { email: `${'a'.repeat(250)}@example.test` }, 'email'],
    ['short password', { password: 'short' }, 'password'],
    ['password over 256 characters', { password: 'p'.repeat(257) }, 'password'],
    ['username with spaces', { username: 'has space' }, 'username'],
    ['username too short', { username: 'ab' }, 'username'],
    ['username of 10,000 characters', { username: 'a'.repeat(10_000) }, 'username'],
    ['display name of 65 characters', { displayName: 'x'.repeat(65) }, 'displayName'],
    ['display name with a control character', { displayName: 'evil\u0007name' }, 'displayName'],
    ['blank display name', { displayName: '   ' }, 'displayName'],
  ])('%s → BAD_USER_INPUT', async (_name, override, field) => {
    const response = await server.client().request(REGISTER, { input: { ...validInput(), ...override } });
    expectCoded(response, 'BAD_USER_INPUT', field);
  });

  it('duplicate email or username (in any case) → CONFLICT naming the field, and nothing is stored twice', async () => {
    const first = validInput();
    expect((await server.client().request(REGISTER, { input: first })).errors).toBeUndefined();
    const sameEmail = await server.client().request(REGISTER, {
      input: { ...validInput(), email: first.email.toUpperCase() },
    });
    expectCoded(sameEmail, 'CONFLICT', 'email');
    const sameUsername = await server.client().request(REGISTER, {
      input: { ...validInput(), username: first.username.toUpperCase() },
    });
    expectCoded(sameUsername, 'CONFLICT', 'username');
    const rows = await server.sql('SELECT id FROM users WHERE email = $1 OR username = $2', [
      first.email,
      first.username,
    ]);
    expect(rows).toHaveLength(1);
  });

  it('concurrent registrations of one username create one account', async () => {
    const input = validInput();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        server.client().request(REGISTER, { input: { ...input, email: `c${i}_${input.email}` } }),
      ),
    );
    expect(results.filter((result) => !result.errors)).toHaveLength(1);
    for (const result of results.filter((r) => r.errors)) expectCoded(result, 'CONFLICT', 'username');
  });
});

describe('wrong types and malformed requests', () => {
  it('a number where a string is expected → BAD_USER_INPUT', async () => {
    const response = await server.client().request(REGISTER, { input: { ...validInput(), email: 42 } });
    expectCoded(response, 'BAD_USER_INPUT');
  });

  it('a missing required field → BAD_USER_INPUT', async () => {
    const { password: _password, ...input } = validInput();
    expectCoded(await server.client().request(REGISTER, { input }), 'BAD_USER_INPUT');
  });

  it('malformed JSON → 400 BAD_REQUEST', async () => {
    const body = '{"query": "mutation {';
    const response = await server.yoga.fetch('http://users.test/graphql', {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        'content-length': String(body.length),
      },
    });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(json.errors[0]?.extensions.code).toBe('BAD_REQUEST');
  });

  it('an oversized body → 413 before it is read', async () => {
    const body = JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(200_000)}` });
    const response = await server.yoga.fetch('http://users.test/graphql', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    });
    expect(response.status).toBe(413);
  });

  it('a syntax error → GRAPHQL_PARSE_FAILED, an unknown field → GRAPHQL_VALIDATION_FAILED', async () => {
    expectCoded(await server.client().request('{ me { id '), 'GRAPHQL_PARSE_FAILED');
    expectCoded(await server.client().request('{ me { password } }'), 'GRAPHQL_VALIDATION_FAILED');
  });
});

describe('unknown ids, and ids of other people’s data', () => {
  it.each([
    ['user', 'query($id: ID!) { user(id: $id) { id } }'],
    ['addContact', 'mutation($id: ID!) { addContact(userId: $id) { id } }'],
    ['blockUser', 'mutation($id: ID!) { blockUser(userId: $id) }'],
    ['revokeSession', 'mutation($id: ID!) { revokeSession(id: $id) { id } }'],
    ['removeDevice', 'mutation($id: ID!) { removeDevice(id: $id) }'],
  ])('%s with an unknown or malformed id → NOT_FOUND', async (_name, query) => {
    const viewer = await server.register('viewer');
    for (const id of ['01900000-0000-7000-8000-000000000000', 'not-a-uuid', "'; DROP TABLE users; --"]) {
      expectCoded(await viewer.api.request(query, { id }), 'NOT_FOUND');
    }
  });

  it('every viewer-only operation without a token → UNAUTHENTICATED', async () => {
    const anonymous = server.client();
    for (const query of [
      '{ me { id } }',
      '{ searchUsers(query: "a") { edges { cursor } } }',
      'mutation { logout }',
      'mutation { updateProfile(input: { bio: "x" }) { id } }',
      'mutation { deleteAccount(input: { password: "x" }) }',
    ]) {
      expectCoded(await anonymous.request(query), 'UNAUTHENTICATED');
    }
  });

  it('NUL characters anywhere (login email, search query, forged cursor) → BAD_USER_INPUT', async () => {
    const viewer = await server.register('nul');
    const nulCursor = Buffer.from(JSON.stringify({ username: '\u0000' })).toString('base64url');
    const oddCursor = Buffer.from(JSON.stringify({ username: "x' OR 1=1 --" })).toString('base64url');
    const requests = [
      viewer.api.request('mutation($input: LoginInput!) { login(input: $input) { accessToken } }', {
        input: { email: 'a\u0000@example.test', password: 'whatever1' },
      }),
      viewer.api.request('query($q: String!) { searchUsers(query: $q) { edges { cursor } } }', {
        q: 'a\u0000',
      }),
      viewer.api.request('query($a: String) { searchUsers(query: "a", after: $a) { edges { cursor } } }', {
        a: nulCursor,
      }),
      viewer.api.request('query($a: String) { me { contacts(after: $a) { edges { cursor } } } }', {
        a: oddCursor,
      }),
    ];
    for (const response of await Promise.all(requests)) expectCoded(response, 'BAD_USER_INPUT');
  });

  it('page sizes out of range and forged cursors → BAD_USER_INPUT', async () => {
    const viewer = await server.register('pager');
    for (const first of [0, -1, 101]) {
      expectCoded(
        await viewer.api.request(
          'query($first: Int) { searchUsers(query: "a", first: $first) { edges { cursor } } }',
          { first },
        ),
        'BAD_USER_INPUT',
        'first',
      );
    }
    expectCoded(
      await viewer.api.request('{ searchUsers(query: "a", after: "!!not-a-cursor") { edges { cursor } } }'),
      'BAD_USER_INPUT',
      'after',
    );
  });
});

describe('profile updates', () => {
  it('validates each field and keeps what was omitted', async () => {
    const user = await server.register('profile', { displayName: 'Original Name' });
    const update =
      'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName bio avatarFileId } }';
    expectCoded(await user.api.request(update, { input: { bio: 'b'.repeat(501) } }), 'BAD_USER_INPUT', 'bio');
    expectCoded(await user.api.request(update, { input: { bio: 'bell\u0007' } }), 'BAD_USER_INPUT', 'bio');

    expectCoded(
      await user.api.request(update, { input: { displayName: null } }),
      'BAD_USER_INPUT',
      'displayName',
    );
    expectCoded(
      await user.api.request(update, { input: { avatarFileId: 'nope' } }),
      'BAD_USER_INPUT',
      'avatarFileId',
    );
    const ok = await user.api.request(update, { input: { bio: 'Hello\nworld' } });
    expect(ok.data?.updateProfile).toEqual({
      displayName: 'Original Name',
      bio: 'Hello\nworld',
      avatarFileId: null,
    });
    const cleared = await user.api.request(update, { input: { bio: null } });
    expect(cleared.data?.updateProfile).toMatchObject({ displayName: 'Original Name', bio: null });
  });
});
