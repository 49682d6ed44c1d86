import { randomBytes } from 'node:crypto';
import { createPersistedDocuments } from '@parley/router/persisted';
import { codeOf, startParley, type Parley } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLIENT = 'metrics-test';
const REGISTERED = 'query RegisteredProbe { me { id } }';
const RANDOM_REQUESTS = 1_000;

let parley: Parley;

beforeAll(async () => {
  // One address sends every request of this file, the thousand below included.
  parley = await startParley({ label: 'metrics', routerEnv: { RATE_LIMIT_PER_IP: '100000' } });
  const redis = new Redis(parley.redisUrl);
  try {
    await createPersistedDocuments({ redis, prefix: parley.redisPrefix }).register(CLIENT, [
      { id: 'registered-probe', body: REGISTERED },
    ]);
  } finally {
    redis.disconnect();
  }
});

afterAll(async () => {
  await parley?.stop();
});

const scrape = async (url: string) => {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
};

/**
 * Distinct series of each metric family in a Prometheus text exposition: one per label set, a histogram's
 * buckets, sum and count (and a summary's quantiles) folded into the series they belong to.
 */
function seriesPerMetric(text: string): Map<string, number> {
  const families = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(name!, type!);
  const series = new Map<string, Set<string>>();
  for (const [, sample, labels = ''] of text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/gm)) {
    const base = sample!.replace(/_(bucket|sum|count)$/, '');
    const family = families.get(base) === 'histogram' || families.get(base) === 'summary' ? base : sample!;
    const labelSet = [...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .filter(([, name]) => name !== 'le' && name !== 'quantile')
      .map(([pair]) => pair)
      .sort()
      .join(',');
    if (!series.has(family)) series.set(family, new Set());
    series.get(family)!.add(labelSet);
  }
  return new Map([...series].map(([family, sets]) => [family, sets.size]));
}

/** `graphql_envelop_request` (operations executed) labelled `operationName`, summed over its other labels. */
async function requests(metricsUrl: string, operationName: string): Promise<number> {
  const text = await scrape(metricsUrl);
  let sum = 0;
  for (const [, labels, value] of text.matchAll(/^graphql_envelop_request\{(.*)\} (\S+)$/gm)) {
    if (labels!.includes(`operationName="${operationName}"`)) sum += Number(value);
  }
  return sum;
}

/** Series each metric gained between two scrapes (metrics that gained none left out). */
function gained(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  return Object.fromEntries(
    [...after]
      .map(([family, count]) => [family, count - (before.get(family) ?? 0)] as const)
      .filter(([, added]) => added > 0),
  );
}

describe('metrics on an internal port', () => {
  it("each service serves /metrics on its own port, never on the graph's (404)", async () => {
    const { metricsUrls } = parley;
    expect((await fetch(`${parley.routerUrl}/metrics`)).status).toBe(404);
    const router = await scrape(metricsUrls.router);
    expect(router).toMatch(/^router_active_subscriptions\{service="router"\} 0$/m);
    expect(router).toMatch(/^# TYPE graphql_envelop_request counter$/m);

    for (const [name, graphqlUrl] of Object.entries(parley.subgraphUrls)) {
      expect((await fetch(new URL('/metrics', graphqlUrl))).status, name).toBe(404);
      const metricsUrl = metricsUrls[name as keyof typeof metricsUrls];
      expect(new URL(metricsUrl).port).not.toBe(new URL(graphqlUrl).port);
      expect(await scrape(metricsUrl), name).toMatch(
        new RegExp(`^process_cpu_seconds_total\\{service="${name}"\\} \\S+$`, 'm'),
      );
    }
  });
});

describe('bounded labels', () => {
  it('labels a registered operation with its name, and any other named operation as "other"', async () => {
    const otherBefore = await requests(parley.metricsUrls.router, 'other');
    const registered = await parley
      .client()
      .send({ documentId: 'registered-probe' }, { 'graphql-client-name': CLIENT });
    expect(codeOf(registered)).toBe('UNAUTHENTICATED');
    // The same name, sent as text, is not a registered document.
    await parley.client().request(REGISTERED);

    expect(await requests(parley.metricsUrls.router, 'RegisteredProbe')).toBe(1);
    expect(await requests(parley.metricsUrls.router, 'other')).toBe(otherBefore + 1);
  });

  it(`${RANDOM_REQUESTS} random operation names and URLs add at most one series per metric`, async () => {
    const before = seriesPerMetric(await scrape(parley.metricsUrls.router));
    const otherBefore = await requests(parley.metricsUrls.router, 'other');

    // What a client chooses is new each time: the operation's name, an alias and the URL's query string (error
    // paths, built from aliases, are tested in the kit). GET, so the method is the same for all.
    const random = () => `r${randomBytes(6).toString('hex')}`;
    const send = async () => {
      const name = random();
      const search = new URLSearchParams({
        query: `query ${name} { ${random()}: __typename }`,
        operationName: name,
        [random()]: random(),
      });
      const response = await fetch(`${parley.url}?${search}`, {
        headers: { accept: 'application/graphql-response+json', 'x-parley-csrf': '1' },
      });
      expect(response.status).toBe(200);
    };
    for (let sent = 0; sent < RANDOM_REQUESTS; sent += 10) {
      await Promise.all(Array.from({ length: 10 }, send));
    }

    expect(await requests(parley.metricsUrls.router, 'other')).toBe(otherBefore + RANDOM_REQUESTS);
    const added = gained(before, seriesPerMetric(await scrape(parley.metricsUrls.router)));
    expect(Object.keys(added)).toContain('graphql_yoga_http_duration');
    for (const [family, count] of Object.entries(added)) {
      // The runtime's own metrics label what the process does (a GC kind seen for the first time), not requests.
      if (family.startsWith('nodejs_') || family.startsWith('process_')) continue;
      expect(count, family).toBeLessThanOrEqual(1);
    }
  });
});
