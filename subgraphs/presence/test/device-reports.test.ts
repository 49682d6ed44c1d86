import { createLogger, createMemoryPubSub, InvalidPayloadError } from '@parley/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DEVICES_PER_REPORT, presenceReports, SOCKET_DEVICE_TTL_MS } from '../src/events.js';
import { followDeviceReports } from '../src/followed-events.js';
import { createMemoryPresenceData, createMemoryPresenceStore } from '../src/store/presence-store.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** The in-process bus (the router publishes on it) and a presence service's store of sockets following it. */
async function followed() {
  const events = createMemoryPubSub({ prefix: 'device-reports-test:' });
  stops.push(() => events.close());
  const data = createMemoryPresenceData();
  const sockets = createMemoryPresenceStore({ data, timings: { deviceTtlMs: SOCKET_DEVICE_TTL_MS } });
  stops.push(await followDeviceReports({ events, sockets, logger }));
  return { events, sockets, data };
}

describe('presence.device-reports (in process)', () => {
  it('makes a reported socket a device of its user for the socket TTL; a reported close takes it away', async () => {
    const { events, sockets, data } = await followed();
    const before = Date.now();
    await events.publish(presenceReports.devices, {
      touched: [{ userId: 'ann', deviceId: 'ws:1', active: true }],
      disconnected: [],
    });
    await expect.poll(async () => (await sockets.read(['ann']))[0]!.status).toBe('ONLINE');
    expect(data.users.get('ann')!.devices.get('ws:1')).toBeGreaterThanOrEqual(before + SOCKET_DEVICE_TTL_MS);

    await events.publish(presenceReports.devices, {
      touched: [],
      disconnected: [{ userId: 'ann', deviceId: 'ws:1' }],
    });
    await expect.poll(() => data.users.get('ann')!.devices.size).toBe(0);
  });

  it('refuses a report about a heartbeating session, or of more devices than a report may name', async () => {
    const { events } = await followed();
    await expect(
      events.publish(presenceReports.devices, {
        touched: [],
        disconnected: [{ userId: 'ann', deviceId: 'session:1' }],
      }),
    ).rejects.toThrow(InvalidPayloadError);
    const many = Array.from({ length: MAX_DEVICES_PER_REPORT + 1 }, (_, index) => ({
      userId: `user-${index}`,
      deviceId: `ws:${index}`,
      active: false,
    }));
    await expect(
      events.publish(presenceReports.devices, { touched: many, disconnected: [] }),
    ).rejects.toThrow(InvalidPayloadError);
  });
});
