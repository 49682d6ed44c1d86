import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisRealtimeLog, type RealtimeLog, type RedisRealtimeLogOptions } from './realtime-log.js';
import {
  deleteRedisKeys,
  describeRealtimeLogContract,
  expectDeliveredOnce,
  followInto,
  numberedEvent,
  numberRange,
  numbersOf,
  openTestRedis,
  readAllAfter,
  testRedisPrefix,
} from './testing/index.js';

/** A Redis realtime log on its own named connection, as in one process; cleanup deletes its keys and disconnects. */
function openRedisLog(
  prefix: string,
  options: Partial<RedisRealtimeLogOptions> = {},
  redisOptions: RedisOptions = {},
) {
  const { built: log, ...rest } = openTestRedis(
    prefix,
    (redis) => createRedisRealtimeLog({ redis, prefix, ...options }),
    redisOptions,
  );
  return { log, ...rest };
}

describeRealtimeLogContract('redis', async ({ prefix, ...options }) => openRedisLog(prefix, options));

const eventually = <T>(read: () => T) => expect.poll(read, { timeout: 10_000, interval: 10 });

const readAll = async (log: RealtimeLog, cursor: string) => numbersOf(await readAllAfter(log, cursor));

/** Followers, connections and services the tests below opened, released after each test, newest first. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('Redis RealtimeLog beyond the contract', () => {
  const open = (
    prefix: string,
    options: Partial<RedisRealtimeLogOptions> = {},
    redisOptions: RedisOptions = {},
  ) => {
    const instance = openRedisLog(prefix, options, redisOptions);
    cleanups.push(instance.cleanup);
    return instance;
  };
  const follow = (log: RealtimeLog, cursor: string) => {
    const followed = followInto(log, cursor);
    cleanups.push(followed.stop);
    return followed;
  };
  /** Ids of the connections with `name`, and whether each is blocked in XREAD. */
  const clientsNamed = async (redis: Redis, name: string) =>
    ((await redis.client('LIST')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => ({ id: /\bid=(\d+)/.exec(line)?.[1] ?? '', reading: line.includes('cmd=xread') }));

  it('keeps the documented layout: a stream of event JSON in field e, an epoch, an expiring marker per id', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix, { dedupeSeconds: 120 });
    await log.append([{ id: 'messages:1', topic: 'messages', payload: { conversationId: 'c1' } }]);
    const [[id, fields]] = (await redis.xrange(`${prefix}realtime:log`, '-', '+')) as [[string, string[]]];
    expect(fields).toEqual([
      'e',
      '{"id":"messages:1","topic":"messages","payload":{"conversationId":"c1"}}',
      'p',
      '0-0',
    ]);
    const epoch = await redis.get(`${prefix}realtime:epoch`);
    expect(epoch).toMatch(/^[0-9a-f]{16}$/);
    expect(await log.head()).toBe(`${epoch}:${id}`);
    const ttl = await redis.ttl(`${prefix}realtime:seen:messages:1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('gives one epoch to every instance on one prefix, so a cursor from one router reads on another', async () => {
    const prefix = testRedisPrefix('realtime');
    const first = open(prefix).log;
    const second = open(prefix).log;
    const [headOfFirst, headOfSecond] = await Promise.all([first.head(), second.head()]);
    expect(headOfFirst).toBe(headOfSecond);
    await first.append([numberedEvent(1)]);
    expect(await readAll(second, headOfSecond)).toEqual([1]);
  });

  it('stores an id again once its marker expired', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix);
    const start = await log.head();
    await log.append([numberedEvent(1)]);
    await redis.del(`${prefix}realtime:seen:test:1`);
    await log.append([numberedEvent(1)]);
    expect(await readAll(log, start)).toEqual([1, 1]);
  });

  it('treats a lost log (its keys gone, as after a restart without persistence) as expired, and a follower resets', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix, { blockMs: 100 });
    const start = await log.head();
    const { timeline, resets } = follow(log, start);
    await log.append([numberedEvent(1)]);
    await eventually(() => timeline).toEqual([1]);
    const old = await log.head();

    await deleteRedisKeys(redis, prefix);
    expect(await log.readAfter(old, 10)).toEqual({ expired: true });
    expect(await log.readAfter(start, 10)).toEqual({ expired: true });
    await log.append([numberedEvent(2)]);
    await eventually(() => timeline).toEqual([1, 'reset', 2]);
    await log.append([numberedEvent(3)]);
    await eventually(() => timeline).toEqual([1, 'reset', 2, 3]);
    // The reset names where the follower went on: reading after it gives what it delivered since.
    expect(numbersOf(await readAllAfter(log, resets[0]!))).toEqual([2, 3]);
  });

  it('treats a log that went back in time (Redis came back with older data) as expired, and a follower resets', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix, { blockMs: 100 });
    const start = await log.head();
    await log.append([numberedEvent(1)]);
    const kept = await log.head();
    const { timeline, resets } = follow(log, kept);
    await log.append([numberedEvent(2), numberedEvent(3)]);
    await eventually(() => timeline).toEqual([2, 3]);
    const lost = await log.head();

    // What an AOF synced every second leaves after a crash: the last entries gone, the stream's last id back.
    const key = `${prefix}realtime:log`;
    const entries = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    await redis.xdel(key, ...entries.slice(1));
    await redis.xsetid(key, entries[0]!);

    expect(await log.readAfter(lost, 10)).toEqual({ expired: true });
    await eventually(() => timeline).toEqual([2, 3, 'reset']);
    await log.append([numberedEvent(4)]);
    await eventually(() => timeline).toEqual([2, 3, 'reset', 4]);
    expect(resets).toEqual([kept]);
    expect(numbersOf(await readAllAfter(log, start))).toEqual([1, 4]);
  });

  it('resets a follower of a lost log even before anything is appended to the new one', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix, { blockMs: 100 });
    await log.append([numberedEvent(1)]);
    const { timeline } = follow(log, await log.head());
    await deleteRedisKeys(redis, prefix);
    await eventually(() => timeline).toEqual(['reset']);
    await log.append([numberedEvent(2)]);
    await eventually(() => timeline).toEqual(['reset', 2]);
  });

  // By default ioredis sends the blocked read again once reconnected. With maxRetriesPerRequest 0 it fails the read
  // instead (the retry path); with autoResendUnfulfilledCommands off it would drop it unsettled, were it not forced on.
  it.each([
    ['by default', {}, false],
    ['with maxRetriesPerRequest 0', { maxRetriesPerRequest: 0 }, true],
    ['with autoResendUnfulfilledCommands off', { autoResendUnfulfilledCommands: false }, false],
  ] as const)(
    'survives its connections being killed %s, delivering what was appended meanwhile exactly once',
    async (_, redisOptions, reported) => {
      const prefix = testRedisPrefix('realtime');
      const { log, connectionName } = open(prefix, { blockMs: 60_000 }, redisOptions);
      const { log: appender, redis: admin } = open(prefix);
      const followed = follow(log, await log.head());
      await appender.append([numberedEvent(0)]);
      await eventually(() => followed.timeline).toEqual([0]);

      const followName = `${prefix}realtime:follow`;
      await eventually(async () =>
        (await clientsNamed(admin, followName)).some((client) => client.reading),
      ).toBe(true);
      const killed = [
        ...(await clientsNamed(admin, followName)),
        ...(await clientsNamed(admin, connectionName)),
      ];
      expect(killed).toHaveLength(2);
      for (const { id } of killed) await admin.client('KILL', 'ID', id);
      for (let n = 1; n < 20; n += 3) await appender.append(numberRange(n, n + 3).map(numberedEvent));

      await expectDeliveredOnce(appender, followed, numberRange(0, 22));
      expect(followed.errors.length > 0).toBe(reported);
    },
  );

  it('stops at once while blocked in XREAD, closing its connection', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix, { blockMs: 60_000 });
    const { stop } = follow(log, await log.head());
    const followName = `${prefix}realtime:follow`;
    await eventually(async () =>
      (await clientsNamed(redis, followName)).some((client) => client.reading),
    ).toBe(true);
    const startedAt = Date.now();
    await stop();
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await eventually(() => clientsNamed(redis, followName)).toEqual([]);
  });

  it('skips entries it did not write: readAfter pages past them, follow reports each to onError', async () => {
    const prefix = testRedisPrefix('realtime');
    const { log, redis } = open(prefix);
    const key = `${prefix}realtime:log`;
    const start = await log.head();
    await log.append([numberedEvent(1)]);
    await redis.xadd(key, '*', 'e', '{not json');
    await redis.xadd(key, '*', 'other', '{}');
    await redis.xadd(key, '*', 'e', JSON.stringify({ id: 'x', topic: 'messages', payload: [1] }));
    await log.append([numberedEvent(2)]);

    const read = await log.readAfter(start, 2);
    expect(read.expired === false && numbersOf(read.events)).toEqual([1, 2]);
    const { timeline, errors } = follow(log, start);
    await eventually(() => timeline).toEqual([1, 2]);
    expect(errors).toHaveLength(3);
  });

  it.each([
    ['maxLength', 0],
    ['dedupeSeconds', -1],
    ['blockMs', 1.5],
  ] as const)('refuses %s %s', (option, value) => {
    expect(() => open(testRedisPrefix('realtime'), { [option]: value })).toThrow(RangeError);
  });
});
