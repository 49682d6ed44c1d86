/**
 * History at scale: a page of 50 messages through the router, in a conversation of 1,000 messages and in one
 * of 1,000,000; the latest page (opening a conversation) and one from the middle (scrolling far back).
 */
import { encodeCursor } from '@parley/kit';
import { startChild } from '../lib/child.js';
import { fixed, ratio, table, verdict } from '../lib/format.js';
import { postLoad, type HttpLoadResult } from '../lib/load.js';
import type { PlatformReady } from '../lib/platform-process.js';
import { BENCH_CLIENT, startGateway } from '../router/gateways.js';

export const HISTORY = `query BenchHistory($id: ID!, $before: String) {
  conversation(id: $id) {
    id
    messages(last: 50, before: $before) {
      edges { cursor node { id seq body createdAt sender { id displayName } } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
}`;

interface HistorySeed {
  viewer: { accessToken: string };
  conversations: { id: string; messages: number }[];
}

interface HistoryPage {
  conversation: { messages: { edges: { node: { seq: number } }[] } };
}

export async function historyAtScale(options: {
  connections: number;
  seconds: number;
  warmupSeconds: number;
}) {
  const started = performance.now();
  const platform = await startChild<PlatformReady>(
    new URL('../lib/platform-process.ts', import.meta.url),
    { BENCH_SEED: 'history' },
    { timeoutMs: 20 * 60_000 },
  );
  const seedSeconds = (performance.now() - started) / 1000;
  const seeded = platform.ready.seeded as HistorySeed;
  const rows: { messages: number; page: string; load: HttpLoadResult }[] = [];
  try {
    const router = await startGateway('parley-router', platform.ready, [HISTORY]);
    try {
      const headers = {
        authorization: `Bearer ${seeded.viewer.accessToken}`,
        'graphql-client-name': BENCH_CLIENT,
      };
      for (const conversation of seeded.conversations) {
        const middle = Math.floor(conversation.messages / 2);
        const pages = [
          { page: 'latest 50', before: null, lastSeq: conversation.messages },
          // The cursor a client holds after scrolling back to the middle (seq-keyed, as the subgraph makes them).
          { page: `50 before seq ${middle}`, before: encodeCursor({ s: middle }), lastSeq: middle - 1 },
        ];
        for (const { page, before, lastSeq } of pages) {
          const body = JSON.stringify({ query: HISTORY, variables: { id: conversation.id, before } });
          const response = await fetch(router.ready.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
          });
          const answer = (await response.json()) as { data?: HistoryPage; errors?: unknown };
          const seqs = answer.data?.conversation.messages.edges.map((edge) => edge.node.seq) ?? [];
          const wanted = Array.from({ length: 50 }, (_, index) => lastSeq - 49 + index);
          if (answer.errors || JSON.stringify(seqs) !== JSON.stringify(wanted)) {
            throw new Error(
              `history page ${page} of ${conversation.messages}: ${JSON.stringify(answer).slice(0, 500)}`,
            );
          }
          const load = { url: router.ready.url, body, headers, connections: options.connections };
          await postLoad({ ...load, seconds: options.warmupSeconds });
          const measured = await postLoad({ ...load, seconds: options.seconds });
          rows.push({ messages: conversation.messages, page, load: measured });
          console.log(`history: ${conversation.messages} ${page}: p99 ${measured.p99Ms} ms`);
        }
      }
    } finally {
      await router.stop();
    }
  } finally {
    await platform.stop();
  }

  const [small, large] = seeded.conversations.map((conversation) => conversation.messages) as [
    number,
    number,
  ];
  const p99 = (messages: number, page: number) =>
    rows.filter((row) => row.messages === messages)[page]!.load.p99Ms;
  const latestRatio = p99(large, 0) / p99(small, 0);
  const middleRatio = p99(large, 1) / p99(small, 1);
  return {
    markdown: [
      `One viewer's two groups, filled straight into the messages database (${fixed(seedSeconds, 0)} s to start and`,
      `seed): ${small.toLocaleString('en')} and ${large.toLocaleString('en')} messages. The query asks for 50 messages`,
      `with their senders (messages → users) through the router, checked to be the right 50 before it is timed;`,
      `${options.connections} connections, ${options.seconds} s each after ${options.warmupSeconds} s of warm-up.`,
      '',
      table(
        ['messages in the conversation', 'page', 'req/s', 'p50 ms', 'p99 ms', 'failures'],
        rows.map(({ messages, page, load }) => [
          messages.toLocaleString('en'),
          page,
          fixed(load.requestsPerSecond),
          load.p50Ms,
          load.p99Ms,
          load.failures,
        ]),
      ),
      '',
      `Target: p99 ratio (10^6 / 10^3) ≤ 1.5: latest page ${ratio(latestRatio)}, ${verdict(latestRatio <= 1.5)};`,
      `middle page ${ratio(middleRatio)}, ${verdict(middleRatio <= 1.5)}.`,
    ].join('\n'),
  };
}
