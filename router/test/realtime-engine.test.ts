import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, createMemoryRealtimeLog, type RealtimeLog } from '@parley/kit';
import { createMemoryMembershipProjection, type MembershipProjection } from '@parley/membership';
import { schemaDir } from '@parley/schema';
import { buildSchema, GraphQLError, parse, type ExecutionResult } from 'graphql';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRealtimeEngine,
  type RealtimeEngine,
  type Selection,
  type SubscribeRequest,
} from '../src/realtime/engine.js';
import { createHydrationSchema } from '../src/realtime/hydration.js';
import { recordingChannel } from './recording-socket.js';

const CONVERSATION = '0195f2a4-5c2b-7000-8000-000000000001';
const [ANN, BOB] = ['0195f2a4-5c2b-7000-8000-0000000000a1', '0195f2a4-5c2b-7000-8000-0000000000b1'];
const apiSchema = buildSchema(await readFile(join(schemaDir, 'api.graphql'), 'utf8'));
const logger = createLogger({ service: 'test', level: 'silent' });

/** A selection without references: its results need no gateway. */
const selection: Selection = {
  document: parse(
    `subscription { events { __typename cursor ... on MessageAdded { conversationId } ... on StreamResync { reason } } }`,
  ),
  operationName: undefined,
  variableValues: {},
  responseKey: 'events',
  perViewer: false,
  key: 'cursors',
};

const added = (n: number) => ({
  id: `test:${n}`,
  topic: 'messages.added',
  payload: { conversationId: CONVERSATION, messageId: `m${n}`, seq: n, senderId: 'sender' },
});

/**
 * The memory projection, whose membership reads can be held: the engine's follower reads it for every
 * event, so holding it holds the follower at a chosen event while a subscriber replays.
 */
function holdableProjection(projection: MembershipProjection) {
  let held = 0;
  let release = () => {};
  let released = Promise.resolve();
  let allHeld = () => {};
  return {
    projection: {
      ...projection,
      async snapshot(conversationId: string) {
        if (held > 0) {
          held -= 1;
          if (held === 0) allHeld();
          await released;
        }
        return projection.snapshot(conversationId);
      },
    } satisfies MembershipProjection,
    /** The next `reads` membership reads wait until `release()`; `reached` resolves once they all wait. */
    hold(reads: number) {
      held = reads;
      released = new Promise((resolve) => (release = resolve));
      const reached = new Promise<void>((resolve) => (allHeld = resolve));
      return { reached, release: () => release() };
    },
  };
}

let engine: RealtimeEngine | undefined;
const releases: Array<() => void> = [];
afterEach(async () => {
  for (const release of releases.splice(0)) release();
  await engine?.stop();
});

async function start(log: RealtimeLog, projection: MembershipProjection, maxQueuedEvents = 100) {
  engine = createRealtimeEngine({
    log,
    projection,
    repairMembership: async () => {
      throw new Error('the projection knows every conversation here');
    },
    schema: createHydrationSchema(apiSchema),
    metrics: new Registry(),
    logger,
    maxQueuedEvents,
  });
  await engine.start();
  return engine;
}

/** Also presence events (`events(presence: true)`), with their status. */
const presenceSelection: Selection = {
  ...selection,
  document: parse(
    `subscription { events(presence: true) { __typename cursor ... on PresenceChanged { presence { status } } } }`,
  ),
  key: 'presence',
};

const presenceChanged = (status: string) => ({
  id: `test:presence:${status}`,
  topic: 'presence.changed',
  payload: { userId: ANN, status, lastSeenAt: null, audience: [ANN, BOB] },
});

let ids = 0;
/**
 * Opens a subscription on a socket of its own (holding at most `maxBufferedBytes` unsent); its results are
 * read from the frames written to that socket, as a client reads them.
 */
async function open(
  engine: RealtimeEngine,
  request: Omit<SubscribeRequest, 'channel' | 'id'>,
  maxBufferedBytes?: number,
) {
  const { socket, channel } = recordingChannel(maxBufferedBytes);
  const id = String((ids += 1));
  const stream = await engine.subscribe({ ...request, channel, id });
  if (!(Symbol.asyncIterator in stream)) throw new Error(JSON.stringify(stream));
  return { next: () => socket.next(id), socket };
}

const subscribe = (
  engine: RealtimeEngine,
  userId: string,
  after: string | null,
  presence = false,
  maxBufferedBytes?: number,
) =>
  open(
    engine,
    {
      userId,
      conversationId: null,
      after,
      presence,
      selection: presence ? presenceSelection : selection,
      gateway: async () => ({ errors: [] }),
      caller: { authorization: 'Bearer test', requestId: 'test' },
    },
    maxBufferedBytes,
  );

const cursorOf = (result: ExecutionResult) => (result.data as { events: { cursor: string } }).events.cursor;

async function groupOfAnnAndBob() {
  const memory = createMemoryMembershipProjection({ prefix: 'engine-test:' });
  await memory.replace(CONVERSATION, 1, {
    kind: 'GROUP',
    members: new Map([
      [ANN, 'OWNER'],
      [BOB, 'MEMBER'],
    ]),
  });
  return memory;
}

describe('realtime engine', () => {
  it('retries an event whose fields a failing service could not give, and tells the subscriber to resync rather than deliver it with holes', async () => {
    const log = createMemoryRealtimeLog({ prefix: 'engine-test:' });
    const engine = await start(log, await groupOfAnnAndBob());
    // The messages service fails the first `failures` hydrations, then answers.
    let failures = 0;
    let asked = 0;
    const stream = await open(engine, {
      userId: ANN,
      conversationId: null,
      after: null,
      presence: false,
      selection: {
        ...selection,
        document: parse(
          `subscription { events { __typename cursor ... on MessageAdded { message { id } } ... on StreamResync { reason } } }`,
        ),
        key: 'messages',
      },
      gateway: async () => {
        asked += 1;
        if (failures > 0) {
          failures -= 1;
          return {
            data: null,
            errors: [
              new GraphQLError('The messages service is unavailable; retry later', {
                extensions: { code: 'SERVICE_UNAVAILABLE' },
              }),
            ],
          };
        }
        return { data: { _e0: { id: 'm-read' } } };
      },
      caller: { authorization: 'Bearer test', requestId: 'test' },
    });

    // Two failures, then an answer within the three attempts: delivered whole, once.
    failures = 2;
    await log.append([added(1)]);
    expect((await stream.next()).value).toEqual({
      data: { events: { __typename: 'MessageAdded', cursor: expect.any(String), message: { id: 'm-read' } } },
    });
    expect(asked).toBe(3);

    // Failing every attempt: a StreamResync at its cursor, never the event with a null message.
    failures = 3;
    await log.append([added(2)]);
    const resync = (await stream.next()).value;
    expect(resync.data).toEqual({
      events: { __typename: 'StreamResync', cursor: expect.any(String), reason: 'HYDRATION_FAILED' },
    });
    expect(resync.errors).toBeUndefined();

    // The service back: the next event arrives whole, after the resync.
    await log.append([added(3)]);
    const next = (await stream.next()).value;
    expect(next.data).toEqual({
      events: { __typename: 'MessageAdded', cursor: expect.any(String), message: { id: 'm-read' } },
    });
    expect(cursorOf(next)).not.toBe(cursorOf(resync));
  });

  it('tells a resuming subscriber to resync at a replayed event a failing service could not give', async () => {
    const log = createMemoryRealtimeLog({ prefix: 'engine-test:' });
    const engine = await start(log, await groupOfAnnAndBob());
    const before = await log.head();
    await log.append([added(1)]);
    const stream = await open(engine, {
      userId: ANN,
      conversationId: null,
      after: before,
      presence: false,
      selection: {
        ...selection,
        document: parse(
          `subscription { events { __typename ... on MessageAdded { message { id } } ... on StreamResync { reason } } }`,
        ),
        key: 'messages-replayed',
      },
      gateway: async () => ({
        data: null,
        errors: [
          new GraphQLError('The messages service is unavailable; retry later', {
            extensions: { code: 'SERVICE_UNAVAILABLE' },
          }),
        ],
      }),
      caller: { authorization: 'Bearer test', requestId: 'test' },
    });
    expect((await stream.next()).value).toEqual({
      data: { events: { __typename: 'StreamResync', reason: 'HYDRATION_FAILED' } },
    });
  });

  it('tells a subscriber whose socket stopped taking frames it lagged, at the last event dropped, then goes on', async () => {
    const log = createMemoryRealtimeLog({ prefix: 'engine-test:' });
    const engine = await start(log, await groupOfAnnAndBob());
    const reading = await subscribe(engine, ANN, null);
    // Bob's socket takes one frame and holds it unsent: past one byte waiting, frames are refused.
    const stalled = await subscribe(engine, BOB, null, false, 1);
    stalled.socket.stall();
    const head = await log.head();

    // Ann reads each; Bob's socket sends none of the first four.
    for (let n = 1; n <= 4; n += 1) {
      await log.append([added(n)]);
      await reading.next();
    }
    expect(stalled.socket.bufferedAmount).toBeGreaterThan(0);
    const read = await log.readAfter(head, 10);
    if (read.expired) throw new Error('fresh log expired');
    const cursors = read.events.map((event) => event.cursor);

    // Once his socket sends what it holds: the first event, then a resync at the fourth (2 to 4 were
    // dropped), then the fifth.
    stalled.socket.flush();
    await log.append([added(5)]);
    await reading.next();
    const again = await log.readAfter(head, 10);
    if (again.expired) throw new Error('fresh log expired');
    expect(cursorOf((await stalled.next()).value)).toBe(cursors[0]);
    expect((await stalled.next()).value.data).toEqual({
      events: { __typename: 'StreamResync', cursor: cursors[3], reason: 'LAGGING' },
    });
    expect(cursorOf((await stalled.next()).value)).toBe(again.events[4]!.cursor);
  });

  it('gives a resuming subscriber each event once, in order, when the follower trails its replay', async () => {
    const log = createMemoryRealtimeLog({ prefix: 'engine-test:' });
    const { projection, hold } = holdableProjection(await groupOfAnnAndBob());
    const engine = await start(log, projection);
    // Ann is live, so the follower works on every event of the conversation.
    const annStream = await subscribe(engine, ANN, null);
    const start0 = await log.head();
    await log.append([added(0)]);
    expect(cursorOf((await annStream.next()).value)).toBeDefined();
    const read = await log.readAfter(start0, 10);
    if (read.expired) throw new Error('fresh log expired');
    const after = read.events[0]!.cursor;

    // The follower is held on 1 and 2 while Bob resumes after 0: his replay reads them from the log first.
    const held = hold(2);
    releases.push(held.release);
    await log.append([added(1), added(2)]);
    await held.reached;
    const bobStream = await subscribe(engine, BOB, after);
    const replayed = [(await bobStream.next()).value, (await bobStream.next()).value].map(cursorOf);
    held.release();
    await expect.poll(async () => cursorOf((await annStream.next()).value)).toBe(replayed[1]);
    await log.append([added(3)]);

    // Then only what came after: 3, not 1 and 2 again from the follower.
    const next = cursorOf((await bobStream.next()).value);
    const all = await log.readAfter(after, 10);
    if (all.expired) throw new Error('fresh log expired');
    expect([...replayed, next]).toEqual(all.events.map((event) => event.cursor));
  });
});

describe('realtime engine and presence', () => {
  it('passes over presence from before a resuming subscriber subscribed, and gives it what happens during its replay', async () => {
    const log = createMemoryRealtimeLog({ prefix: 'engine-test:' });
    const { projection, hold } = holdableProjection(await groupOfAnnAndBob());
    const engine = await start(log, projection);
    const live = await subscribe(engine, BOB, null, true);
    const after = await log.head();
    await log.append([presenceChanged('ONLINE'), added(1)]); // history: ONLINE is a state gone by
    await live.next();
    await live.next(); // the follower is done with both

    const held = hold(1); // the replay's membership read for 1
    releases.push(held.release);
    const resumed = await subscribe(engine, BOB, after, true);
    await held.reached;
    await log.append([presenceChanged('OFFLINE')]); // after the resumed subscription started: live
    const eventOf = (result: ExecutionResult) =>
      (result.data as { events: { __typename: string; presence?: { status: string } } }).events;
    expect(eventOf((await live.next()).value)).toMatchObject({ presence: { status: 'OFFLINE' } });
    held.release();
    await log.append([added(2)]);

    const results = [
      (await resumed.next()).value,
      (await resumed.next()).value,
      (await resumed.next()).value,
    ];
    expect(results.map((result) => eventOf(result).__typename)).toEqual([
      'MessageAdded',
      'PresenceChanged',
      'MessageAdded',
    ]);
    expect(eventOf(results[1]!).presence).toEqual({ status: 'OFFLINE' });
  });
});

describe('realtime engine when membership cannot be read', () => {
  it('tells the subscribers who might be in the audience that they lagged, at that event, then goes on', async () => {
    const log = createMemoryRealtimeLog({ prefix: 'engine-test:' });
    const memory = await groupOfAnnAndBob();
    let down = false;
    const projection: MembershipProjection = {
      ...memory,
      async snapshot(conversationId) {
        if (down) throw new Error('Redis is down');
        return memory.snapshot(conversationId);
      },
    };
    const engine = await start(log, projection);
    const stream = await subscribe(engine, ANN, null);
    const head = await log.head();

    down = true; // for every attempt at the first event
    await log.append([added(1)]);
    const lagged = (await stream.next()).value;
    down = false;
    await log.append([added(2)]);
    const read = await log.readAfter(head, 10);
    if (read.expired) throw new Error('fresh log expired');
    const [first, second] = read.events.map((event) => event.cursor);

    expect(lagged.data).toEqual({ events: { __typename: 'StreamResync', cursor: first, reason: 'LAGGING' } });
    expect(cursorOf((await stream.next()).value)).toBe(second);
  });
});
