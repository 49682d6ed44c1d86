import { randomUUID } from 'node:crypto';
import { untypedTopic } from './topics.js';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisPubSub, type PubSub } from './pubsub.js';
import { describePubSubContract } from './testing/index.js';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A Redis PubSub on its own publisher and subscriber connections; `disconnect` is a no-op once `close` quit them. */
function openRedisPubSub(prefix: string) {
  const publisher = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  const disconnect = async () => {
    publisher.disconnect();
    subscriber.disconnect();
  };
  try {
    return {
      pubsub: createRedisPubSub({ publisher, subscriber, prefix }),
      publisher,
      subscriber,
      cleanup: disconnect,
    };
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw error;
  }
}

describePubSubContract('redis', async ({ prefix }) => openRedisPubSub(prefix));

describe('Redis PubSub beyond the contract', () => {
  const opened: Array<{ pubsub: PubSub; cleanup: () => Promise<void> }> = [];
  afterEach(async () => {
    for (const { pubsub, cleanup } of opened.splice(0)) {
      await pubsub.close();
      await cleanup();
    }
  });
  const open = (prefix: string) => {
    const instance = openRedisPubSub(prefix);
    opened.push(instance);
    return instance;
  };

  it('delivers between two PubSubs with the same prefix, as between two processes', async () => {
    const prefix = `parley-test:pubsub:${randomUUID()}:`;
    const sender = open(prefix).pubsub;
    const receiver = open(prefix).pubsub;
    const subscription = await receiver.subscribe(untypedTopic('room:1'));
    await sender.publish(untypedTopic('room:1'), { text: 'across processes' });
    const iterator = subscription[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ value: { text: 'across processes' }, done: false });
    await subscription.unsubscribe();
  });

  it('releases the Redis channel once its last subscriber leaves', async () => {
    const prefix = `parley-test:pubsub:${randomUUID()}:`;
    const { pubsub, publisher, subscriber } = open(prefix);
    const channel = `${prefix}room:1`;
    const first = await pubsub.subscribe(untypedTopic('room:1'));
    const second = await pubsub.subscribe(untypedTopic('room:1'));
    const subscriberCount = async () => {
      // Commands on one connection run in order: once PING answers, an earlier UNSUBSCRIBE has been applied.
      await subscriber.ping();
      const [, count] = (await publisher.pubsub('NUMSUB', channel)) as [string, number];
      return count;
    };
    expect(await subscriberCount()).toBe(1);
    await first.unsubscribe();
    expect(await subscriberCount()).toBe(1);
    await pubsub.publish(untypedTopic('room:1'), 'last');
    for await (const event of second) {
      expect(event).toBe('last');
      break;
    }
    expect(await subscriberCount()).toBe(0);
  });
});
