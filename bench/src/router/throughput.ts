/**
 * Router throughput: the same subgraphs (one process) and the same federated query, served in turn by each
 * gateway in its own process, loaded by autocannon from this one.
 */
import { startChild, withProfiles } from '../lib/child.js';
import type { PlatformReady } from '../lib/platform-process.js';
import { fixed, mib, ratio, table, verdict } from '../lib/format.js';
import { postLoad, type HttpLoadResult } from '../lib/load.js';
import { BENCH_CLIENT, gatewayLabels, gatewayNames, startGateway, type GatewayName } from './gateways.js';

/** The conversation list a client opens with: last message, members' profiles and presence. */
export const CONVERSATION_LIST = `query BenchConversationList {
  me {
    id
    conversations(first: 20) {
      edges {
        node {
          id kind title lastActivityAt unreadCount isMuted isPinned memberCount
          lastMessage { id seq body createdAt sender { id displayName presence { status lastSeenAt } } }
          members(first: 5) {
            edges { node { role user { id username displayName presence { status lastSeenAt } } } }
          }
        }
      }
    }
  }
}`;

interface ConversationList {
  me: { id: string; conversations: { edges: unknown[] } };
}

/** Data a gateway answered, with keys sorted, so two gateways' answers compare as strings. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, field: unknown) =>
    field && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => a.localeCompare(b)))
      : field,
  );

export async function routerThroughput(options: {
  connections: number;
  seconds: number;
  warmupSeconds: number;
}) {
  const platform = await startChild<PlatformReady>(new URL('../lib/platform-process.ts', import.meta.url), {
    BENCH_SEED: 'router',
  });
  const { viewers, conversationsPerViewer } = platform.ready.seeded as {
    viewers: { id: string; accessToken: string }[];
    conversationsPerViewer: number;
  };
  const results: { name: GatewayName; load: HttpLoadResult; peakRss: number }[] = [];
  try {
    // Requests take the users in turn: each connection asks for one user's list, then the next one's.
    const headers = viewers.map((viewer) => ({
      authorization: `Bearer ${viewer.accessToken}`,
      'graphql-client-name': BENCH_CLIENT,
    }));
    const body = JSON.stringify({ query: CONVERSATION_LIST });
    const expected = new Map<number, string>();

    for (const name of gatewayNames) {
      const gateway = await startGateway(name, platform.ready, [CONVERSATION_LIST]);
      try {
        // Every gateway must give the same, complete answers (a few users' lists) before it is timed.
        for (const index of [0, Math.floor(viewers.length / 2), viewers.length - 1]) {
          const response = await fetch(gateway.ready.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers[index] },
            body,
          });
          const answer = (await response.json()) as { data?: ConversationList; errors?: unknown };
          if (answer.errors || !answer.data) throw new Error(`${name} answered ${JSON.stringify(answer)}`);
          const edges = answer.data.me.conversations.edges;
          if (answer.data.me.id !== viewers[index]!.id || edges.length !== conversationsPerViewer) {
            throw new Error(`${name} listed ${edges.length} conversations for user ${index}`);
          }
          const data = canonical(answer.data);
          if (!expected.has(index)) expected.set(index, data);
          if (expected.get(index) !== data) throw new Error(`${name} answered differently from the others`);
        }

        const load = { url: gateway.ready.url, body, headers, connections: options.connections };
        await postLoad({ ...load, seconds: options.warmupSeconds });
        const measured = await withProfiles(
          { [`router-${name}`]: gateway, [`router-${name}-subgraphs`]: platform },
          () => postLoad({ ...load, seconds: options.seconds }),
        );
        results.push({ name, load: measured, peakRss: await gateway.peakRss() });
        console.log(`router: ${name} ${fixed(measured.requestsPerSecond)} req/s, p99 ${measured.p99Ms} ms`);
      } finally {
        await gateway.stop();
      }
    }
  } finally {
    await platform.stop();
  }

  const ours = results.find((result) => result.name === 'parley-router')!;
  const rpsOf = (name: GatewayName) => results.find((result) => result.name === name)!.load.requestsPerSecond;
  const vsHive = ours.load.requestsPerSecond / rpsOf('hive-gateway');
  const vsApollo = ours.load.requestsPerSecond / rpsOf('apollo-server');
  return {
    vsHive,
    vsApollo,
    markdown: [
      `Query: the viewer's conversation list (${conversationsPerViewer} each, direct and groups) with the last message and its`,
      `sender's presence, and 5 members' profiles and presence: users → conversations → messages, users, presence`,
      `(7 subgraph fetches in @apollo/gateway's plan). ${viewers.length} users' tokens taken in turn by the requests, so no`,
      `two concurrent requests need be the same. ${options.connections} connections, ${options.seconds} s measured after ${options.warmupSeconds} s of warm-up; each`,
      `gateway in its own process, the subgraphs in another, autocannon in the runner; every gateway's answers for`,
      `three users checked equal before it is timed; failures counts non-200s, errors, timeouts and answers with \`errors\`.`,
      '',
      table(
        ['gateway', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'failures', 'peak RSS', 'ours / this'],
        results.map(({ name, load, peakRss }) => [
          gatewayLabels[name],
          fixed(load.requestsPerSecond),
          load.p50Ms,
          load.p99Ms,
          load.requests,
          load.failures,
          mib(peakRss),
          ratio(ours.load.requestsPerSecond / load.requestsPerSecond),
        ]),
      ),
      '',
      `Targets: ≥ 1.5× Hive Gateway: ${ratio(vsHive)}, ${verdict(vsHive >= 1.5)}; ≥ 3× Apollo Server + @apollo/gateway: ${ratio(vsApollo)}, ${verdict(vsApollo >= 3)}.`,
    ].join('\n'),
  };
}
