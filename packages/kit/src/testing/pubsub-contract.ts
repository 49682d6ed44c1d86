import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineTopic, untypedTopic, type Topic } from '../topics.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_UNREAD_EVENTS, PubSubOverflowError, type PubSub, type PubSubSubscription } from '../pubsub.js';

export interface PubSubContractInstance {
  pubsub: PubSub;
  /** Releases what `pubsub.close()` does not (the suite always closes the PubSub first). */
  cleanup?: () => Promise<void>;
}

/**
 * Builds a PubSub with the given channel prefix. Every call made during one test must reach the same
 * backend (the same Redis server, say), so that prefix isolation is really put to the test. The suite
 * picks a fresh random prefix per test, so tests never see each other's events.
 */
export type PubSubContractFactory = (options: { prefix: string }) => Promise<PubSubContractInstance>;

/** Reads a subscription one event at a time; a lost event shows up as a test that never completes. */
function reader<T>(subscription: PubSubSubscription<T>) {
  const iterator = subscription[Symbol.asyncIterator]();
  const next = async (): Promise<T> => {
    const result = await iterator.next();
    if (result.done) throw new Error('The subscription ended while an event was expected');
    return result.value;
  };
  const take = async (count: number): Promise<T[]> => {
    const events: T[] = [];
    while (events.length < count) events.push(await next());
    return events;
  };
  return { iterator, next, take };
}

/**
 * The one behavioural contract every PubSub implementation must meet. Nothing here
 * sleeps: to show an event is NOT delivered, a sentinel is published afterwards along the same path and
 * must be the first thing that arrives.
 */
export function describePubSubContract(name: string, create: PubSubContractFactory): void {
  describe(`PubSub contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const randomPrefix = () => `parley-test:pubsub:${randomUUID()}:`;

    async function open(prefix = randomPrefix()): Promise<PubSub> {
      const instance = await create({ prefix });
      cleanups.push(async () => {
        await instance.pubsub.close();
        await instance.cleanup?.();
      });
      return instance.pubsub;
    }

    async function subscribe(pubsub: PubSub, topic: Topic) {
      const subscription = await pubsub.subscribe(topic);
      cleanups.push(() => subscription.unsubscribe());
      return { subscription, ...reader(subscription) };
    }

    it('delivers an event published after subscribe resolves', async () => {
      const pubsub = await open();
      const room = await subscribe(pubsub, untypedTopic('room:1'));
      await pubsub.publish(untypedTopic('room:1'), { text: 'hello' });
      expect(await room.next()).toEqual({ text: 'hello' });
    });

    it('round-trips payloads through JSON: a Date arrives as its ISO string, undefined fields vanish', async () => {
      const pubsub = await open();
      const room = await subscribe(pubsub, untypedTopic('room:1'));
      const sentAt = new Date('2026-01-02T03:04:05.678Z');
      await pubsub.publish(untypedTopic('room:1'), {
        sentAt,
        body: 'héllo ✓',
        tags: [1, 'two', null, true],
        draft: undefined,
      });
      await pubsub.publish(untypedTopic('room:1'), 'plain string');
      await pubsub.publish(untypedTopic('room:1'), null);
      expect(await room.take(3)).toStrictEqual([
        { sentAt: '2026-01-02T03:04:05.678Z', body: 'héllo ✓', tags: [1, 'two', null, true] },
        'plain string',
        null,
      ]);
    });

    it('refuses to publish a payload JSON cannot represent, and subscribers keep working', async () => {
      const pubsub = await open();
      const room = await subscribe(pubsub, untypedTopic('room:1'));
      await expect(pubsub.publish(untypedTopic('room:1'), undefined)).rejects.toThrow(TypeError);
      await pubsub.publish(untypedTopic('room:1'), 'sentinel');
      expect(await room.next()).toBe('sentinel');
    });

    it('delivers 200 events on one topic in publish order, across the switch from buffered to live', async () => {
      const pubsub = await open();
      const room = await subscribe(pubsub, untypedTopic('room:1'));
      const numbers = Array.from({ length: 200 }, (_, index) => index);
      // Half is published before anyone reads, half while the reader is draining the first half.
      for (const n of numbers.slice(0, 100)) await pubsub.publish(untypedTopic('room:1'), n);
      const received = room.take(200);
      for (const n of numbers.slice(100)) await pubsub.publish(untypedTopic('room:1'), n);
      expect(await received).toEqual(numbers);
    });

    it('delivers only the topic subscribed to, with no prefix or pattern matching between topics', async () => {
      const pubsub = await open();
      const exact = await subscribe(pubsub, untypedTopic('room:1'));
      const longer = await subscribe(pubsub, untypedTopic('room:10'));
      const glob = await subscribe(pubsub, untypedTopic('room:*'));
      await pubsub.publish(untypedTopic('room:10'), 'for room:10');
      await pubsub.publish(untypedTopic('room:1'), 'for room:1');
      await pubsub.publish(untypedTopic('room:*'), 'for room:*');
      expect(await exact.next()).toBe('for room:1');
      expect(await longer.next()).toBe('for room:10');
      expect(await glob.next()).toBe('for room:*');
    });

    it('gives every event to each of two subscribers on one topic', async () => {
      const pubsub = await open();
      const first = await subscribe(pubsub, untypedTopic('room:1'));
      const second = await subscribe(pubsub, untypedTopic('room:1'));
      await pubsub.publish(untypedTopic('room:1'), 'a');
      await pubsub.publish(untypedTopic('room:1'), 'b');
      expect(await first.take(2)).toEqual(['a', 'b']);
      expect(await second.take(2)).toEqual(['a', 'b']);
    });

    it('unsubscribe ends the iterator, including a pending next(), and leaves other subscribers alone', async () => {
      const pubsub = await open();
      const leaving = await subscribe(pubsub, untypedTopic('room:1'));
      const staying = await subscribe(pubsub, untypedTopic('room:1'));
      const pending = leaving.iterator.next();
      await leaving.subscription.unsubscribe();
      expect(await pending).toMatchObject({ done: true });
      await pubsub.publish(untypedTopic('room:1'), 'after unsubscribe');
      expect(await staying.next()).toBe('after unsubscribe');
      expect(await leaving.iterator.next()).toMatchObject({ done: true });
      await expect(leaving.subscription.unsubscribe()).resolves.toBeUndefined();
    });

    it('unsubscribe before the first next() ends the iterator without delivering', async () => {
      const pubsub = await open();
      const leaving = await subscribe(pubsub, untypedTopic('room:1'));
      await pubsub.publish(untypedTopic('room:1'), 'before unsubscribe');
      await leaving.subscription.unsubscribe();
      expect(await leaving.iterator.next()).toMatchObject({ done: true });
    });

    it('keeps events that arrive after subscribe resolved but before the first next()', async () => {
      const pubsub = await open();
      const late = await subscribe(pubsub, untypedTopic('room:1'));
      // A second subscriber on the same topic proves the events reached this process before `late` reads.
      const witness = await subscribe(pubsub, untypedTopic('room:1'));
      for (const n of [1, 2, 3]) await pubsub.publish(untypedTopic('room:1'), n);
      expect(await witness.take(3)).toEqual([1, 2, 3]);
      expect(await late.next()).toBe(1);
      // Arrives while `late` is still handing out the buffered events.
      await pubsub.publish(untypedTopic('room:1'), 4);
      expect(await witness.next()).toBe(4);
      expect(await late.take(3)).toEqual([2, 3, 4]);
    });

    it('isolates PubSubs with different prefixes on the same backend', async () => {
      const alpha = await open();
      const beta = await open();
      const alphaRoom = await subscribe(alpha, untypedTopic('room:1'));
      const betaRoom = await subscribe(beta, untypedTopic('room:1'));
      await alpha.publish(untypedTopic('room:1'), 'from alpha');
      await beta.publish(untypedTopic('room:1'), 'from beta');
      await alpha.publish(untypedTopic('room:1'), 'alpha sentinel');
      expect(await betaRoom.next()).toBe('from beta');
      expect(await alphaRoom.take(2)).toEqual(['from alpha', 'alpha sentinel']);
    });

    it.each(['', 'no-separator'])('refuses the prefix "%s" (required, ending in ":")', async (prefix) => {
      const attempt = create({ prefix }).then(async (instance) => {
        await instance.pubsub.close();
        await instance.cleanup?.();
        return instance;
      });
      await expect(attempt).rejects.toThrow(/prefix/i);
    });

    it('ends a subscription that leaves too many events unread with PubSubOverflowError, without crashing', async () => {
      const pubsub = await open();
      const topic = defineTopic('flood', z.number());
      const subscription = await pubsub.subscribe(topic);
      const total = MAX_UNREAD_EVENTS + 1_100;
      for (let i = 0; i < total; i++) await pubsub.publish(topic, i);
      await pubsub.publish(topic, -1);
      const received: number[] = [];
      const outcome = await (async () => {
        try {
          for await (const value of subscription) received.push(value);
          return 'ended';
        } catch (error) {
          return error;
        }
      })();
      expect(outcome).toBeInstanceOf(PubSubOverflowError);
      // What was buffered is delivered in order before the error.
      expect(received.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
      expect(received.length).toBeGreaterThanOrEqual(MAX_UNREAD_EVENTS);
      expect(received.length).toBeLessThan(total);
    });
  });
}
