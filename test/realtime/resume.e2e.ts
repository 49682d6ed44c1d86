import { createLogger } from '@parley/kit';
import { readRouterEnv, subgraphUrlVariable } from '@parley/router/env';
import { startRouterService, type RunningRouter } from '@parley/router/service';
import {
  connectRealtime,
  createGraphQLClient,
  startParley,
  type Parley,
  type SignedInUser,
} from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup } from '../conversations/operations.js';
import { send } from '../messages/operations.js';
import {
  activeSubscriptions,
  codesOf,
  eventOf,
  nextEvent,
  nextMessage,
  subscribeConversation,
  subscribeEvents,
  summaryOf,
  takeMessages,
  useRealtime,
  type RouterTarget,
} from './operations.js';

let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;

beforeAll(async () => {
  parley = await startParley({ label: 'realtime_resume' });
  [ann, bob] = await parley.registerUsers('ann', 'bob');
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

describe('resuming with after', () => {
  it('delivers the 20 messages sent while away exactly once and in order, then live ones', async () => {
    const group = await createGroup(ann, [bob], 'Away');
    const away = await realtime.connect(bob);
    const first = subscribeEvents(away);
    await realtime.live(1);
    await send(ann, group.id, 'before');
    const { cursor } = await nextEvent(first);
    await away.close();

    const missed: number[] = [];
    for (let index = 1; index <= 20; index += 1)
      missed.push((await send(ann, group.id, `away ${index}`)).seq);

    const resumed = subscribeEvents(await realtime.connect(bob), cursor);
    const replayed = await takeMessages(resumed, 20);
    expect(replayed.map((event) => event.message!.seq)).toEqual(missed);
    expect(replayed.map((event) => event.message!.body)).toEqual(
      missed.map((_, index) => `away ${index + 1}`),
    );

    const live = await send(ann, group.id, 'back');
    expect(await nextMessage(resumed)).toMatchObject({ message: { seq: live.seq } });
    const messages = resumed.results.filter((result) => eventOf(result).__typename === 'MessageAdded');
    expect(messages).toHaveLength(21);
  });

  it('starts a resume from a cursor older than the log keeps with StreamResync CURSOR_EXPIRED, then live events', async () => {
    const group = await createGroup(ann, [bob], 'Expired');
    const away = await realtime.connect(bob);
    const first = subscribeEvents(away);
    await realtime.live(1);
    await send(ann, group.id, 'old');
    const { cursor } = await nextEvent(first);
    await away.close();
    await send(ann, group.id, 'trimmed away');
    await send(ann, group.id, 'kept');
    // Retention, at once: the kit's Redis realtime log is the stream `<prefix>realtime:log`; keep its last entry.
    const redis = new Redis(parley.redisUrl);
    try {
      await redis.xtrim(`${parley.redisPrefix}realtime:log`, 'MAXLEN', 1);
    } finally {
      redis.disconnect();
    }

    const resumed = subscribeEvents(await realtime.connect(bob), cursor);

    expect(await nextEvent(resumed)).toMatchObject({
      __typename: 'StreamResync',
      reason: 'CURSOR_EXPIRED',
      conversationId: null,
    });
    await send(ann, group.id, 'live again');
    expect(summaryOf([await nextMessage(resumed)])).toEqual(['MessageAdded live again']);
  });

  it('refuses an after that is not a cursor with BAD_USER_INPUT, on both subscriptions, and keeps the socket', async () => {
    const group = await createGroup(ann, [bob], 'Bad cursor');
    const socket = await realtime.connect(bob);

    const events = subscribeEvents(socket, 'not-a-cursor');
    const conversation = subscribeConversation(socket, group.id, 'not-a-cursor');

    expect(codesOf(await events.error)).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await conversation.error)).toEqual(['BAD_USER_INPUT']);
    const valid = subscribeConversation(socket, group.id);
    await realtime.live(1);
    await send(ann, group.id, 'after the refusals');
    expect(await nextEvent(valid)).toMatchObject({ message: { body: 'after the refusals' } });
  });
});

describe('two routers on one Redis', () => {
  let second: RunningRouter;
  let secondTarget: RouterTarget;
  /** A user's client of the second router. */
  const throughSecond = (user: SignedInUser): SignedInUser => ({
    ...user,
    client: createGraphQLClient({ url: `${second.url}/graphql`, token: user.accessToken }),
  });

  /** Another router on the platform's subgraphs and Redis. */
  const startRouter = (name: string) =>
    startRouterService(
      readRouterEnv({
        NODE_ENV: 'test',
        PORT: '0',
        REDIS_URL: parley.redisUrl,
        REDIS_PREFIX: parley.redisPrefix,
        ...Object.fromEntries(
          Object.entries(parley.subgraphUrls).map(([subgraph, url]) => [subgraphUrlVariable(subgraph), url]),
        ),
      }),
      createLogger({ service: name, level: 'silent' }),
    );

  beforeAll(async () => {
    second = await startRouter('router-2');
    secondTarget = { wsUrl: `${second.wsUrl}/graphql`, routerUrl: second.url };
  });

  afterAll(async () => {
    await second?.stop();
  });

  it('delivers to a subscriber of router 1 what was sent through router 2', async () => {
    const group = await createGroup(ann, [bob], 'Across');
    const events = subscribeEvents(await realtime.connect(bob));
    await realtime.live(1);

    const sent = await send(throughSecond(ann), group.id, 'via router 2');

    expect(await nextEvent(events)).toMatchObject({
      __typename: 'MessageAdded',
      conversationId: group.id,
      message: { id: sent.id, body: 'via router 2' },
    });
  });

  it('resumes on router 1 from a cursor received on router 2', async () => {
    const group = await createGroup(ann, [bob], 'Handover');
    const socket = await realtime.connect(bob, secondTarget);
    const onSecond = subscribeEvents(socket);
    await realtime.live(1, secondTarget);
    await send(ann, group.id, 'seen on router 2');
    const { cursor } = await nextEvent(onSecond);
    await socket.close();

    await send(ann, group.id, 'missed 1');
    await send(ann, group.id, 'missed 2');
    const onFirst = subscribeEvents(await realtime.connect(bob), cursor);

    const replayed = await takeMessages(onFirst, 2);
    expect(replayed.map((event) => event.message?.body)).toEqual(['missed 1', 'missed 2']);
    await send(ann, group.id, 'live');
    expect(await nextMessage(onFirst)).toMatchObject({ message: { body: 'live' } });
  });

  it('closes its sockets with 1001 when a router stops, and the client resumes elsewhere missing nothing', async () => {
    const group = await createGroup(ann, [bob], 'Restart');
    const leaving = await startRouter('router-3');
    const socket = await connectRealtime(`${leaving.wsUrl}/graphql`, { token: bob.accessToken });
    const events = subscribeEvents(socket);
    await expect.poll(() => activeSubscriptions(leaving.url)).toBe(1);
    await send(ann, group.id, 'before the restart');
    const { cursor } = await nextEvent(events);

    await leaving.stop();
    expect((await socket.closed).code).toBe(1001);
    await send(ann, group.id, 'during the restart');

    const resumed = subscribeEvents(await realtime.connect(bob), cursor);
    expect((await nextMessage(resumed)).message?.body).toBe('during the restart');
  });
});
