import { createLogger, createRedisPubSub, type PayloadOf, type PubSub } from '@parley/kit';
import { presenceReports } from '@parley/presence/events';
import { readRouterEnv, subgraphUrlVariable } from '@parley/router/env';
import { startRouterService, type RunningRouter } from '@parley/router/service';
import { connectRealtime, deleteRedisKeys, startParley, testRedisPrefix, type Parley } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm } from '../conversations/operations.js';
import { expectStatus } from './operations.js';

/**
 * The router never writes presence: it reports its sockets on the bus (`presence.device-reports`), and the
 * presence service applies the reports to the live state it alone keeps.
 */
type DeviceReport = PayloadOf<typeof presenceReports.devices>;

let parley: Parley;
let redis: Redis;
const closing: Array<() => Promise<void>> = [];

beforeAll(async () => {
  parley = await startParley({ label: 'presence_device_reports' });
  redis = new Redis(parley.redisUrl);
});

afterAll(async () => {
  for (const close of closing.reverse()) await close();
  redis?.disconnect();
  await parley?.stop();
});

/** A bus on the platform's Redis under `prefix`, as every service opens one. */
function busOn(prefix: string): PubSub {
  const events = createRedisPubSub({
    publisher: new Redis(parley.redisUrl),
    subscriber: new Redis(parley.redisUrl),
    prefix,
  });
  closing.push(() => events.close());
  return events;
}

/** Every device report published under `prefix` from now on, as presence hears them. */
async function reportsOn(prefix: string) {
  const subscription = await busOn(prefix).subscribe(presenceReports.devices);
  const reports: DeviceReport[] = [];
  void (async () => {
    for await (const report of subscription) reports.push(report);
  })().catch(() => {});
  closing.push(() => subscription.unsubscribe());
  return {
    reports,
    touchedOf: (userId: string) =>
      reports.flatMap((report) => report.touched).filter((d) => d.userId === userId),
    disconnectedOf: (userId: string) =>
      reports.flatMap((report) => report.disconnected).filter((d) => d.userId === userId),
  };
}

/** Every presence key under `prefix` (the presence store's: `presence:u:<user>`, `presence:due`, ...). */
const presenceKeys = (prefix: string) => redis.keys(`${prefix}presence:*`);

describe('the router reports its sockets to presence', () => {
  it('makes a user ONLINE when their socket opens, and OFFLINE when it closes, through its reports', async () => {
    const heard = await reportsOn(parley.redisPrefix);
    const [ann, bob] = await parley.registerUsers('ann', 'bob');
    await createDm(ann, bob);

    const socket = await connectRealtime(parley.wsUrl, { token: ann.accessToken });
    await expect
      .poll(() => heard.touchedOf(ann.id))
      .toEqual([{ userId: ann.id, deviceId: expect.stringMatching(/^ws:/), active: true }]);
    await expectStatus(bob, ann, 'ONLINE');

    const { deviceId } = heard.touchedOf(ann.id)[0]!;
    await socket.close();
    await expect.poll(() => heard.disconnectedOf(ann.id)).toEqual([{ userId: ann.id, deviceId }]);
    await expectStatus(bob, ann, 'OFFLINE');
  });

  it('reports sockets that close together in one message, not one per socket', async () => {
    const heard = await reportsOn(parley.redisPrefix);
    const users = await parley.registerUsers('cat', 'dan');
    const sockets = await Promise.all(
      users.flatMap((user) =>
        Array.from({ length: 15 }, () => connectRealtime(parley.wsUrl, { token: user.accessToken })),
      ),
    );
    await expect.poll(() => users.flatMap((user) => heard.touchedOf(user.id))).toHaveLength(30);

    // Dropped at once, as by a network failure.
    await Promise.all(sockets.map((socket) => socket.terminate()));
    await expect.poll(() => users.flatMap((user) => heard.disconnectedOf(user.id))).toHaveLength(30);
    const carrying = heard.reports.filter((report) =>
      report.disconnected.some((device) => users.some((user) => user.id === device.userId)),
    );
    expect(carrying.length).toBeLessThanOrEqual(3);
  });

  describe('with no presence service following its bus', () => {
    let lone: RunningRouter;
    /** A router of its own Redis prefix, on the platform's subgraphs: no presence service hears its bus. */
    const prefix = testRedisPrefix('router_without_presence');

    beforeAll(async () => {
      lone = await startRouterService(
        readRouterEnv({
          NODE_ENV: 'test',
          PORT: '0',
          METRICS_PORT: '0',
          REDIS_URL: parley.redisUrl,
          REDIS_PREFIX: prefix,
          ...Object.fromEntries(
            Object.entries(parley.subgraphUrls).map(([subgraph, url]) => [
              subgraphUrlVariable(subgraph),
              url,
            ]),
          ),
        }),
        createLogger({ service: 'router-without-presence', level: 'silent' }),
      );
      closing.push(async () => {
        await lone.stop();
        await deleteRedisKeys(redis, prefix);
      });
    });

    it('writes no presence key for a socket opened and closed; its reports alone make the user online', async () => {
      const heard = await reportsOn(prefix);
      const [ann, bob] = await parley.registerUsers('ann', 'bob');
      await createDm(ann, bob);

      const socket = await connectRealtime(`${lone.wsUrl}/graphql`, { token: ann.accessToken });
      await expect.poll(() => heard.touchedOf(ann.id)).toHaveLength(1);
      await socket.close();
      await expect.poll(() => heard.disconnectedOf(ann.id)).toHaveLength(1);
      // Reported, and nothing of presence written: the router has no presence store.
      expect(await presenceKeys(prefix)).toEqual([]);

      // The very reports it published, heard by the platform's presence service: ann online, then gone.
      const [opened, closed] = heard.reports.filter((report) =>
        [...report.touched, ...report.disconnected].some((device) => device.userId === ann.id),
      );
      const platformBus = busOn(parley.redisPrefix);
      await platformBus.publish(presenceReports.devices, opened!);
      await expectStatus(bob, ann, 'ONLINE');
      await platformBus.publish(presenceReports.devices, closed!);
      await expectStatus(bob, ann, 'OFFLINE');
    });
  });
});
