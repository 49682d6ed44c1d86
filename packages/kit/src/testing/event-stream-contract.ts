import { randomUUID } from 'node:crypto';
import { untypedTopic, type Topic } from '../topics.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStream } from '../event-stream.js';

export interface EventStreamContractInstance {
  stream: EventStream;
  /** Releases the stream's connections and whatever it stored (the suite stops its consumers first). */
  cleanup?: () => Promise<void>;
}

/**
 * Builds an event stream with the given key prefix. The suite picks a fresh random prefix per test, so
 * tests never see each other's entries.
 */
export type EventStreamContractFactory = (options: {
  prefix: string;
}) => Promise<EventStreamContractInstance>;

/** Waits for a delivery: handlers run with backoff on failure, so allow well beyond the first retry. */
const eventually = <T>(read: () => T) => expect.poll(read, { timeout: 10_000, interval: 10 });

/**
 * The one behavioural contract every EventStream implementation must meet. Nothing here sleeps: to show
 * an entry is NOT delivered again, a later entry is appended and must be the first (and only) to arrive;
 * a consumer handles its entries in order, so a redelivery would come before it.
 */
export function describeEventStreamContract(name: string, create: EventStreamContractFactory): void {
  describe(`EventStream contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function open(prefix = `parley-test:stream:${randomUUID()}:`): Promise<EventStream> {
      const instance = await create({ prefix });
      if (instance.cleanup) cleanups.push(instance.cleanup);
      return instance.stream;
    }

    /** Consumes into `received`; the suite stops the consumer after the test unless the test did. */
    async function collect(
      stream: EventStream,
      topic: Topic,
      group: string,
      handle: (payload: unknown) => Promise<void> = async () => {},
    ) {
      const received: unknown[] = [];
      const stop = await stream.consume(topic, group, async (payload) => {
        await handle(payload);
        received.push(payload);
      });
      cleanups.push(stop);
      return { received, stop };
    }

    it('delivers entries appended before the group existed (its consumer was down), then new ones, in order', async () => {
      const stream = await open();
      const numbers = Array.from({ length: 100 }, (_, index) => index);
      for (const n of numbers.slice(0, 50)) await stream.append(untypedTopic('work'), n);
      const { received } = await collect(stream, untypedTopic('work'), 'workers');
      for (const n of numbers.slice(50)) await stream.append(untypedTopic('work'), n);
      await eventually(() => received).toEqual(numbers);
    });

    it('round-trips payloads through JSON, and refuses a payload JSON cannot represent', async () => {
      const stream = await open();
      await expect(stream.append(untypedTopic('work'), undefined)).rejects.toThrow(TypeError);
      await stream.append(untypedTopic('work'), {
        at: new Date('2026-01-02T03:04:05.678Z'),
        body: 'héllo ✓',
        skip: undefined,
      });
      await stream.append(untypedTopic('work'), 'plain string');
      await stream.append(untypedTopic('work'), null);
      const { received } = await collect(stream, untypedTopic('work'), 'workers');
      await eventually(() => received).toStrictEqual([
        { at: '2026-01-02T03:04:05.678Z', body: 'héllo ✓' },
        'plain string',
        null,
      ]);
    });

    it('gives each entry to exactly one consumer of a group, and every entry to each group', async () => {
      const stream = await open();
      const numbers = Array.from({ length: 40 }, (_, index) => index);
      const first = await collect(stream, untypedTopic('work'), 'alpha');
      const second = await collect(stream, untypedTopic('work'), 'alpha');
      for (const n of numbers) await stream.append(untypedTopic('work'), n);
      await eventually(() => first.received.length + second.received.length).toBe(numbers.length);
      const shared = [...first.received, ...second.received] as number[];
      expect(shared.sort((a, b) => a - b)).toEqual(numbers);
      for (const { received } of [first, second]) {
        expect(received).toEqual([...(received as number[])].sort((a, b) => a - b));
      }
      // A group created afterwards starts at the beginning of the stream.
      const late = await collect(stream, untypedTopic('work'), 'beta');
      await eventually(() => late.received).toEqual(numbers);
    });

    it('delivers an entry again when its handler failed, then acknowledges it once it succeeded', async () => {
      const stream = await open();
      const attempts: unknown[] = [];
      let failures = 1;
      const { received, stop } = await collect(stream, untypedTopic('work'), 'workers', async (payload) => {
        attempts.push(payload);
        if (payload === 'b' && failures-- > 0) throw new Error('database unavailable');
      });
      for (const letter of ['a', 'b', 'c']) await stream.append(untypedTopic('work'), letter);
      await eventually(() => received).toEqual(['a', 'b', 'c']);
      expect(attempts).toEqual(['a', 'b', 'b', 'c']);
      await stop();
      await stream.append(untypedTopic('work'), 'd');
      const next = await collect(stream, untypedTopic('work'), 'workers');
      await eventually(() => next.received).toEqual(['d']);
    });

    it('resumes after a stop with what was appended meanwhile, without redelivering what was acknowledged', async () => {
      const stream = await open();
      const before = await collect(stream, untypedTopic('work'), 'workers');
      await stream.append(untypedTopic('work'), 1);
      await stream.append(untypedTopic('work'), 2);
      await eventually(() => before.received).toEqual([1, 2]);
      await before.stop();
      await stream.append(untypedTopic('work'), 3);
      await stream.append(untypedTopic('work'), 4);
      const after = await collect(stream, untypedTopic('work'), 'workers');
      await eventually(() => after.received).toEqual([3, 4]);
    });

    it('hands an entry whose handler was still failing at stop to the next consumer of the group', async () => {
      const stream = await open();
      let attempts = 0;
      const failing = await collect(stream, untypedTopic('work'), 'workers', async () => {
        attempts += 1;
        throw new Error('still failing');
      });
      await stream.append(untypedTopic('work'), 'stuck');
      await eventually(() => attempts).toBeGreaterThanOrEqual(2);
      await failing.stop();
      await stream.append(untypedTopic('work'), 'next');
      const healthy = await collect(stream, untypedTopic('work'), 'workers');
      await eventually(() => healthy.received).toEqual(['stuck', 'next']);
      expect(failing.received).toEqual([]);
    });

    it('stop waits for the handler in progress, and that entry counts as acknowledged', async () => {
      const stream = await open();
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = false;
      let finished = false;
      const slow = await collect(stream, untypedTopic('work'), 'workers', async (payload) => {
        if (payload !== 'slow') return;
        started = true;
        await gate;
        await new Promise((resolve) => setImmediate(resolve));
        finished = true;
      });
      await stream.append(untypedTopic('work'), 'slow');
      await eventually(() => started).toBe(true);
      const stopping = slow.stop();
      release();
      await stopping;
      expect(finished).toBe(true);
      await stream.append(untypedTopic('work'), 'after');
      const next = await collect(stream, untypedTopic('work'), 'workers');
      await eventually(() => next.received).toEqual(['after']);
    });

    it('keeps topics, and streams with different prefixes on the same backend, apart', async () => {
      const alpha = await open();
      const beta = await open();
      const betaWork = await collect(beta, untypedTopic('work'), 'workers');
      const betaOther = await collect(beta, untypedTopic('other'), 'workers');
      await alpha.append(untypedTopic('work'), 'alpha work');
      await beta.append(untypedTopic('other'), 'beta other');
      await beta.append(untypedTopic('work'), 'beta work');
      await eventually(() => betaWork.received).toEqual(['beta work']);
      await eventually(() => betaOther.received).toEqual(['beta other']);
      const alphaWork = await collect(alpha, untypedTopic('work'), 'workers');
      await eventually(() => alphaWork.received).toEqual(['alpha work']);
    });

    it.each(['', 'no-separator'])('refuses the prefix "%s" (required, ending in ":")', async (prefix) => {
      const attempt = create({ prefix }).then(async (instance) => {
        await instance.cleanup?.();
        return instance;
      });
      await expect(attempt).rejects.toThrow(/prefix/i);
    });
  });
}
