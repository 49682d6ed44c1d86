import { createServer as createTcpServer } from 'node:net';
import { Writable } from 'node:stream';
import { parse } from 'graphql';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, jwksFromJson, type TokenVerifier } from './auth.js';
import { badUserInput } from './errors.js';
import { createMetricsRegistry, DEFAULT_MAX_OPERATION_NAMES, type Registry } from './metrics.js';
import { requireViewer, type BaseContext } from './graphql-server.js';
import { createSubgraphServer } from './subgraph-server.js';
import { defaultQueryLimits } from './use-query-limits.js';

const ISSUER = 'https://users.parley.test';
const AUDIENCE = 'parley';
const MAX_BODY_BYTES = 2_000;
const SECRET = 'postgres://admin:hunter2@db.internal';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A loopback port nothing listens on (taken, then given back). */
const closedPort = await new Promise<number>((resolve) => {
  const probe = createTcpServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});

const signingKey = await generateKeyPair('EdDSA', { extractable: true });
const jwk = { ...(await exportJWK(signingKey.publicKey)), kid: 'key-1', alg: 'EdDSA' };

async function accessToken({ sub = 'user-1', expiresInSeconds = 300 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: 'session-1' })
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, typ: 'at+jwt' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now - 600)
    .setExpirationTime(now + expiresInSeconds)
    .sign(signingKey.privateKey);
}

const typeDefs = parse(/* GraphQL */ `
  type Query {
    hello: String!
    double(n: Int!): Int!
    viewerId: ID!
    requestId: String!
    failUnexpectedly: String
    needsPostgres: Int
    needsRedis: String
    rejectInput: String
    echo(text: String!): String!
  }
`);

/** A subgraph with a tiny schema; `logs` collects what its real pino logger writes. */
function createServer(
  options: { ready?: () => Promise<boolean>; logLevel?: string; verifyToken?: TokenVerifier } = {},
) {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: options.logLevel ?? 'error' },

    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    }),
  );
  const metrics = createMetricsRegistry('test');
  const yoga = createSubgraphServer<BaseContext>({
    name: 'test',
    typeDefs,
    resolvers: {
      Query: {
        hello: () => 'world',
        double: (_: unknown, { n }: { n: number }) => n * 2,
        viewerId: (_: unknown, __: unknown, context: BaseContext) => requireViewer(context).userId,
        requestId: (_: unknown, __: unknown, context: BaseContext) => context.requestId,
        failUnexpectedly: () => {
          throw new Error(`connect failed: ${SECRET}`);
        },
        rejectInput: () => {
          throw badUserInput('Name is too long', { field: 'name' });
        },
        // Real clients of servers that are down (nothing listens on the port).
        needsPostgres: async () => {
          const pool = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${closedPort}/x` });
          try {
            return (await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one;
          } finally {
            await pool.end();
          }
        },
        needsRedis: async () => {
          const redis = new Redis(closedPort, '127.0.0.1', {
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
          });
          redis.on('error', () => {});
          try {
            return await redis.get('key');
          } finally {
            redis.disconnect();
          }
        },
        echo: (_: unknown, { text }: { text: string }) => text,
      },
    },
    logger,
    verifyToken:
      options.verifyToken ??
      createTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: jwksFromJson({ keys: [jwk] }),
      }),
    trustProxy: false,
    metrics,
    maxBodyBytes: MAX_BODY_BYTES,
    queryLimits: { ...defaultQueryLimits, maxTokens: 100 },
    ready: options.ready,
    extendContext: (base) => base,
  });

  async function post(body: unknown, headers: Record<string, string> = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const response = await yoga.fetch('http://subgraph.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        'content-length': String(Buffer.byteLength(text)),
        ...headers,
      },
      body: text,
    });
    const raw = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      raw,
      body: JSON.parse(raw) as {
        data?: Record<string, unknown> | null;
        errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
      },
    };
  }

  const get = (path: string) => yoga.fetch(`http://subgraph.test${path}`);

  return { yoga, logs, post, get, metrics };
}

const server = createServer();
const { post } = server;
const codesOf = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  body.errors?.map((error) => error.extensions?.['code']);

describe('NUL characters', () => {
  it.each([
    ['in a variable', { query: 'query($t: String!) { echo(text: $t) }', variables: { t: 'a\u0000b' } }],
    [
      'nested in a variable',
      { query: 'query($t: String!) { echo(text: $t) }', variables: { t: 'x', o: { deep: ['\u0000'] } } },
    ],
    ['escaped in the query', { query: '{ echo(text: "a\\u0000b") }' }],
    ['escaped with braces in the query', { query: '{ echo(text: "a\\u{0}b") }' }],
  ])('%s → BAD_USER_INPUT before any resolver runs', async (_label, body) => {
    const response = await post(body);
    expect(codesOf(response.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('an escaped backslash followed by "u0000" is not a NUL', async () => {
    const response = await post({ query: '{ echo(text: "C:\\\\u0000dir") }' });
    expect(response.body.data).toEqual({ echo: 'C:\\u0000dir' });
  });

  it('other control characters pass through to validation', async () => {
    const response = await post({
      query: 'query($t: String!) { echo(text: $t) }',
      variables: { t: 'tab\there' },
    });
    expect(response.body.data).toEqual({ echo: 'tab\there' });
  });
});

describe('query limits', () => {
  it.each([
    ['31 aliases', `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: hello`).join(' ')} }`, true],
    ['30 aliases', `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: hello`).join(' ')} }`, false],
    // graphql-armor lets aliases of __typename through unless told otherwise: they count like any other.
    [
      '31 aliases of __typename',
      `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
      true,
    ],
    [
      '30 aliases of __typename',
      `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
      false,
    ],
    ['100 tokens', `{ ${'hello '.repeat(98)}}`, false],
    ['101 tokens', `{ ${'hello '.repeat(99)}}`, true],
  ])('%s: QUERY_TOO_COMPLEX only over the limit', async (_label, query, refused) => {
    const response = await post({ query });
    if (refused) expect(codesOf(response.body)).toEqual(['QUERY_TOO_COMPLEX']);
    else expect(response.body.errors).toBeUndefined();
  });
});

describe('request errors carry a registered code', () => {
  it.each(['application/json', 'application/graphql-response+json'])(
    'malformed JSON is a 400 with code BAD_REQUEST (accept: %s)',
    async (accept) => {
      const response = await post('{"query": "{ hello }"', { accept });
      expect(response.status).toBe(400);
      expect(codesOf(response.body)).toEqual(['BAD_REQUEST']);
    },
  );

  it('a syntax error is GRAPHQL_PARSE_FAILED', async () => {
    const response = await post({ query: '{ hello(' });
    expect(codesOf(response.body)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(response.body.data).toBeUndefined();
  });

  it('an unknown field is GRAPHQL_VALIDATION_FAILED', async () => {
    const response = await post({ query: '{ hello nope }' });
    expect(codesOf(response.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(response.body.errors?.[0]?.message).toContain('nope');
  });

  it('a variable of the wrong type is BAD_USER_INPUT', async () => {
    const response = await post({ query: 'query ($n: Int!) { double(n: $n) }', variables: { n: 'two' } });
    expect(response.status).toBe(400);
    expect(codesOf(response.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('a body over maxBodyBytes is refused with 413 and code BAD_REQUEST, before it is parsed', async () => {
    const response = await post({ query: '{ hello }', variables: { padding: 'x'.repeat(MAX_BODY_BYTES) } });
    expect(response.status).toBe(413);
    expect(codesOf(response.body)).toEqual(['BAD_REQUEST']);
    expect(response.headers.get('x-request-id')).toMatch(UUID);
    const justUnder = await post({ query: '{ echo(text: $t) }'.replace('$t', `"${'x'.repeat(1_900)}"`) });
    expect(justUnder.status).toBe(200);
    expect(String(justUnder.body.data?.['echo'])).toHaveLength(1_900);
  });

  it('a POST without Content-Length is refused with 411, so a chunked body cannot dodge the limit', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ query: '{ hello }' }));
    const response = await server.yoga.fetch('http://subgraph.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A stream has no length known up front: it is what a chunked upload looks like.
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(body);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(411);
    expect(
      codesOf((await response.json()) as { errors?: Array<{ extensions?: Record<string, unknown> }> }),
    ).toEqual(['BAD_REQUEST']);
  });
});

describe('resolver errors', () => {
  it('masks an unexpected error: generic message, INTERNAL_SERVER_ERROR, no detail; the detail is logged', async () => {
    const response = await post({ query: '{ hello failUnexpectedly }' });
    expect(response.body.data).toEqual({ hello: 'world', failUnexpectedly: null });
    expect(response.body.errors).toEqual([
      {
        message: 'Unexpected error.',
        locations: [{ line: 1, column: 9 }],
        path: ['failUnexpectedly'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(response.raw).not.toContain('hunter2');
    expect(response.raw).not.toMatch(/stack|connect failed|\.ts:\d+/);
    const logged = server.logs.filter(
      (line) => JSON.stringify(line).includes('hunter2') && line['level'] === 50,
    );
    // Once, and with the request id the client got in x-request-id, so the two can be matched.
    expect(logged).toHaveLength(1);
    expect(logged[0]?.['requestId']).toBe(response.headers.get('x-request-id'));
  });

  it('a failure while building the context (e.g. Redis down) is masked, and logged once with the request id', async () => {
    const broken = createServer({
      verifyToken: async () => {
        throw new Error(`revocation store unreachable: ${SECRET}`);
      },
    });
    const response = await broken.post({ query: '{ hello }' }, { authorization: 'Bearer a.b.c' });
    expect(codesOf(response.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(response.raw).not.toContain('hunter2');
    const logged = broken.logs.filter((line) => JSON.stringify(line).includes('hunter2'));
    expect(logged).toHaveLength(1);
    expect(logged[0]?.['requestId']).toBe(response.headers.get('x-request-id'));
  });

  it('answers a database or Redis that cannot be reached with SERVICE_UNAVAILABLE and retryAfter, logged as a warning, never INTERNAL_SERVER_ERROR', async () => {
    for (const field of ['needsPostgres', 'needsRedis']) {
      const response = await post({ query: `{ hello ${field} }` });
      expect(response.body.data).toEqual({ hello: 'world', [field]: null });
      expect(response.body.errors).toEqual([
        {
          message: 'A service this request needs is unavailable; retry later',
          locations: [{ line: 1, column: 9 }],
          path: [field],
          extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 },
        },
      ]);
      expect(response.raw).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/);
    }
    const quiet = createServer({ logLevel: 'warn' });
    const response = await quiet.post({ query: '{ needsPostgres }' });
    expect(codesOf(response.body)).toEqual(['SERVICE_UNAVAILABLE']);
    const logged = quiet.logs.filter((line) => line['requestId'] === response.headers.get('x-request-id'));
    expect(logged.map((line) => [line['level'], line['msg']])).toContainEqual([
      40,
      'a dependency is unavailable; answered SERVICE_UNAVAILABLE',
    ]);
    expect(logged.filter((line) => (line['level'] as number) >= 50)).toEqual([]);
  });

  it('keeps the code, message and extensions of a coded error', async () => {
    const response = await post({ query: '{ rejectInput }' });
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        message: 'Name is too long',
        path: ['rejectInput'],
        extensions: { code: 'BAD_USER_INPUT', field: 'name' },
      }),
    ]);
  });
});

describe('request ids', () => {
  it('echoes a safe x-request-id and hands the same id to resolvers', async () => {
    const response = await post({ query: '{ requestId }' }, { 'x-request-id': 'router-abc_123.4:5' });
    expect(response.headers.get('x-request-id')).toBe('router-abc_123.4:5');
    expect(response.body.data).toEqual({ requestId: 'router-abc_123.4:5' });
  });

  it.each([
    ['absent', undefined],
    ['with spaces and markup', 'abc <script>'],
    ['too long', 'a'.repeat(129)],
  ])('generates a uuid when the incoming id is %s, the same one resolvers see', async (_label, incoming) => {
    const response = await post(
      { query: '{ requestId }' },
      incoming === undefined ? {} : { 'x-request-id': incoming },
    );
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    expect(response.body.data).toEqual({ requestId: id });
  });

  it('logs one JSON line per GraphQL request with the request id and operation name, none for probes', async () => {
    const verbose = createServer({ logLevel: 'info' });
    await verbose.post(
      { query: 'query Greeting { hello }', operationName: 'Greeting' },
      { 'x-request-id': 'trace-42' },
    );
    await verbose.get('/health');
    await verbose.get('/ready');
    const requests = verbose.logs.filter((line) => line['msg'] === 'request');
    expect(requests).toEqual([
      expect.objectContaining({
        requestId: 'trace-42',
        operationName: 'Greeting',
        method: 'POST',
        path: '/graphql',
        status: 200,
        durationMs: expect.any(Number),
      }),
    ]);
  });
});

describe('browsers', () => {
  it('answers no origin: a subgraph is called by the router, never by a browser', async () => {
    const preflight = await server.yoga.fetch('http://subgraph.test/graphql', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const response = await server.post({ query: '{ hello }' }, { origin: 'https://evil.example' });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('health, readiness and metrics', () => {
  it('/health answers 200', async () => {
    expect((await server.get('/health')).status).toBe(200);
  });

  it('/ready follows the readiness check: 200 when it holds, 503 when it fails or throws', async () => {
    let state: 'up' | 'down' | 'broken' = 'up';
    const { get } = createServer({
      ready: async () => {
        if (state === 'broken') throw new Error('redis unreachable');
        return state === 'up';
      },
    });
    expect((await get('/ready')).status).toBe(200);
    state = 'down';
    expect((await get('/ready')).status).toBe(503);
    state = 'broken';
    expect((await get('/ready')).status).toBe(503);
    state = 'up';
    expect((await get('/ready')).status).toBe(200);
  });

  it('serves no /metrics on the graph port: they are served on a port of their own (listenService)', async () => {
    expect((await server.get('/metrics')).status).toBe(404);
  });

  it('counts graphql_errors_total by the code the client saw', async () => {
    const fresh = createServer();
    const counts = async () => {
      const text = await fresh.metrics.metrics();
      const entries = [...text.matchAll(/^graphql_errors_total\{([^}]*)\} (\d+)$/gm)].map((match) => {
        const code = /code="([^"]*)"/.exec(match[1] ?? '')?.[1];
        return [code, Number(match[2])] as const;
      });
      return Object.fromEntries(entries);
    };
    expect(await counts()).toEqual({});

    await fresh.post({ query: '{ rejectInput }' });
    await fresh.post({ query: '{ rejectInput }' });
    await fresh.post({ query: '{ failUnexpectedly }' });
    await fresh.post({ query: 'query ($n: Int!) { double(n: $n) }', variables: { n: 'two' } });
    await fresh.post('{ not json');
    await fresh.post({ query: '{ hello }' });

    expect(await counts()).toEqual({ BAD_USER_INPUT: 3, INTERNAL_SERVER_ERROR: 1, BAD_REQUEST: 1 });
  });
});

describe('metric labels', () => {
  /** Distinct label sets of each metric family (histogram buckets and summary quantiles folded). */
  async function seriesPerMetric(metrics: Registry) {
    const series = new Map<string, Set<string>>();
    for (const metric of await metrics.getMetricsAsJSON()) {
      const labelSets = new Set(
        metric.values.map(({ labels }) => {
          const { le: _le, quantile: _quantile, ...rest } = labels as Record<string, unknown>;
          return JSON.stringify(Object.entries(rest).sort());
        }),
      );
      series.set(metric.name, labelSets);
    }
    return series;
  }

  it('label operations with their own name up to DEFAULT_MAX_OPERATION_NAMES names, then as "other"', async () => {
    const fresh = createServer();
    const request = (name: string) =>
      fresh.post({ query: `query ${name} { a_${name}: rejectInput }`, operationName: name });
    await request('Known');
    const before = await seriesPerMetric(fresh.metrics);
    for (let i = 0; i < DEFAULT_MAX_OPERATION_NAMES + 50; i += 1)
      await request(`Random_${i}_${Math.random().toString(36).slice(2)}`);

    const after = await seriesPerMetric(fresh.metrics);
    const grown = [...after].map(([name, sets]) => [name, sets.size - (before.get(name)?.size ?? 0)]);
    expect(grown.filter(([, added]) => (added as number) > 0)).not.toEqual([]);
    // "Known" took one of the names: the first 199 random ones take the rest, then one "other" for 51.
    for (const [name, added] of grown) {
      expect(added, name as string).toBeLessThanOrEqual(DEFAULT_MAX_OPERATION_NAMES);
    }
    const text = await fresh.metrics.metrics();
    expect(text).toMatch(/graphql_envelop_request\{[^}]*operationName="Known"[^}]*\} 1$/m);
    expect(text).toMatch(/graphql_envelop_request\{[^}]*operationName="other"[^}]*\} 51$/m);
    // The error path (built from the client's aliases) is no label.
    expect(text).not.toMatch(/a_Random/);
  });

  it('a name the document has no operation for is "other"; none is "Anonymous"', async () => {
    const fresh = createServer();
    await fresh.post({ query: 'query Real { hello }', operationName: 'Invented' });
    await fresh.post({ query: '{ hello }' });
    const text = await fresh.metrics.metrics();
    expect(text).not.toMatch(/Invented/);
    expect(text).toMatch(/graphql_envelop_phase_parse_count\{[^}]*operationName="other"[^}]*\} 1$/m);
    expect(text).toMatch(/graphql_envelop_request\{[^}]*operationName="Anonymous"[^}]*\} 1$/m);
  });
});

describe('authentication', () => {
  it('a valid bearer token makes the viewer available to requireViewer', async () => {
    const response = await post(
      { query: '{ viewerId }' },
      { authorization: `Bearer ${await accessToken({ sub: 'user-42' })}` },
    );
    expect(response.body).toEqual({ data: { viewerId: 'user-42' } });
  });

  it('an expired token makes requireViewer throw UNAUTHENTICATED with reason TOKEN_EXPIRED', async () => {
    const expired = await accessToken({ expiresInSeconds: -60 });
    const response = await post({ query: '{ viewerId }' }, { authorization: `Bearer ${expired}` });
    expect(response.body.data).toBeNull();
    expect(response.body.errors?.[0]).toMatchObject({
      path: ['viewerId'],
      extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' },
    });
  });

  it('no token makes requireViewer throw a plain UNAUTHENTICATED', async () => {
    const response = await post({ query: '{ viewerId }' });
    expect(response.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it.each([
    ['an expired token', async () => `Bearer ${await accessToken({ expiresInSeconds: -60 })}`],
    ['a garbage token', async () => 'Bearer not.a.jwt'],
    ['a malformed header', async () => 'Basic dXNlcjpwYXNz'],
  ])('a query that does not need a viewer still works with %s', async (_label, header) => {
    const response = await post({ query: '{ hello }' }, { authorization: await header() });
    expect(response.body).toEqual({ data: { hello: 'world' } });
  });

  it('a malformed Authorization header is reported as TOKEN_INVALID by requireViewer', async () => {
    const response = await post({ query: '{ viewerId }' }, { authorization: 'Basic dXNlcjpwYXNz' });
    expect(response.body.errors?.[0]?.extensions).toEqual({
      code: 'UNAUTHENTICATED',
      reason: 'TOKEN_INVALID',
    });
  });
});
