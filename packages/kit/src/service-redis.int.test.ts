import { afterEach, describe, expect, it, vi } from 'vitest';
import { untypedTopic } from './topics.js';
import { startWithResources } from './resources.js';
import { openServiceRedis } from './service-redis.js';
import { deleteRedisKeys, testRedisPrefix, testRedisUrl } from './testing/index.js';

/** One service's clients, as its `start` opens them; `stop` is what stopping the service runs. */
const openService = (env: { REDIS_URL?: string; REDIS_PREFIX: string }) =>
  startWithResources(async (resources) => openServiceRedis(resources, env));

describe('openServiceRedis', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  const open = async (env: { REDIS_URL?: string; REDIS_PREFIX: string }) => {
    const service = await openService(env);
    stops.push(service.stop);
    return service;
  };

  it('without REDIS_URL, shares one bus, stream and realtime log between the services of a process with one prefix', async () => {
    const prefix = testRedisPrefix('in-process');
    const users = await open({ REDIS_PREFIX: prefix });
    const conversations = await open({ REDIS_PREFIX: prefix });
    const elsewhere = await open({ REDIS_PREFIX: testRedisPrefix('in-process') });
    expect(conversations.redis).toBeNull();
    expect(conversations.events).toBe(users.events);
    expect(conversations.stream).toBe(users.stream);
    expect(conversations.log).toBe(users.log);
    expect(elsewhere.events).not.toBe(users.events);
    expect(elsewhere.stream).not.toBe(users.stream);
    expect(elsewhere.log).not.toBe(users.log);

    const received: unknown[] = [];
    stops.push(
      await conversations.stream.consume(
        untypedTopic('work'),
        'conversations',
        async (p) => void received.push(p),
      ),
    );
    await users.stream.append(untypedTopic('work'), 'from users');
    await expect.poll(() => received).toEqual(['from users']);
  });

  it('without REDIS_URL, closes the shared bus when the last service using it stops, not the first', async () => {
    const prefix = testRedisPrefix('in-process');
    const first = await openService({ REDIS_PREFIX: prefix });
    const last = await openService({ REDIS_PREFIX: prefix });
    const close = vi.spyOn(last.events, 'close');
    await first.stop();
    await first.stop();
    expect(close).not.toHaveBeenCalled();

    const subscription = await last.events.subscribe(untypedTopic('topic'));
    await first.events.publish(untypedTopic('topic'), 'still open');
    const events = subscription[Symbol.asyncIterator]();
    expect((await events.next()).value).toBe('still open');
    await subscription.unsubscribe();

    await last.stop();
    expect(close).toHaveBeenCalledTimes(1);
    const next = await open({ REDIS_PREFIX: prefix });
    expect(next.events).not.toBe(last.events);
  });

  it('with REDIS_URL, connects the streams of services in different processes through Redis', async () => {
    const env = { REDIS_URL: testRedisUrl(), REDIS_PREFIX: testRedisPrefix('service-redis') };
    const producer = await open(env);
    const consumer = await open(env);
    expect(producer.redis).not.toBeNull();
    expect(consumer.stream).not.toBe(producer.stream);
    const received: unknown[] = [];
    stops.push(
      await consumer.stream.consume(
        untypedTopic('work'),
        'conversations',
        async (p) => void received.push(p),
      ),
    );
    await producer.stream.append(untypedTopic('work'), 'through Redis');
    await expect.poll(() => received).toEqual(['through Redis']);
    await producer.redis?.del(`${env.REDIS_PREFIX}stream:work`);
  });

  it('with REDIS_URL, shares the realtime log of services in different processes through Redis', async () => {
    const env = { REDIS_URL: testRedisUrl(), REDIS_PREFIX: testRedisPrefix('service-redis') };
    const messages = await open(env);
    const router = await open(env);
    const start = await router.log.head();
    await messages.log.append([{ id: 'test:1', topic: 'messages.added', payload: { n: 1 } }]);
    const read = await router.log.readAfter(start, 10);
    expect(read.expired ? null : read.events.map(({ id }) => id)).toEqual(['test:1']);
    await deleteRedisKeys(messages.redis!, env.REDIS_PREFIX);
  });
});
