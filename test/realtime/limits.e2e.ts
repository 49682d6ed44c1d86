import { errorCodes } from '@parley/kit';
import { startParley, within, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createGroup } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import {
  codesOf,
  EVENTS,
  nextEvent,
  subscribeConversation,
  subscribeEvents,
  useRealtime,
} from './operations.js';

const MAX_SUBSCRIPTIONS = 3;
const MAX_MESSAGE_BYTES = 16_384;
const RATE_LIMIT_PER_MINUTE = 40;
const MAX_CONNECTIONS_PER_USER = 2;

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;

beforeAll(async () => {
  parley = await startParley({
    label: 'realtime_limits',
    routerEnv: {
      WS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
      WS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
      WS_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
      WS_KEEPALIVE_SECONDS: '1',
      WS_MAX_CONNECTIONS_PER_USER: String(MAX_CONNECTIONS_PER_USER),
    },
  });
  [ann, bob] = await parley.registerUsers('ann', 'bob');
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

describe('per-socket limits', () => {
  it('refuses a subscription past WS_MAX_SUBSCRIPTIONS with a registered code, and keeps the others', async () => {
    const group = await createGroup(ann, [bob], 'Limits');
    const socket = await realtime.connect(bob);
    const allowed = [
      subscribeEvents(socket),
      subscribeEvents(socket),
      subscribeConversation(socket, group.id),
    ];
    await realtime.live(MAX_SUBSCRIPTIONS);

    const extra = subscribeEvents(socket);

    const [code] = codesOf(await extra.error);
    expect(['RATE_LIMITED', 'BAD_REQUEST']).toContain(code);
    expect(Object.keys(errorCodes)).toContain(code);
    await send(ann, group.id, 'still flowing');
    for (const subscription of allowed) {
      expect(await nextEvent(subscription)).toMatchObject({ message: { body: 'still flowing' } });
    }
  });

  it('closes a socket that sends a message over WS_MAX_MESSAGE_BYTES with 1009', async () => {
    const socket = await realtime.connect(bob);

    socket.subscribe(EVENTS, { after: 'x'.repeat(MAX_MESSAGE_BYTES + 1) });

    expect(await within(socket.closed, 10_000, 'the close after a message too big')).toMatchObject({
      code: 1009,
    });
    await expect(realtime.connect(bob)).resolves.toBeDefined();
  });

  it('closes a socket that sends more than WS_RATE_LIMIT_PER_MINUTE messages with 4429', async () => {
    const socket = await realtime.connect(bob);

    // Subscribe and complete at once: never more than one subscription, twice the allowed messages.
    for (let index = 0; index < RATE_LIMIT_PER_MINUTE; index += 1) {
      socket.send({ id: `burst-${index}`, type: 'subscribe', payload: { query: EVENTS } });
      socket.send({ id: `burst-${index}`, type: 'complete' });
    }

    expect(await within(socket.closed, 10_000, 'the close after a burst')).toMatchObject({ code: 4429 });
  });
});

describe('connections per user', () => {
  it('closes a connection past WS_MAX_CONNECTIONS_PER_USER with 4429, and counts closed ones out', async () => {
    const first = await realtime.connect(ann);
    await realtime.connect(ann);

    await expect(realtime.connect(ann)).rejects.toMatchObject({ code: 4429 });
    await expect(realtime.connect(bob)).resolves.toBeDefined();

    await first.close();
    await expect
      .poll(() =>
        realtime.connect(ann).then(
          () => 'connected',
          (error) => error.code,
        ),
      )
      .toBe('connected');
  });
});

describe('keep-alive', () => {
  it('pings every WS_KEEPALIVE_SECONDS and ends a socket that stops answering them', async () => {
    const socket = new WebSocket(parley.wsUrl, 'graphql-transport-ws', { autoPong: false });
    let pings = 0;
    socket.on('ping', () => (pings += 1));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const acknowledged = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') resolve();
      }),
    );
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${bob.accessToken}` } }),
    );
    await within(acknowledged, 10_000, 'connection_ack');

    // No close frame: the router drops the connection (1006) after a ping went unanswered.
    expect(await within(closed, 10_000, 'the end of an unresponsive socket')).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
  });
});

describe('graphql-ws protocol errors', () => {
  it('closes a socket that sends something other than a protocol message with 4400', async () => {
    const socket = await realtime.connect(bob);

    socket.send('not json');

    expect(await within(socket.closed, 10_000, 'the close after an invalid message')).toMatchObject({
      code: 4400,
    });
  });

  it('closes a socket that reuses the id of a running subscription with 4409', async () => {
    const socket = await realtime.connect(bob);

    socket.send({ id: 'twice', type: 'subscribe', payload: { query: EVENTS } });
    socket.send({ id: 'twice', type: 'subscribe', payload: { query: EVENTS } });

    expect(await within(socket.closed, 10_000, 'the close after a duplicate id')).toMatchObject({
      code: 4409,
    });
  });
});
