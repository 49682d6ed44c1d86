import {
  codeOf,
  createGraphQLClient,
  extensionsOf,
  startParley,
  type Parley,
  type SignedInUser,
} from '@parley/testkit';
import { createPersistedDocuments } from '@parley/router/persisted';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let parley: Parley;
let limited: Parley;
let production: Parley;
let alice: SignedInUser;

beforeAll(async () => {
  parley = await startParley({
    label: 'protections',
    routerEnv: { MAX_COST: '150', CORS_ORIGINS: 'https://app.parley.test, https://admin.parley.test' },
  });
  limited = await startParley({
    label: 'rate_limits',
    routerEnv: { RATE_LIMIT_PER_IP: '5', RATE_LIMIT_PER_USER: '3', TRUST_PROXY: 'true' },
  });
  production = await startParley({
    label: 'production',
    routerEnv: { NODE_ENV: 'production', PERSISTED_ONLY: 'false' },
  });
  alice = await parley.registerUser('alice');
});

afterAll(async () => {
  await parley?.stop();
  await limited?.stop();
  await production?.stop();
});

/** POSTs GraphQL-over-HTTP parameters anonymously, timing the answer. */
async function post(target: Parley, params: Record<string, unknown>, headers: Record<string, string> = {}) {
  const startedAt = performance.now();
  const response = await target.client().send<any>(params, headers);
  return { ...response, ms: performance.now() - startedAt };
}

const stillServing = async () => {
  const response = await alice.client.request('{ me { id } }');
  expect(response.data!['me'].id).toBe(alice.id);
};

describe('query limits', () => {
  it('refuses a query nested 50 deep with QUERY_TOO_COMPLEX, quickly, and keeps serving', async () => {
    let nested = 'id';
    for (let level = 0; level < 50; level += 1) nested = `user { ${nested} }`;
    const response = await post(parley, { query: `{ me { ${nested} } }` });
    expect(codeOf(response)).toBe('QUERY_TOO_COMPLEX');
    expect(response.errors![0]!.message).toMatch(/Query depth limit of 12 exceeded/);
    expect(response.ms).toBeLessThan(2_000);
    await stillServing();
  });

  it('refuses 1,000 aliases with QUERY_TOO_COMPLEX, quickly, and keeps serving', async () => {
    const aliases = Array.from({ length: 1_000 }, (_, index) => `a${index}: me { id }`).join(' ');
    const response = await post(parley, { query: `{ ${aliases} }` });
    expect(codeOf(response)).toBe('QUERY_TOO_COMPLEX');
    expect(response.ms).toBeLessThan(2_000);
    await stillServing();
  });

  it('counts aliases of __typename too: 1,000 of them are QUERY_TOO_COMPLEX at the router and at a subgraph', async () => {
    const aliases = Array.from({ length: 1_000 }, (_, index) => `a${index}: __typename`).join(' ');
    // On default limits (MAX_COST 5,000 is above what 1,000 scalars cost): the alias limit refuses it.
    const response = await post(production, { query: `{ ${aliases} }` });
    expect(codeOf(response)).toBe('QUERY_TOO_COMPLEX');
    expect(response.errors![0]!.message).toMatch(/Aliases limit of 30 exceeded, found 1000/);
    // Subgraphs are reachable too (only the router should call them): they apply their own limits.
    const subgraph = createGraphQLClient({ url: parley.subgraphUrls.users });
    expect(codeOf(await subgraph.request(`{ ${aliases} }`))).toBe('QUERY_TOO_COMPLEX');

    // A few aliases, of __typename or not, still run.
    const few = await alice.client.request(
      '{ kind: __typename again: __typename me { id } self: me { id } }',
    );
    expect(few.errors).toBeUndefined();
    expect(few.data).toEqual({ kind: 'Query', again: 'Query', me: { id: alice.id }, self: { id: alice.id } });
    const fewAtSubgraph = await subgraph.request('{ kind: __typename again: __typename }');
    expect(fewAtSubgraph.errors).toBeUndefined();
    expect(fewAtSubgraph.data).toEqual({ kind: 'Query', again: 'Query' });
  });

  it('refuses a 5 MB body with 413 BAD_REQUEST before reading it, and keeps serving', async () => {
    const query = `{ me { id } } ${'#'.repeat(5 * 1024 * 1024)}`;
    const response = await post(parley, { query });
    expect(response.status).toBe(413);
    expect(codeOf(response)).toBe('BAD_REQUEST');
    expect(response.ms).toBeLessThan(2_000);
    await stillServing();
  });

  it('refuses an operation over the cost limit even within depth and alias limits', async () => {
    const fields =
      'id email user { id username displayName } sessions { id ip userAgent current } devices { id name }';
    const costly = `{ ${Array.from({ length: 6 }, (_, index) => `m${index}: me { ${fields} }`).join(' ')} }`;
    const response = await post(parley, { query: costly });
    expect(codeOf(response)).toBe('QUERY_TOO_COMPLEX');
    expect(response.errors![0]!.message).toMatch(/Cost limit of 150 exceeded/i);
  });

  it('runs a registered document over the cost limit (reviewed when registered), and only by its client', async () => {
    const fields = 'id email user { id username displayName } sessions { id ip userAgent current }';
    const costly = `query Costly { ${Array.from({ length: 6 }, (_, index) => `m${index}: me { ${fields} }`).join(' ')} }`;
    const redis = new Redis(parley.redisUrl);
    try {
      await createPersistedDocuments({ redis, prefix: parley.redisPrefix }).register('costly-app', [
        { id: 'costly', body: costly },
      ]);
    } finally {
      redis.disconnect();
    }
    const trusted = await alice.client.send<any>(
      { documentId: 'costly' },
      { 'graphql-client-name': 'costly-app' },
    );
    expect(trusted.errors).toBeUndefined();
    expect(trusted.data.m5.id).toBe(alice.id);

    // The same text from anyone else is an ad-hoc query like any other.
    const adHoc = await alice.client.send<any>({ query: costly }, { 'graphql-client-name': 'other-app' });
    expect(codeOf(adHoc)).toBe('QUERY_TOO_COMPLEX');
  });

  it('gives malformed JSON, a missing query and wrong variable types a coded error, never a 500', async () => {
    const malformed = await fetch(parley.url, {
      method: 'POST',
      body: '{"query": "{ me { id } }"',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    });
    expect(malformed.status).toBe(400);
    expect(codeOf((await malformed.json()) as object)).toBe('BAD_REQUEST');

    expect(codeOf(await post(parley, { variables: {} }))).toBe('BAD_REQUEST');
    expect(codeOf(await post(parley, { query: 42 }))).toBe('BAD_REQUEST');

    const wrongType = await alice.client.request('query ($id: ID!) { user(id: $id) { id } }', {
      id: { nested: 1 },
    });
    expect(codeOf(wrongType)).toBe('BAD_USER_INPUT');
  });
});

describe('rate limits (RATE_LIMIT_PER_IP=5, RATE_LIMIT_PER_USER=3)', () => {
  it('limits each address, with 429, Retry-After and RATE_LIMITED, without affecting other addresses', async () => {
    const from = (ip: string) => post(limited, { query: '{ __typename }' }, { 'x-forwarded-for': ip });
    for (let request = 0; request < 5; request += 1)
      expect((await from('203.0.113.7')).errors).toBeUndefined();
    const refused = await from('203.0.113.7');
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    const retryAfter = Number(extensionsOf(refused)['retryAfter']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBe(retryAfter);

    // One IPv6 host owns its whole /64.
    for (let request = 0; request < 5; request += 1) await from(`2001:db8:1:2::${request + 1}`);
    expect(codeOf(await from('2001:db8:1:2::ffff'))).toBe('RATE_LIMITED');

    expect((await from('203.0.113.8')).errors).toBeUndefined();
  });

  it('limits each signed-in user across addresses', async () => {
    const bob = await limited.registerUser('bob');
    const carol = await limited.registerUser('carol');
    const asUser = (user: SignedInUser, ip: string) =>
      post(
        limited,
        { query: '{ me { id } }' },
        {
          authorization: `Bearer ${user.accessToken}`,
          'x-forwarded-for': ip,
        },
      );
    for (let request = 0; request < 3; request += 1) {
      expect((await asUser(bob, `198.51.100.${request}`)).data.me.id).toBe(bob.id);
    }
    const refused = await asUser(bob, '198.51.100.99');
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.status).toBe(429);
    expect((await asUser(carol, '198.51.100.99')).data.me.id).toBe(carol.id);
  });
});

describe('CSRF prevention', () => {
  it('refuses GET and simple-content-type POST requests without a preflight-forcing header', async () => {
    const get = await fetch(`${parley.url}?query=${encodeURIComponent('{ __typename }')}`);
    expect(get.status).toBe(403);
    expect(codeOf((await get.json()) as object)).toBe('BAD_REQUEST');

    const form = await fetch(parley.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: 'mutation { logout }' }),
    });
    expect(form.status).toBe(403);

    const withHeader = await fetch(`${parley.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'x-parley-csrf': '1' },
    });
    expect(((await withHeader.json()) as { data: unknown }).data).toEqual({ __typename: 'Query' });
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(parley.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });

  it('allows the listed origins only', async () => {
    const allowed = await preflight('https://app.parley.test');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.parley.test');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);

    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');

    const post = await fetch(parley.url, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
  });
});

describe('introspection', () => {
  it('is available in development and test, refused in production', async () => {
    const query = '{ __schema { queryType { name } } }';
    expect((await parley.client().request(query)).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
    const refused = await production.client().request(query);
    expect(codeOf(refused)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(refused.errors![0]!.message).toMatch(/introspection/i);
    expect((await production.client().request('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});
