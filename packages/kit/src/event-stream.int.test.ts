import { Redis } from 'ioredis';
import { untypedTopic } from './topics.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisEventStream, type EventStream, type RedisEventStreamOptions } from './event-stream.js';
import { describeEventStreamContract, openTestRedis, testRedisPrefix } from './testing/index.js';

/** A Redis event stream on its own connection, as in one process; cleanup deletes its keys and disconnects. */
function openRedisStream(prefix: string, options: Partial<RedisEventStreamOptions> = {}) {
  const { built: stream, ...rest } = openTestRedis(prefix, (redis) =>
    createRedisEventStream({ redis, prefix, ...options }),
  );
  return { stream, ...rest };
}

describeEventStreamContract('redis', async ({ prefix }) => openRedisStream(prefix));

const eventually = <T>(read: () => T) => expect.poll(read, { timeout: 10_000, interval: 10 });

describe('Redis EventStream beyond the contract', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = (prefix: string, options: Partial<RedisEventStreamOptions> = {}) => {
    const instance = openRedisStream(prefix, options);
    cleanups.push(instance.cleanup);
    return instance;
  };
  const collect = async (
    stream: EventStream,
    handle: (payload: unknown) => Promise<void> = async () => {},
  ) => {
    const received: unknown[] = [];
    const stop = await stream.consume(untypedTopic('work'), 'workers', async (payload) => {
      await handle(payload);
      received.push(payload);
    });
    cleanups.push(stop);
    return { received, stop };
  };
  const pendingCount = async (redis: Redis, key: string) => {
    const [count] = (await redis.xpending(key, 'workers')) as [number];
    return count;
  };

  it('keeps the documented layout: one stream per topic, the JSON payload in field p', async () => {
    const prefix = testRedisPrefix('stream');
    const { stream, redis } = open(prefix);
    await stream.append(untypedTopic('work'), { conversationId: 'c1', seq: 3 });
    const [[, fields]] = (await redis.xrange(`${prefix}stream:work`, '-', '+')) as [[string, string[]]];
    expect(fields).toEqual(['p', '{"conversationId":"c1","seq":3}']);
  });

  it('trims each stream to about maxLength entries', async () => {
    const prefix = testRedisPrefix('stream');
    const { stream, redis } = open(prefix, { maxLength: 10 });
    for (let n = 0; n < 1_000; n += 1) await stream.append(untypedTopic('work'), n);
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default), never below maxLength.
    const length = await redis.xlen(`${prefix}stream:work`);
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(300);
  });

  it('acknowledges and skips entries that are not JSON in field p', async () => {
    const prefix = testRedisPrefix('stream');
    const { stream, redis } = open(prefix);
    const key = `${prefix}stream:work`;
    await redis.xadd(key, '*', 'p', '{not json');
    await redis.xadd(key, '*', 'other', '"x"');
    await stream.append(untypedTopic('work'), 'valid');
    const { received } = await collect(stream);
    await eventually(() => received).toEqual(['valid']);
    await eventually(() => pendingCount(redis, key)).toBe(0);
  });

  it('splits a group between consumers in two processes', async () => {
    const prefix = testRedisPrefix('stream');
    const first = await collect(open(prefix).stream);
    const second = await collect(open(prefix).stream);
    const { stream } = open(prefix);
    const numbers = Array.from({ length: 200 }, (_, index) => index);
    await Promise.all(numbers.map((n) => stream.append(untypedTopic('work'), n)));
    await eventually(() => first.received.length + second.received.length).toBe(numbers.length);
    expect(new Set([...first.received, ...second.received]).size).toBe(numbers.length);
  });

  /** A consumer of group `workers` that takes "in flight" from `work` and dies before acknowledging it. */
  async function crashWhileHandling(crashed: ReturnType<typeof open>) {
    let delivered = false;
    const stopCrashed = await crashed.stream.consume(untypedTopic('work'), 'workers', async () => {
      delivered = true;
      await new Promise<never>(() => {});
    });
    await crashed.stream.append(untypedTopic('work'), 'in flight');
    await eventually(() => delivered).toBe(true);
    // Never settles (the handler never resolves): it only drops the blocking connection, as a crash would.
    void stopCrashed();
    crashed.redis.disconnect();
  }

  it('redelivers to another consumer, after claimIdleMs, an entry a crashed consumer never acknowledged', async () => {
    const prefix = testRedisPrefix('stream');
    await crashWhileHandling(open(prefix));

    const { stream, redis } = open(prefix, { claimIdleMs: 50, blockMs: 100 });
    const survivor = await collect(stream);
    await eventually(() => survivor.received).toEqual(['in flight']);
    await stream.append(untypedTopic('work'), 'next');
    await eventually(() => survivor.received).toEqual(['in flight', 'next']);
    await eventually(() => pendingCount(redis, `${prefix}stream:work`)).toBe(0);
  });

  it('gives a consumer restarted under the same name what it held unacknowledged at once', async () => {
    const prefix = testRedisPrefix('stream');
    await crashWhileHandling(open(prefix, { consumerName: 'worker-1' }));

    // The default claimIdleMs (a minute) is far beyond this test's timeout: only the name brings it back.
    const restarted = await collect(open(prefix, { consumerName: 'worker-1' }).stream);
    await eventually(() => restarted.received).toEqual(['in flight']);
  });

  it('stops at once while blocked in XREADGROUP, and leaves no consumer behind', async () => {
    const prefix = testRedisPrefix('stream');
    const { stream, redis, connectionName } = open(prefix, { blockMs: 60_000 });
    const consumer = await collect(stream);
    await stream.append(untypedTopic('work'), 'one');
    await eventually(() => consumer.received).toEqual(['one']);
    // ioredis gives the duplicated connection the same name.
    const blocked = async () =>
      ((await redis.client('LIST')) as string)
        .split('\n')
        .some((line) => line.includes(`name=${connectionName}`) && line.includes('cmd=xreadgroup'));
    await eventually(blocked).toBe(true);
    const startedAt = Date.now();
    await consumer.stop();
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(await redis.xinfo('CONSUMERS', `${prefix}stream:work`, 'workers')).toEqual([]);
  });

  it('starts over when the stream and its group vanish (Redis restarted without persistence)', async () => {
    const prefix = testRedisPrefix('stream');
    const { stream, redis } = open(prefix, { blockMs: 100 });
    const consumer = await collect(stream);
    await stream.append(untypedTopic('work'), 'before');
    await eventually(() => consumer.received).toEqual(['before']);
    await redis.del(`${prefix}stream:work`);
    await stream.append(untypedTopic('work'), 'after');
    await eventually(() => consumer.received).toEqual(['before', 'after']);
  });

  it.each([
    ['maxLength', 0],
    ['blockMs', -1],
    ['claimIdleMs', 1.5],
  ] as const)('refuses %s %s', (option, value) => {
    expect(() => open(testRedisPrefix('stream'), { [option]: value })).toThrow(RangeError);
  });
});
