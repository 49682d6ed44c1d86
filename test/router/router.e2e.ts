import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@parley/kit';
import { createPersistedDocuments } from '@parley/router/persisted';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeSubgraph, writeSupergraphWithProbe } from './probe-subgraph.js';

const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  service: 'test',
  level: 'info',
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  }),
});

let dir: string;
let probe: Awaited<ReturnType<typeof startProbeSubgraph>>;
let parley: Parley;
let alice: SignedInUser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-router-'));
  probe = await startProbeSubgraph(logger.child({ service: 'probe' }));
  parley = await startParley({
    label: 'router',
    logger,
    routerEnv: { SUPERGRAPH_PATH: await writeSupergraphWithProbe(dir, probe.url) },
  });
  alice = await parley.registerUser('alice');
});

afterAll(async () => {
  await parley?.stop();
  await probe?.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CROSSING = `query Crossing { me { email user { username probe { requestId traceparent authorization forwardedFor userAgent clientName } } } }`;

describe('one graph across subgraphs', () => {
  it('resolves a query that crosses subgraphs, forwarding identity, request id, trace context and client', async () => {
    const response = await alice.client.request(CROSSING, undefined, {
      'x-request-id': 'crossing-1',
      traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
      'user-agent': 'ParleyTest/1.0',
      'graphql-client-name': 'acme-bot',
    });
    expect(response.errors).toBeUndefined();
    const me = response.data!['me'];
    expect(me.email).toBe(alice.email);
    expect(me.user.username).toBe(alice.username);
    expect(me.user.probe).toEqual({
      requestId: 'crossing-1',
      // Same trace, with the router as the parent span.
      traceparent: expect.stringMatching(new RegExp(`^00-${TRACE_ID}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$`)),
      authorization: true,
      forwardedFor: '127.0.0.1',
      userAgent: 'ParleyTest/1.0',
      clientName: 'acme-bot',
    });
    expect(response.headers.get('x-request-id')).toBe('crossing-1');
  });

  it('starts a trace when the caller sends none, and logs the request id in the router and every subgraph', async () => {
    const response = await alice.client.request(CROSSING, undefined, { 'x-request-id': 'crossing-2' });
    const { traceparent } = response.data!['me'].user.probe;
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceparent.slice(3, 35)).not.toBe(TRACE_ID);

    const services = logLines
      .filter((line) => line['requestId'] === 'crossing-2' && line['msg'] === 'request')
      .map((line) => line['service']);
    expect(services.sort()).toEqual(['probe', 'router', 'users']);
  });

  it('keeps the registered codes of subgraph errors and masks the rest, with no internals', async () => {
    const response = await alice.client.request(`{ me { user { username probe { forbidden crash } } } }`);
    expect(response.data!['me'].user.username).toBe(alice.username);
    const byPath = Object.fromEntries(response.errors!.map((error) => [error.path?.join('.'), error]));
    expect(byPath['me.user.probe.forbidden']).toMatchObject({
      message: 'Probe says no',
      extensions: { code: 'FORBIDDEN' },
    });
    expect(byPath['me.user.probe.crash']).toMatchObject({
      message: 'Unexpected error.',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(JSON.stringify(response)).not.toMatch(/10\.1\.2\.3|secret|stack|at .*\.ts/);
  });

  it('reports a subgraph error as the caller would expect: unauthenticated through the router', async () => {
    const response = await parley.client().request('{ me { id } }');
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
  });
});

describe('metrics', () => {
  it('counts requests by registered operation name, errors by code, plan cache hits and exposes active subscriptions', async () => {
    // Only registered documents' names label metrics (test/router/metrics.e2e.ts).
    const redis = new Redis(parley.redisUrl);
    await createPersistedDocuments({ redis, prefix: parley.redisPrefix })
      .register('metrics-probe', [{ id: 'metrics-probe', body: 'query MetricsProbe { me { id } }' }])
      .finally(() => redis.disconnect());
    for (let i = 0; i < 2; i += 1) {
      await alice.client.send({ documentId: 'metrics-probe' }, { 'graphql-client-name': 'metrics-probe' });
    }
    await parley.client().request('{ nope }');

    const text = await (await fetch(parley.metricsUrls.router)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    expect(value(/graphql_yoga_http_duration_count\{[^}]*operationName="MetricsProbe"[^}]*\} (\d+)/)).toBe(2);
    expect(
      value(/graphql_errors_total\{code="GRAPHQL_VALIDATION_FAILED"[^}]*\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);
    expect(value(/graphql_errors_total\{code="FORBIDDEN"[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/router_query_plan_cache_total\{result="hit"[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(value(/router_query_plan_cache_total\{result="miss"[^}]*\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^router_active_subscriptions\{[^}]*\} 0$/m);
  });
});

describe('health and readiness', () => {
  it('is healthy and ready while every subgraph and Redis answer', async () => {
    expect((await fetch(`${parley.routerUrl}/health`)).status).toBe(200);
    expect((await fetch(`${parley.routerUrl}/ready`)).status).toBe(200);
  });

  // Last: it stops the probe subgraph.
  it('answers SERVICE_UNAVAILABLE without internal addresses when a subgraph is down, and is not ready', async () => {
    await probe.stop();
    const response = await alice.client.request(`{ me { user { username probe { requestId } } } }`);
    expect(codeOf(response)).toBe('SERVICE_UNAVAILABLE');
    expect(response.errors![0]!.message).toBe('The probe service is unavailable; retry later');
    expect(JSON.stringify(response)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    expect((await fetch(`${parley.routerUrl}/ready`)).status).toBe(503);

    const usersOnly = await alice.client.request('{ me { user { username } } }');
    expect(usersOnly.data!['me'].user.username).toBe(alice.username);
  });
});
