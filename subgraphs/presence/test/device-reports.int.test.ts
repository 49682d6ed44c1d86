import { createLogger, createRedisPubSub, type PubSub } from '@parley/kit';
import { deleteRedisKeys, testRedisPrefix, testRedisUrl } from '@parley/kit/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DEVICES_PER_REPORT, presenceReports, SOCKET_DEVICE_TTL_MS } from '../src/events.js';
import { followDeviceReports } from '../src/followed-events.js';
import { createRedisPresenceStore } from '../src/store/presence-store.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A bus on Redis under `prefix`, as each service opens one. */
function busOn(prefix: string): PubSub {
  const events = createRedisPubSub({
    publisher: new Redis(testRedisUrl()),
    subscriber: new Redis(testRedisUrl()),
    prefix,
  });
  cleanups.push(() => events.close());
  return events;
}

/** A presence instance's part in this: its store of sockets on Redis, following the reports on its own bus. */
async function presenceInstance(prefix: string) {
  const redis = new Redis(testRedisUrl());
  cleanups.push(async () => {
    await deleteRedisKeys(redis, prefix);
    redis.disconnect();
  });
  const sockets = createRedisPresenceStore({ redis, prefix, timings: { deviceTtlMs: SOCKET_DEVICE_TTL_MS } });
  cleanups.push(await followDeviceReports({ events: busOn(prefix), sockets, logger }));
  const devicesOf = async (userId: string) =>
    (await redis.hkeys(`${prefix}presence:u:${userId}`)).filter((field) => field.startsWith('d:')).sort();
  return { redis, sockets, devicesOf };
}

describe('presence.device-reports (Redis)', () => {
  it('makes a reported socket a device of its user for the socket TTL; a reported close takes it away', async () => {
    const prefix = testRedisPrefix('device-reports');
    const router = busOn(prefix);
    const { redis, sockets, devicesOf } = await presenceInstance(prefix);
    const before = Date.now();
    await router.publish(presenceReports.devices, {
      touched: [{ userId: 'ann', deviceId: 'ws:1', active: true }],
      disconnected: [],
    });
    await expect.poll(async () => (await sockets.read(['ann']))[0]!.status).toBe('ONLINE');
    // Its expiry (on the presence instance's clock, the system's here) is the socket TTL away, whatever heartbeats live.
    const expiresAt = Number(await redis.hget(`${prefix}presence:u:ann`, 'd:ws:1'));
    expect(expiresAt).toBeGreaterThanOrEqual(before + SOCKET_DEVICE_TTL_MS - 1_000);

    await router.publish(presenceReports.devices, {
      touched: [],
      disconnected: [{ userId: 'ann', deviceId: 'ws:1' }],
    });
    await expect.poll(() => devicesOf('ann')).toEqual([]);
  });

  it('applies a full report of open sockets at once', async () => {
    const prefix = testRedisPrefix('device-reports');
    const router = busOn(prefix);
    const { sockets } = await presenceInstance(prefix);
    const userIds = Array.from({ length: MAX_DEVICES_PER_REPORT }, (_, index) => `user-${index}`);
    await router.publish(presenceReports.devices, {
      touched: userIds.map((userId) => ({ userId, deviceId: `ws:${userId}`, active: false })),
      disconnected: [],
    });
    await expect
      .poll(async () => (await sockets.read(userIds)).filter((state) => state.status === 'ONLINE').length)
      .toBe(MAX_DEVICES_PER_REPORT);
  });

  it('leaves no device behind when opens and closes come quickly, applied in order by every presence instance', async () => {
    const prefix = testRedisPrefix('device-reports');
    const router = busOn(prefix);
    const first = await presenceInstance(prefix);
    await presenceInstance(prefix);
    for (let index = 0; index < 20; index += 1) {
      const device = { userId: 'ann', deviceId: `ws:${index}` };
      await router.publish(presenceReports.devices, {
        touched: [{ ...device, active: true }],
        disconnected: [],
      });
      await router.publish(presenceReports.devices, { touched: [], disconnected: [device] });
    }
    await router.publish(presenceReports.devices, {
      touched: [{ userId: 'ann', deviceId: 'ws:last', active: true }],
      disconnected: [],
    });
    // A close applied before its open would leave that socket a device for a minute.
    await expect.poll(() => first.devicesOf('ann')).toEqual(['d:ws:last']);
  });
});
