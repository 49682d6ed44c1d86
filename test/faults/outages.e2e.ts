import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, startEmbeddedPostgres, type EmbeddedPostgres } from '@parley/kit';
import {
  codeOf,
  reasonOf,
  startParley,
  startTestRedisServer,
  type GraphQLResponse,
  type Parley,
  type TestRedisServer,
} from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup } from '../conversations/operations.js';
import { activeSubscriptions, LOGOUT } from '../realtime/operations.js';
import { messagesOf, startSender, startSubscriber, type SendAttempt, type Subscriber } from './traffic.js';

/**
 * The platform under traffic while its servers fail, as an operator sees it happen: two senders at 5 messages
 * a second, four subscribers resuming with `after:`, while Redis restarts empty, PostgreSQL stops (each for as long
 * as it takes every sender to see six sends fail) and
 * every socket drops at once. The PostgreSQL and Redis servers are the test's own, stopped and started by it.
 */

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
let redis: TestRedisServer;
let parley: Parley;

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
  redis = await startTestRedisServer();
  parley = await startParley({
    label: 'outages',
    databaseServerUrl: postgres.urlFor('postgres'),
    redisUrl: redis.url,
  });
});

afterAll(async () => {
  await parley?.stop();
  await redis?.stop();
  await postgres?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('outages under traffic', () => {
  it('loses, duplicates and reorders nothing; failed sends are SERVICE_UNAVAILABLE, fast; sends recover within 2 s', async () => {
    const [ann, bob, cat, dan, eve, fay, gus] = await parley.registerUsers(
      'ann',
      'bob',
      'cat',
      'dan',
      'eve',
      'fay',
      'gus',
    );
    const group = await createGroup(ann, [bob, cat, dan, eve, fay], 'Outages');
    const subscribers: Subscriber[] = [cat, dan, eve, fay].map((user) =>
      startSubscriber(user, parley.wsUrl, group.id),
    );
    // Subscribed before the first send, so each has every message from its start.
    await expect
      .poll(() => activeSubscriptions(parley.metricsUrls.router), { timeout: 10_000 })
      .toBe(subscribers.length);
    const senders = [ann, bob].map((user) => startSender(user, group.id, SEND_INTERVAL_MS));
    let loggedOutDuringOutage: GraphQLResponse | undefined;
    let stillSignedInDuringOutage: GraphQLResponse | undefined;
    const outages: Array<{
      what: string;
      downAt: number;
      backAt: number;
      readyDuring: Awaited<ReturnType<typeof readiness>>;
    }> = [];

    /** Until each sender has had `count` more messages acknowledged: traffic flows. */
    async function moreAcknowledged(count: number) {
      const from = senders.map((sender) => sender.acknowledged.length);
      await expect
        .poll(() => senders.every((sender, index) => sender.acknowledged.length >= from[index]! + count), {
          timeout: 30_000,
        })
        .toBe(true);
    }
    /** Until each sender has seen `count` sends fail since `since`: the outage is felt. */
    async function failedSince(since: number, count: number) {
      await expect
        .poll(
          () =>
            senders.every(
              (sender) =>
                sender.attempts.filter(({ ok, startedAt }) => !ok && startedAt >= since).length >= count,
            ),
          { timeout: 30_000 },
        )
        .toBe(true);
    }

    async function outage(
      what: string,
      stop: () => Promise<void>,
      start: () => Promise<void>,
      meanwhile: () => Promise<void> = async () => {},
    ) {
      await moreAcknowledged(6);
      const downAt = performance.now();
      await stop();
      await failedSince(downAt, 3);
      const readyDuring = await readiness();
      await meanwhile();
      await failedSince(downAt, 6);
      await start();
      outages.push({ what, downAt, backAt: performance.now(), readyDuring });
    }

    try {
      await outage(
        'Redis restarting empty',
        () => redis.stop(),
        () => redis.start(),
        async () => {
          // Signing out needs Redis (where revocations are recorded): it fails as a whole, nothing ended.
          loggedOutDuringOutage = await gus.client.request(LOGOUT);
          stillSignedInDuringOutage = await gus.client.request('{ me { id } }');
        },
      );
      await outage(
        'PostgreSQL stopped',
        () => postgres.stop(),
        async () => {
          postgres = await startEmbeddedPostgres({ dataDir, logger: silent, port: postgres.port });
        },
      );
      await moreAcknowledged(6);
      // Every socket dropped at once, as by a network failure: each subscriber resumes from its cursor.
      await Promise.all(subscribers.map((subscriber) => subscriber.drop()));
      await moreAcknowledged(6);
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
    const took = (attempt: SendAttempt) => Math.round(attempt.endedAt - attempt.startedAt);
    /** Each sender's first success after the server was back, that long after it. */
    const recoveriesAfter = (backAt: number) =>
      ['ann', 'bob'].map((name) => {
        const firstOk = attempts.find(
          (attempt) => attempt.sender.startsWith(name) && attempt.ok && attempt.endedAt > backAt,
        );
        return firstOk ? Math.round(firstOk.endedAt - backAt) : Infinity;
      });
    console.info(
      [
        `${acknowledged.length} messages acknowledged, ${failed.length} sends answered ${[...new Set(failed.map((a) => a.code))].join(', ')}`,
        ...outages.map(({ what, downAt, backAt, readyDuring }) => {
          const during = failed.filter(({ startedAt }) => startedAt >= downAt && startedAt <= backAt);
          return (
            `${what}: ${during.length} sends failed (slowest ${Math.max(0, ...during.map(took))} ms), ` +
            `/ready ${readyDuring.map(({ status, ms }) => `${status} in ${Math.round(ms)} ms`).join(', ')}, ` +
            `sends back ${recoveriesAfter(backAt).join(' and ')} ms after the server`
          );
        }),
        `slower failures: ${failed
          .filter((attempt) => took(attempt) > 500)
          .map(
            (attempt) => `${took(attempt)} ms from ${Math.round(attempt.startedAt - outages[0]!.downAt)} ms`,
          )
          .join(
            ', ',
          )} (times from the first outage: ${outages.map(({ downAt, backAt }) => `${Math.round(downAt - outages[0]!.downAt)}–${Math.round(backAt - outages[0]!.downAt)}`).join(', ')})`,
        `resyncs per subscriber: ${subscribers.map(({ resyncs }) => [...new Set(resyncs)].map((reason) => `${reason}×${resyncs.filter((r) => r === reason).length}`).join('+') || 'none').join(', ')}`,
      ].join('\n'),
    );

    // Every failure said so in time: SERVICE_UNAVAILABLE with retryAfter.
    expect(
      failed.filter(
        (attempt) =>
          attempt.code !== 'SERVICE_UNAVAILABLE' ||
          typeof attempt.retryAfter !== 'number' ||
          took(attempt) > FAIL_FAST_MS,
      ),
    ).toEqual([]);
    for (const { what, downAt, backAt } of outages) {
      const during = attempts.filter(({ startedAt }) => startedAt >= downAt && startedAt <= backAt);
      // Each outage made sends fail, and no send made during one waited (failed or not) longer than allowed.
      expect(during.filter(({ ok }) => !ok).length, what).toBeGreaterThan(0);
      expect(
        during.filter((attempt) => took(attempt) > FAIL_FAST_MS),
        what,
      ).toEqual([]);
    }
    for (const { what, backAt, readyDuring } of outages) {
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
      expect(
        recoveriesAfter(backAt).filter((ms) => ms > RECOVERY_MS),
        what,
      ).toEqual([]);
    }

    // A sign-out Redis could not record failed retryably and ended nothing; tried again, it ends the session.
    expect(codeOf(loggedOutDuringOutage!)).toBe('SERVICE_UNAVAILABLE');
    expect(stillSignedInDuringOutage!.data).toEqual({ me: { id: gus.id } });
    expect((await gus.client.request('{ me { id } }')).data).toEqual({ me: { id: gus.id } });
    expect((await gus.client.request(LOGOUT)).data).toEqual({ logout: true });
    expect(reasonOf(await gus.client.request('{ me { id } }'))).toBe('SESSION_REVOKED');
  }, 120_000);
});
