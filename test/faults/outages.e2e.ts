import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, startEmbeddedPostgres, type EmbeddedPostgres } from '@parley/kit';
import { startParley, type Parley } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup } from '../conversations/operations.js';
import { messagesOf, startSender, startSubscriber, type SendAttempt, type Subscriber } from './traffic.js';

/**
 * The platform under traffic while its servers fail, as an operator sees it happen: two senders at 5 messages
 * a second, four subscribers resuming with `after:`, while Redis restarts empty, PostgreSQL stops for 3 s and
 * every socket drops at once. The PostgreSQL and Redis servers are the test's own, stopped and started by it.
 */

const OUTAGE_MS = 3_000;
const SEND_INTERVAL_MS = 200;
/** After a server is back, sends succeed again within this. */
const RECOVERY_MS = 2_000;
/** A send during an outage is answered (SERVICE_UNAVAILABLE) within this. */
const FAIL_FAST_MS = 2_000;
/** `/ready` answers within this, whatever is down. */
const READY_MS = 500;

const silent = createLogger({ service: 'outages-test', level: 'silent' });

let dataDir: string;
let postgres: EmbeddedPostgres;
let redisPort: number;
let redisServer: ChildProcess;
let parley: Parley;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** redis-server without persistence: restarted, it comes back empty. */
async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  return child;
}

async function stopRedis() {
  if (redisServer.exitCode !== null || redisServer.signalCode !== null) return;
  const exited = once(redisServer, 'exit');
  redisServer.kill('SIGKILL');
  await exited;
}

/** Every `/ready` of the platform: status and how long it took to answer. */
async function readiness() {
  const urls = [parley.routerUrl, ...Object.values(parley.subgraphUrls).map((url) => new URL(url).origin)];
  return Promise.all(
    urls.map(async (url) => {
      const startedAt = performance.now();
      const response = await fetch(`${url}/ready`);
      return { url, status: response.status, ms: performance.now() - startedAt };
    }),
  );
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'parley-outages-'));
  // As root the embedded server runs as the `postgres` user, which must reach its directory.
  await chmod(dataDir, 0o755);
  postgres = await startEmbeddedPostgres({ dataDir, logger: silent });
  redisPort = await freePort();
  redisServer = await startRedis();
  parley = await startParley({
    label: 'outages',
    databaseServerUrl: postgres.urlFor('postgres'),
    redisUrl: `redis://127.0.0.1:${redisPort}`,
  });
});

afterAll(async () => {
  await parley?.stop();
  if (redisServer) await stopRedis();
  await postgres?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('outages under traffic', () => {
  it('loses, duplicates and reorders nothing; failed sends are SERVICE_UNAVAILABLE, fast; sends recover within 2 s', async () => {
    const [ann, bob, cat, dan, eve, fay] = await parley.registerUsers(
      'ann',
      'bob',
      'cat',
      'dan',
      'eve',
      'fay',
    );
    const group = await createGroup(ann, [bob, cat, dan, eve, fay], 'Outages');
    const subscribers: Subscriber[] = [cat, dan, eve, fay].map((user) =>
      startSubscriber(user, parley.wsUrl, group.id),
    );
    const senders = [ann, bob].map((user) => startSender(user, group.id, SEND_INTERVAL_MS));
    const outages: Array<{
      what: string;
      downAt: number;
      backAt: number;
      readyDuring: Awaited<ReturnType<typeof readiness>>;
    }> = [];

    async function outage(what: string, stop: () => Promise<void>, start: () => Promise<void>) {
      await sleep(1_500);
      const downAt = performance.now();
      await stop();
      await sleep(OUTAGE_MS / 2);
      const readyDuring = await readiness();
      await sleep(OUTAGE_MS / 2);
      await start();
      outages.push({ what, downAt, backAt: performance.now(), readyDuring });
    }

    try {
      await outage('Redis restarting empty', stopRedis, async () => {
        redisServer = await startRedis();
      });
      await outage(
        'PostgreSQL stopped',
        () => postgres.stop(),
        async () => {
          postgres = await startEmbeddedPostgres({ dataDir, logger: silent, port: postgres.port });
        },
      );
      await sleep(3_000);
      // Every socket dropped at once, as by a network failure: each subscriber resumes from its cursor.
      await Promise.all(subscribers.map((subscriber) => subscriber.drop()));
      await sleep(3_000);
    } finally {
      await Promise.all(senders.map((sender) => sender.stop()));
    }

    // Every acknowledged message is in the conversation, and every subscriber shows exactly the conversation.
    const history = await messagesOf(ann, group.id);
    const acknowledged = senders.flatMap((sender) => sender.acknowledged);
    const historyIds = new Set(history.map((message) => message.id));
    expect(acknowledged.filter((message) => !historyIds.has(message.id))).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(40);
    for (const subscriber of subscribers) {
      await expect
        .poll(() => subscriber.shown.map(({ seq }) => seq), { timeout: 20_000 })
        .toEqual(history.map(({ seq }) => seq));
    }
    await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
    expect(subscribers.flatMap((subscriber) => subscriber.violations)).toEqual([]);
    expect(subscribers.map((subscriber) => subscriber.unresolvedHoles)).toEqual([0, 0, 0, 0]);

    const attempts: SendAttempt[] = senders.flatMap((sender) => sender.attempts);
    const failed = attempts.filter((attempt) => !attempt.ok);
    // Each outage made sends fail, every failure said so in time: SERVICE_UNAVAILABLE with retryAfter.
    expect(failed.length).toBeGreaterThan(0);
    expect(
      failed.filter(
        (attempt) =>
          attempt.code !== 'SERVICE_UNAVAILABLE' ||
          typeof attempt.retryAfter !== 'number' ||
          attempt.endedAt - attempt.startedAt > FAIL_FAST_MS,
      ),
    ).toEqual([]);

    const report: string[] = [];
    for (const { what, downAt, backAt, readyDuring } of outages) {
      // While it was down every /ready answered in time, and every subgraph (each needs both) said not ready.
      expect(
        readyDuring.filter(({ ms }) => ms > READY_MS),
        what,
      ).toEqual([]);
      const subgraphs = readyDuring.filter(({ url }) => url !== parley.routerUrl);
      expect(
        subgraphs.map(({ status }) => status),
        what,
      ).toEqual(subgraphs.map(() => 503));
      // Sends recovered: each sender's first success after the server was back came within RECOVERY_MS.
      const recoveries = ['ann', 'bob'].map((name) => {
        const firstOk = attempts.find(
          (attempt) => attempt.sender.startsWith(name) && attempt.ok && attempt.endedAt > backAt,
        );
        expect(firstOk, what).toBeDefined();
        return firstOk!.endedAt - backAt;
      });
      expect(
        recoveries.filter((ms) => ms > RECOVERY_MS),
        what,
      ).toEqual([]);
      const during = failed.filter(({ startedAt }) => startedAt >= downAt && startedAt <= backAt);
      report.push(
        `${what}: ${during.length} sends failed (slowest ${Math.round(Math.max(0, ...during.map((a) => a.endedAt - a.startedAt)))} ms), ` +
          `/ready ${readyDuring.map(({ status, ms }) => `${status} in ${Math.round(ms)} ms`).join(', ')}, ` +
          `sends back ${recoveries.map((ms) => `${Math.round(ms)} ms`).join(' and ')} after the server`,
      );
    }
    console.info(
      [
        `${acknowledged.length} messages acknowledged, ${failed.length} sends answered SERVICE_UNAVAILABLE`,
        ...report,
        `resyncs: ${subscribers.map((subscriber) => subscriber.resyncs.join('+') || 'none').join(', ')}`,
      ].join('\n'),
    );
  }, 120_000);
});
