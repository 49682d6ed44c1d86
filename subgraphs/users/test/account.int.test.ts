import { codeOf } from '@parley/kit/testing';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN, ME, REFRESH, startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

async function seedPersonalData(label: string) {
  const subject = await server.register(label, { displayName: `Display ${label}` });
  const friend = await server.register(`${label}_friend`);
  const foe = await server.register(`${label}_foe`);
  const avatarFileId = randomUUID();
  await subject.api.request('mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }', {
    input: { bio: `bio of ${label}`, avatarFileId },
  });
  await subject.api.request('mutation($id: ID!) { addContact(userId: $id) { id } }', { id: friend.user.id });
  await friend.api.request('mutation($id: ID!) { addContact(userId: $id) { id } }', { id: subject.user.id });
  await subject.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: foe.user.id });
  await foe.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: subject.user.id });
  const { publicKey } = generateKeyPairSync('ed25519');
  const identityPublicKey = publicKey.export({ format: 'jwk' }).x!;
  await subject.api.request(
    'mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) { id } }',
    {
      input: { name: `device of ${label}`, keyAlgorithm: 'ED25519', identityPublicKey },
    },
  );
  return { subject, friend, foe, identityPublicKey, avatarFileId };
}

describe('data export', () => {
  it('contains everything stored about the caller, and no secrets', async () => {
    const { subject, friend, foe, identityPublicKey, avatarFileId } = await seedPersonalData('exporter');
    const response = await subject.api.request<{ me: { dataExport: Record<string, any> } }>(
      '{ me { dataExport } }',
    );
    const data = response.data!.me.dataExport;
    expect(data['profile']).toMatchObject({
      id: subject.user.id,
      email: subject.input.email,
      username: subject.input.username,
      displayName: 'Display exporter',
      bio: 'bio of exporter',
      avatarFileId,
    });
    expect(data['sessions']).toEqual([
      expect.objectContaining({ id: subject.session.id, ip: '203.0.113.7', userAgent: 'vitest' }),
    ]);
    expect(data['contacts']).toEqual([
      expect.objectContaining({ id: friend.user.id, username: friend.input.username }),
    ]);
    expect(data['blockedUsers']).toEqual([expect.objectContaining({ id: foe.user.id })]);
    expect(data['devices']).toEqual([
      expect.objectContaining({ name: 'device of exporter', identityPublicKey }),
    ]);
    const text = JSON.stringify(data);
    expect(text).not.toContain('argon2');
    expect(text).not.toContain(subject.refreshToken);
    expect(text).not.toContain(subject.input.password);
  });
});

describe('account deletion', () => {
  it.each([
    ['updateProfile', 'updateProfile(input: { displayName: "Zombie Name", bio: "still here" }) { id }'],
    [
      'registerDevice',
      'registerDevice(input: { name: "zombie device", keyAlgorithm: ED25519, identityPublicKey: $key }) { id }',
    ],
  ])('a later %s in the same operation cannot write personal data back', async (_name, field) => {
    const user = await server.register('zombie');
    const key = Buffer.from(
      generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!,
      'base64url',
    ).toString('base64');
    const usesKey = field.includes('$key');
    const response = await user.api.request(
      `mutation($p: String!${usesKey ? ', $key: String!' : ''}) { a: deleteAccount(input: { password: $p }) b: ${field} }`,
      usesKey ? { p: user.input.password, key } : { p: user.input.password },
    );
    expect(response.errors?.map((error) => error.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    const [row] = await server.sql('SELECT display_name, bio, deleted_at FROM users WHERE id = $1', [
      user.user.id,
    ]);
    expect(row).toMatchObject({ display_name: 'Deleted user', bio: null });
    expect(row?.['deleted_at']).not.toBeNull();
    expect(await server.sql('SELECT id FROM devices WHERE user_id = $1', [user.user.id])).toEqual([]);
  });

  it('requires the password', async () => {
    const user = await server.register('careful');
    const response = await user.api.request(
      'mutation { deleteAccount(input: { password: "wrong password" }) }',
    );
    expect(codeOf(response)).toBe('FORBIDDEN');
    expect((await user.api.request(ME)).errors).toBeUndefined();
  });

  it('revokes every session and leaves no personal data in any table', async () => {
    const { subject, friend, avatarFileId } = await seedPersonalData('leaver');
    const second = await server.login(subject, {
      'user-agent': 'LeaverPhone/1.0',
      'x-forwarded-for': '192.0.2.55',
    });
    const deleted = await subject.api.request(
      'mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) }',
      {
        input: { password: subject.input.password },
      },
    );
    expect(deleted.data?.deleteAccount).toBe(true);

    for (const token of [subject.accessToken, second.accessToken]) {
      expect(codeOf(await server.client(token).request(ME))).toBe('UNAUTHENTICATED');
    }
    for (const refreshToken of [subject.refreshToken, second.refreshToken]) {
      expect(codeOf(await server.client().request(REFRESH, { input: { refreshToken } }))).toBe(
        'UNAUTHENTICATED',
      );
    }
    const relogin = await server
      .client()
      .request(LOGIN, { input: { email: subject.input.email, password: subject.input.password } });
    expect(codeOf(relogin)).toBe('UNAUTHENTICATED');

    // Every row of every table of the service, as text: none may mention the person.
    const tables = await server.sql<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'",
    );
    expect(tables.map((table) => table.tablename).sort()).toEqual(
      ['blocks', 'contacts', 'devices', 'outbox_events', 'refresh_tokens', 'sessions', 'users'].sort(),
    );
    const personal = [
      subject.input.email,
      subject.input.username,
      'Display leaver',
      'bio of leaver',
      'device of leaver',
      'LeaverPhone/1.0',
      '192.0.2.55',
      avatarFileId,
    ];
    for (const { tablename } of tables) {
      const rows = await server.sql(`SELECT row_to_json(t)::text AS json FROM "${tablename}" t`);
      const dump = rows.map((row) => String(row['json'])).join('\n');
      for (const value of personal) expect(dump, `${tablename} still holds "${value}"`).not.toContain(value);
      if (tablename !== 'users')
        expect(dump, `${tablename} still references the user`).not.toContain(subject.user.id);
    }
    const [tombstone] = await server.sql(
      'SELECT email, password_hash, bio, display_name, deleted_at FROM users WHERE id = $1',
      [subject.user.id],
    );
    expect(tombstone).toMatchObject({
      email: null,
      password_hash: null,
      bio: null,
      display_name: 'Deleted user',
    });
    expect(tombstone?.['deleted_at']).not.toBeNull();

    // Others still resolve the id (old messages keep an author) as a placeholder, and it is unsearchable.
    const entity = await friend.api.request<{
      _entities: { id: string; displayName: string; deleted: boolean }[];
    }>('query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName deleted } } }', {
      r: [{ __typename: 'User', id: subject.user.id }],
    });
    expect(entity.data?._entities).toEqual([
      { id: subject.user.id, displayName: 'Deleted user', deleted: true },
    ]);
    const lookup = await friend.api.request('query($id: ID!) { user(id: $id) { id } }', {
      id: subject.user.id,
    });
    expect(codeOf(lookup)).toBe('NOT_FOUND');
    // The email and username are free again.
    const reuse = await server.register('x');
    expect(reuse.user.id).not.toBe(subject.user.id);
  });
});

describe('account edge cases', () => {
  it('an oversized password for deleteAccount is BAD_USER_INPUT, not hashed', async () => {
    const user = await server.register('huge');
    const response = await user.api.request(
      'mutation($p: String!) { deleteAccount(input: { password: $p }) }',
      {
        p: 'x'.repeat(90_000),
      },
    );
    expect(codeOf(response)).toBe('BAD_USER_INPUT');
  });
});
