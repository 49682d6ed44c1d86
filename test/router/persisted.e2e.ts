import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPersistedDocuments, ManifestError, registerManifest } from '@parley/router/persisted';
import { readApiSdl } from '@parley/schema';
import { codeOf, startParley, testRedisUrl, type Parley, type SignedInUser } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const ME = 'query PersistedMe { me { id user { username } } }';
const USERNAME = 'query PersistedUsername { me { user { username } } }';
const WEB_ME = 'query WebMe { me { email } }';
const LOGOUT = 'mutation PersistedLogout { logout }';

let dir: string;
let open: Parley;
let strict: Parley;
let alice: SignedInUser;
/** Alice's account on the persisted-only platform (each platform has its own users database). */
let aliceStrict: SignedInUser;

/** POSTs GraphQL-over-HTTP parameters (extensions, documentId) as Alice on that platform. */
const post = (parley: Parley, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  (parley === strict ? aliceStrict : alice).client.send<any>(params, headers);

async function get(parley: Parley, params: Record<string, unknown>, headers: Record<string, string> = {}) {
  const search = new URLSearchParams(
    Object.entries(params).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );
  const response = await fetch(`${parley.url}?${search}`, {
    headers: { authorization: `Bearer ${alice.accessToken}`, 'x-parley-csrf': '1', ...headers },
  });
  return { status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) };
}

const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-manifests-'));
  // acme: Apollo's manifest format with ids that are not hashes; web: graphql-codegen's persisted-documents.json.
  await writeFile(
    join(dir, 'acme.json'),
    JSON.stringify({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [
        { id: 'acme-me-v1', name: 'PersistedMe', type: 'query', body: ME },
        { id: 'acme-logout-v1', name: 'PersistedLogout', type: 'mutation', body: LOGOUT },
      ],
    }),
  );
  await writeFile(join(dir, 'web.json'), JSON.stringify({ [sha256(WEB_ME)]: WEB_ME }));
  open = await startParley({ label: 'persisted_open', routerEnv: { PERSISTED_DOCUMENTS_DIR: dir } });
  strict = await startParley({
    label: 'persisted_only',
    routerEnv: { PERSISTED_DOCUMENTS_DIR: dir, PERSISTED_ONLY: 'true' },
  });
  alice = await open.registerUser('alice');
  aliceStrict = await strict.registerUser('alice');
});

afterAll(async () => {
  await open?.stop();
  await strict?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('automatic persisted queries (APQ)', () => {
  it('hash only → PERSISTED_QUERY_NOT_FOUND; hash + query → data; hash only again → data', async () => {
    const query = `query Apq${Date.now()} { me { id } }`;
    const first = await post(open, { extensions: apq(query) });
    expect(codeOf(first)).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(first.errors![0]!.message).toBe('PersistedQueryNotFound');

    const second = await post(open, { query, extensions: apq(query) });
    expect(second.data.me.id).toBe(alice.id);

    const third = await post(open, { extensions: apq(query) });
    expect(third.errors).toBeUndefined();
    expect(third.data.me.id).toBe(alice.id);
  });

  it('refuses a hash that is not the SHA-256 of the query, and stores nothing under it', async () => {
    const query = '{ me { id } }';
    const wrong = { persistedQuery: { version: 1, sha256Hash: sha256('something else') } };
    expect(codeOf(await post(open, { query, extensions: wrong }))).toBe('PERSISTED_QUERY_MISMATCH');
    expect(codeOf(await post(open, { extensions: wrong }))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('serves a query by hash over GET, and never a mutation', async () => {
    const query = 'query ApqGet { me { id } }';
    await post(open, { query, extensions: apq(query) });
    const byGet = await get(open, { extensions: apq(query) });
    expect(byGet.data.me.id).toBe(alice.id);

    const mutation = await get(open, { query: 'mutation { logout }' });
    expect(mutation.status).toBe(405);
    expect(codeOf(mutation)).toBe('BAD_REQUEST');
  });
});

describe('trusted documents', () => {
  const acme = { 'graphql-client-name': 'acme' };

  it('runs a manifest operation by documentId (Apollo manifest ids and codegen sha256 ids)', async () => {
    expect((await post(open, { documentId: 'acme-me-v1' }, acme)).data.me.id).toBe(alice.id);
    const web = { 'graphql-client-name': 'web' };
    expect((await post(open, { documentId: `sha256:${sha256(WEB_ME)}` }, web)).data.me.email).toBe(
      alice.email,
    );
    expect((await post(open, { documentId: sha256(WEB_ME) }, web)).data.me.email).toBe(alice.email);
  });

  it('runs a registered query by documentId over GET, with variables', async () => {
    const response = await get(open, { documentId: 'acme-me-v1', operationName: 'PersistedMe' }, acme);
    expect(response.data.me.user.username).toBe(alice.username);
  });

  it('looks documents up per client, and refuses unknown ids and ambiguous requests with codes', async () => {
    // acme's document is not web's.
    expect(codeOf(await post(open, { documentId: 'acme-me-v1' }, { 'graphql-client-name': 'web' }))).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect(codeOf(await post(open, { documentId: 'nope' }, acme))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(codeOf(await post(open, { documentId: 'acme-me-v1', query: ME }, acme))).toBe('BAD_REQUEST');
    expect(codeOf(await post(open, { documentId: 42 }, acme))).toBe('BAD_REQUEST');
  });
});

describe('persisted-only mode', () => {
  const acme = { 'graphql-client-name': 'acme' };

  it('refuses an arbitrary document with PERSISTED_QUERY_NOT_IN_LIST, with or without an APQ hash', async () => {
    const query = '{ me { id email } }';
    expect(codeOf(await post(strict, { query }, acme))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(codeOf(await post(strict, { query, extensions: apq(query) }, acme))).toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
    expect(codeOf(await post(strict, { query: ME }))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(codeOf(await post(strict, {}, acme))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('accepts a registered operation by APQ hash, by documentId and as its registered text', async () => {
    expect((await post(strict, { extensions: apq(ME) }, acme)).data.me.id).toBe(aliceStrict.id);
    expect((await post(strict, { documentId: 'acme-me-v1' }, acme)).data.me.id).toBe(aliceStrict.id);
    expect((await post(strict, { query: ME }, acme)).data.me.id).toBe(aliceStrict.id);
  });

  it("refuses another client's operation", async () => {
    const web = { 'graphql-client-name': 'web' };
    expect(codeOf(await post(strict, { documentId: 'acme-me-v1' }, web))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(codeOf(await post(strict, { query: ME }, web))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('plans registered operations at start-up: their first request is a plan cache hit', async () => {
    const metrics = async () => {
      const text = await (await fetch(strict.metricsUrls.router)).text();
      return Number(/router_query_plan_cache_total\{result="miss"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const missesBefore = await metrics();
    const response = await post(strict, { documentId: sha256(WEB_ME) }, { 'graphql-client-name': 'web' });
    expect(response.data.me.email).toBe(aliceStrict.email);
    expect(await metrics()).toBe(missesBefore);
  });
});

describe('registering a third-party manifest (the persisted:register CLI)', () => {
  it('checks the manifest against the schema, then every running router serves it at once', async () => {
    const redis = new Redis(testRedisUrl());
    try {
      const documents = createPersistedDocuments({ redis, prefix: strict.redisPrefix });
      const apiSdl = await readApiSdl();
      const partnerHeaders = { 'graphql-client-name': 'partner' };
      expect(codeOf(await post(strict, { documentId: 'partner-username' }, partnerHeaders))).toBe(
        'PERSISTED_QUERY_NOT_FOUND',
      );

      await expect(
        registerManifest({
          client: 'partner',
          manifest: { 'partner-bad': 'query Bad { me { shoeSize } }' },
          apiSdl,
          documents,
        }),
      ).rejects.toThrow(/partner-bad: Cannot query field "shoeSize"/);
      await expect(
        registerManifest({ client: 'partner', manifest: { operations: 'no' }, apiSdl, documents }),
      ).rejects.toBeInstanceOf(ManifestError);
      await expect(
        registerManifest({ client: 'bad name!', manifest: {}, apiSdl, documents }),
      ).rejects.toBeInstanceOf(ManifestError);

      await registerManifest({
        client: 'partner',
        manifest: { 'partner-username': USERNAME },
        apiSdl,
        documents,
      });
      const response = await post(strict, { documentId: 'partner-username' }, partnerHeaders);
      expect(response.data.me.user.username).toBe(aliceStrict.username);
    } finally {
      redis.disconnect();
    }
  });
});
