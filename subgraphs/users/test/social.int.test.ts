import { codeOf } from '@parley/kit/testing';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

const SEARCH = `query($query: String!, $first: Int, $after: String) {
  searchUsers(query: $query, first: $first, after: $after) {
    edges { cursor node { id username displayName isContact isBlockedByViewer } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;

interface SearchResult {
  searchUsers: {
    edges: {
      cursor: string;
      node: { id: string; username: string; isContact: boolean; isBlockedByViewer: boolean };
    }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  };
}

describe('user search', () => {
  it('matches username or display-name prefixes case-insensitively and pages by username, without gaps or repeats', async () => {
    const tag = `s${randomBytes(3).toString('hex')}`;
    const viewer = await server.register(`${tag}_viewer`);
    const names = ['a', 'b', 'c', 'd', 'e'].map((letter) => `${tag}_${letter}`);
    for (const name of names) await server.register(name);
    const byDisplayName = await server.register('other', { displayName: `${tag.toUpperCase()} Display` });

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const response: { data?: SearchResult | null } = await viewer.api.request<SearchResult>(SEARCH, {
        query: tag.toUpperCase(),
        first: 2,
        after,
      });
      const { edges, pageInfo } = response.data!.searchUsers;
      seen.push(...edges.map((edge) => edge.node.id));
      expect(pageInfo.hasPreviousPage).toBe(after !== null);
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    // Five by username (the viewer excluded) plus one by display name.
    expect(seen).toHaveLength(6);
    expect(seen).toContain(byDisplayName.user.id);
    expect(seen).not.toContain(viewer.user.id);
  });

  it('treats LIKE wildcards in the query literally', async () => {
    const viewer = await server.register('wild');
    const response = await viewer.api.request<SearchResult>(SEARCH, { query: '%' });
    expect(response.errors).toBeUndefined();
    expect(response.data!.searchUsers.edges).toEqual([]);
    const underscore = await viewer.api.request<SearchResult>(SEARCH, { query: '_' });
    expect(underscore.data!.searchUsers.edges).toEqual([]);
    const literal = await server.register('pct', { displayName: '100% real' });
    const lookalike = await server.register('pct', { displayName: '1000 fake' });
    const found = await viewer.api.request<SearchResult>(SEARCH, { query: '100%' });
    const ids = found.data!.searchUsers.edges.map((edge) => edge.node.id);
    expect(ids).toContain(literal.user.id);
    expect(ids).not.toContain(lookalike.user.id);
  });

  it('a blocked user cannot find the blocker, and the blocker does not see them either', async () => {
    const tag = `b${randomBytes(3).toString('hex')}`;
    const blocker = await server.register(`${tag}_blocker`);
    const blocked = await server.register(`${tag}_blocked`);
    const bystander = await server.register(`${tag}_bystander`);
    const before = await blocked.api.request<SearchResult>(SEARCH, { query: tag });
    expect(before.data!.searchUsers.edges.map((edge) => edge.node.id)).toContain(blocker.user.id);

    expect(
      (
        await blocker.api.request('mutation($id: ID!) { blockUser(userId: $id) }', {
          id: blocked.user.id,
        })
      ).errors,
    ).toBeUndefined();

    const fromBlocked = await blocked.api.request<SearchResult>(SEARCH, { query: tag });
    expect(fromBlocked.data!.searchUsers.edges.map((edge) => edge.node.id)).toEqual([bystander.user.id]);
    const fromBlocker = await blocker.api.request<SearchResult>(SEARCH, { query: tag });
    expect(fromBlocker.data!.searchUsers.edges.map((edge) => edge.node.id)).toEqual([bystander.user.id]);
    // Nor can the blocked user look the blocker up, or add them: the same answer as for a stranger id.
    const lookup = await blocked.api.request('query($id: ID!) { user(id: $id) { id } }', {
      id: blocker.user.id,
    });
    expect(codeOf(lookup)).toBe('NOT_FOUND');
    const add = await blocked.api.request('mutation($id: ID!) { addContact(userId: $id) { id } }', {
      id: blocker.user.id,
    });
    expect(codeOf(add)).toBe('NOT_FOUND');

    await blocker.api.request('mutation($id: ID!) { unblockUser(userId: $id) }', {
      id: blocked.user.id,
    });
    const after = await blocked.api.request<SearchResult>(SEARCH, { query: tag });
    expect(after.data!.searchUsers.edges.map((edge) => edge.node.id)).toContain(blocker.user.id);
  });
});

describe('contacts and blocks', () => {
  const CONTACTS = `{ me { contacts { edges { node { id isContact } } } blockedUsers { edges { node { id isBlockedByViewer } } } } }`;
  interface Lists {
    me: {
      contacts: { edges: { node: { id: string; isContact: boolean } }[] };
      blockedUsers: { edges: { node: { id: string; isBlockedByViewer: boolean } }[] };
    };
  }

  it('adds, lists and removes contacts; blocking drops the contact both ways; adding is idempotent', async () => {
    const me = await server.register('me');
    const friend = await server.register('friend');
    const add = 'mutation($id: ID!) { addContact(userId: $id) { id isContact } }';
    expect((await me.api.request(add, { id: friend.user.id })).data?.addContact).toEqual({
      id: friend.user.id,
      isContact: true,
    });
    await me.api.request(add, { id: friend.user.id });
    await friend.api.request(add, { id: me.user.id });
    let lists = (await me.api.request<Lists>(CONTACTS)).data!.me;
    expect(lists.contacts.edges.map((edge) => edge.node)).toEqual([{ id: friend.user.id, isContact: true }]);

    await me.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: friend.user.id });
    lists = (await me.api.request<Lists>(CONTACTS)).data!.me;
    expect(lists.contacts.edges).toEqual([]);
    expect(lists.blockedUsers.edges.map((edge) => edge.node)).toEqual([
      { id: friend.user.id, isBlockedByViewer: true },
    ]);
    expect((await friend.api.request<Lists>(CONTACTS)).data!.me.contacts.edges).toEqual([]);

    // The blocked side may still block back (and learns nothing from doing so).
    const back = await friend.api.request('mutation($id: ID!) { blockUser(userId: $id) }', {
      id: me.user.id,
    });
    expect(back.errors).toBeUndefined();

    const removed = await me.api.request('mutation($id: ID!) { unblockUser(userId: $id) }', {
      id: friend.user.id,
    });
    expect(removed.data?.unblockUser).toBe(friend.user.id);
    const after = await me.api.request<{ user: { isBlockedByViewer: boolean } }>(
      'query($id: ID!) { user(id: $id) { isBlockedByViewer } }',
      { id: friend.user.id },
    );
    // friend still blocks me, so to me they are NOT_FOUND even though I unblocked them.
    expect(codeOf(after)).toBe('NOT_FOUND');
  });

  it('the blocked side learns nothing of the blocker through any operation', async () => {
    const blocker = await server.register('quiet', { displayName: 'Quiet Blocker Name' });
    await blocker.api.request(
      'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }',
      {
        input: { bio: 'private bio of the blocker' },
      },
    );
    const blocked = await server.register('snoop');
    await blocker.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: blocked.user.id });
    const probes = [
      'mutation($id: ID!) { removeContact(userId: $id) }',
      'mutation($id: ID!) { blockUser(userId: $id) }',
      'mutation($id: ID!) { unblockUser(userId: $id) }',
      'mutation($id: ID!) { addContact(userId: $id) { id username displayName bio } }',
      'query($id: ID!) { user(id: $id) { id username displayName bio } }',
    ];
    for (const probe of probes) {
      const text = JSON.stringify(await blocked.api.request(probe, { id: blocker.user.id }));
      for (const secret of [blocker.input.username, 'Quiet Blocker Name', 'private bio of the blocker']) {
        expect(text, probe).not.toContain(secret);
      }
    }
  });

  it('cannot add a user one has blocked without unblocking first', async () => {
    const me = await server.register('strict');
    const other = await server.register('other');
    await me.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: other.user.id });
    const add = await me.api.request('mutation($id: ID!) { addContact(userId: $id) { id } }', {
      id: other.user.id,
    });
    expect(codeOf(add)).toBe('CONFLICT');
  });

  it('reads relations afresh after each change within one operation', async () => {
    const me = await server.register('serial');
    const other = await server.register('other');
    // Mutations run in order: the first reads (and caches) "not blocked", then the block lands.
    const response = await me.api.request(
      `mutation($id: ID!) {
        first: addContact(userId: $id) { isContact isBlockedByViewer }
        removeContact(userId: $id)
        blockUser(userId: $id)
        again: addContact(userId: $id) { id }
      }`,
      { id: other.user.id },
    );
    // `again` is non-null, so its refusal nulls the whole result: the error says which step failed.
    expect(codeOf(response)).toBe('CONFLICT');
    expect(response.errors?.[0]?.path).toEqual(['again']);
    expect(await server.sql('SELECT 1 FROM contacts WHERE owner_id = $1', [me.user.id])).toHaveLength(0);
  });

  it('refuses to add or block oneself, whatever the case of the id', async () => {
    const me = await server.register('self');
    for (const id of [me.user.id, me.user.id.toUpperCase()]) {
      for (const mutation of ['addContact(userId: $id) { id }', 'blockUser(userId: $id)']) {
        const response = await me.api.request(`mutation($id: ID!) { ${mutation} }`, { id });
        expect(codeOf(response)).toBe('BAD_USER_INPUT');
      }
    }
  });
});

describe('devices', () => {
  const REGISTER_DEVICE = `mutation($input: RegisterDeviceInput!) {
    registerDevice(input: $input) { id name keyAlgorithm identityPublicKey }
  }`;
  const publicKeyOf = (type: 'ed25519' | 'x25519') => {
    const { publicKey } = generateKeyPairSync(type as 'ed25519');
    return Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
  };

  it('registers public keys, lists and removes them; a duplicate key is a CONFLICT', async () => {
    const owner = await server.register('devices');
    const key = publicKeyOf('ed25519');
    const first = await owner.api.request(REGISTER_DEVICE, {
      input: { name: 'Laptop', keyAlgorithm: 'ED25519', identityPublicKey: key },
    });
    expect(first.errors).toBeUndefined();
    expect(first.data?.registerDevice.identityPublicKey).toBe(
      Buffer.from(key, 'base64').toString('base64url'),
    );
    const x = await owner.api.request(REGISTER_DEVICE, {
      input: { name: 'Phone', keyAlgorithm: 'X25519', identityPublicKey: publicKeyOf('x25519') },
    });
    expect(x.errors).toBeUndefined();
    // The same key in its base64url spelling is the same key.
    const duplicate = await owner.api.request(REGISTER_DEVICE, {
      input: {
        name: 'Again',
        keyAlgorithm: 'ED25519',
        identityPublicKey: Buffer.from(key, 'base64').toString('base64url'),
      },
    });
    expect(codeOf(duplicate)).toBe('CONFLICT');

    const list = await owner.api.request<{ me: { devices: { id: string; name: string }[] } }>(
      '{ me { devices { id name } } }',
    );
    expect(list.data!.me.devices.map((device) => device.name)).toEqual(['Laptop', 'Phone']);

    const stranger = await server.register('stranger');
    const foreign = await stranger.api.request('mutation($id: ID!) { removeDevice(id: $id) }', {
      id: first.data!.registerDevice.id,
    });
    expect(codeOf(foreign)).toBe('NOT_FOUND');
    const removed = await owner.api.request('mutation($id: ID!) { removeDevice(id: $id) }', {
      id: first.data!.registerDevice.id,
    });
    expect(removed.data?.removeDevice).toBe(first.data!.registerDevice.id);
  });

  it('refuses anything that is not a 32-byte public key: wrong length, not base64, a PEM private key', async () => {
    const owner = await server.register('badkeys');
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const identityPublicKey of [
      randomBytes(31).toString('base64'),
      randomBytes(64).toString('base64'),
      'not base64 at all!!',
      pem,
    ]) {
      const response = await owner.api.request(REGISTER_DEVICE, {
        input: { name: 'x', keyAlgorithm: 'ED25519', identityPublicKey },
      });
      expect(codeOf(response), identityPublicKey.slice(0, 20)).toBe('BAD_USER_INPUT');
    }
  });
});

describe('edge cases', () => {
  it('concurrent addContact and blockUser on one pair all succeed, storing one row each', async () => {
    const me = await server.register('concurrent');
    const other = await server.register('target');
    const adds = await Promise.all(
      Array.from({ length: 8 }, () =>
        me.api.request('mutation($id: ID!) { addContact(userId: $id) { id } }', { id: other.user.id }),
      ),
    );
    for (const response of adds) expect(response.errors).toBeUndefined();
    const blocks = await Promise.all(
      Array.from({ length: 8 }, () =>
        me.api.request('mutation($id: ID!) { blockUser(userId: $id) }', { id: other.user.id }),
      ),
    );
    for (const response of blocks) expect(response.errors).toBeUndefined();
    expect(await server.sql('SELECT 1 FROM blocks WHERE blocker_id = $1', [me.user.id])).toHaveLength(1);
  });

  it('search folds case the way PostgreSQL does (Greek final sigma)', async () => {
    const viewer = await server.register('greek');
    const target = await server.register('aspa', { displayName: 'Ασπασία' });
    const response = await viewer.api.request<SearchResult>(SEARCH, { query: 'ΑΣ' });
    expect(response.data!.searchUsers.edges.map((edge) => edge.node.id)).toContain(target.user.id);
  });

  it('malformed entity representations resolve to null, never an internal error', async () => {
    const viewer = await server.register('entities');
    const response = await viewer.api.request(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }',
      {
        r: [
          { __typename: 'User', id: 42 },
          { __typename: 'User' },
          { __typename: 'User', id: { nested: true } },
        ],
      },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.['_entities']).toEqual([null, null, null]);
  });
});
