import { FixedBuffer, Repeater } from '@repeaterjs/repeater';
import { RedisPubSub as GraphqlRedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from './env.js';
import type { Logger } from './logger.js';
import { closeRedis } from './redis-close.js';
import { readPayload, type PayloadInputOf, type PayloadOf, type Topic } from './topics.js';

/**
 * Events between services. Payloads are JSON: both implementations round-trip them through JSON so a
 * test against one holds for the other (Dates arrive as ISO strings).
 */
export interface PubSub {
  /** Publishes a payload of `topic` (checked against its schema). */
  publish<T extends Topic>(topic: T, payload: PayloadInputOf<T>): Promise<void>;
  /**
   * Resolves once the subscription is live: an event published after that is delivered, as its topic's schema
   * reads it (one that does not match is logged and passed over).
   */
  subscribe<T extends Topic>(topic: T): Promise<PubSubSubscription<PayloadOf<T>>>;
  close(): Promise<void>;
}

export interface PubSubSubscription<T> extends AsyncIterable<T> {
  unsubscribe(): Promise<void>;
}

type Listener = (payload: unknown) => void;

interface Transport {
  publish(topic: string, message: string): Promise<void>;
  listen(topic: string, onMessage: (message: string) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** Events a subscriber may leave unread before its subscription is ended with PubSubOverflowError. */
export const MAX_UNREAD_EVENTS = 10_000;

export class PubSubOverflowError extends Error {
  constructor(topic: string, limit: number) {
    super(`Subscriber to ${topic} left more than ${limit} events unread; resubscribe and resync`);
    this.name = 'PubSubOverflowError';
  }
}

function createPubSub(prefix: string, transport: Transport, logger: Logger | undefined): PubSub {
  if (!KEY_PREFIX.test(prefix))
    throw new Error(`A PubSub channel prefix is required and must end with ":" (got "${prefix}")`);

  return {
    async publish(topic, payload) {
      readPayload(topic, payload);
      const message = JSON.stringify(payload) as string | undefined;
      // `undefined` (or a function) has no JSON form; sent anyway, it would crash every subscriber's JSON.parse.
      if (message === undefined) {
        throw new TypeError(`PubSub payload for ${topic.name} is not representable as JSON`);
      }
      await transport.publish(prefix + topic.name, message);
    },
    async subscribe<T extends Topic>(topic: T) {
      type Payload = PayloadOf<T>;
      // Events that arrive between `listen` resolving and the first `next()` are kept, not dropped.
      // Up to MAX_UNREAD_EVENTS of them: past that the subscription ends with an overflow, as below.
      const buffered: unknown[] = [];
      let overflowedBeforeFirstRead = false;
      let push: Listener = (payload) => {
        if (buffered.length < MAX_UNREAD_EVENTS) buffered.push(payload);
        else overflowedBeforeFirstRead = true;
      };
      const stopListening = await transport.listen(prefix + topic.name, (message) => {
        let payload: Payload;
        try {
          payload = readPayload(topic, JSON.parse(message));
        } catch (error) {
          logger?.error({ err: error, topic: topic.name }, 'event passed over: not what its topic declares');
          return;
        }
        push(payload);
      });
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        stopListening();
      };
      const events = new Repeater<Payload>(async (emit, stopRepeater) => {
        const deliver: Listener = (payload) => {
          try {
            void emit(payload as Payload);
          } catch {
            // The repeater refuses more once its buffer and pending queue are full. Ending the stream
            // with an error tells a consumer that fell this far behind to resync; dropping events
            // silently, or throwing inside the broker's callback, would not.
            stopRepeater(new PubSubOverflowError(topic.name, MAX_UNREAD_EVENTS));
          }
        };
        // Hand over synchronously: awaiting each emit would let events arriving meanwhile land in `buffered` and be lost.
        for (const payload of buffered.splice(0)) deliver(payload);
        if (overflowedBeforeFirstRead) stopRepeater(new PubSubOverflowError(topic.name, MAX_UNREAD_EVENTS));
        push = deliver;
        await stopRepeater;
        await stop();
      }, new FixedBuffer(MAX_UNREAD_EVENTS));
      return {
        [Symbol.asyncIterator]: () => events[Symbol.asyncIterator](),
        async unsubscribe() {
          await stop();
          await events.return();
        },
      };
    },
    close: () => transport.close(),
  };
}

/** In-process broker for the embedded single-process mode and for tests of a single service. */
export function createMemoryPubSub({ prefix, logger }: { prefix: string; logger?: Logger }): PubSub {
  const listeners = new Map<string, Set<(message: string) => void>>();
  return createPubSub(
    prefix,
    {
      async publish(channel, message) {
        for (const listener of [...(listeners.get(channel) ?? [])]) queueMicrotask(() => listener(message));
      },
      async listen(channel, onMessage) {
        const set = listeners.get(channel) ?? new Set();
        set.add(onMessage);
        listeners.set(channel, set);
        return () => {
          set.delete(onMessage);
          if (set.size === 0) listeners.delete(channel);
        };
      },
      async close() {
        listeners.clear();
      },
    },
    logger,
  );
}

export interface RedisPubSubOptions {
  /** Separate connections: a connection in subscriber mode cannot publish. */
  publisher: Redis;
  subscriber: Redis;
  /** Required, so several deployments (or test workers) can share one Redis. */
  prefix: string;
  /** Where events that do not match their topic are reported. */
  logger?: Logger;
}

/** Redis pub/sub through graphql-redis-subscriptions, the engine the router's subscriptions use. */
export function createRedisPubSub({ publisher, subscriber, prefix, logger }: RedisPubSubOptions): PubSub {
  const redisPubSub = new GraphqlRedisPubSub({
    publisher,
    subscriber,
    serializer: (message) => message as string,
    deserializer: (message) => message,
  });
  return createPubSub(
    prefix,
    {
      async publish(channel, message) {
        await redisPubSub.publish(channel, message);
      },
      async listen(channel, onMessage) {
        const id = await redisPubSub.subscribe(channel, (message: string) => onMessage(message));
        return () => redisPubSub.unsubscribe(id);
      },
      async close() {
        // Not redisPubSub.close(): its QUIT fails on a connection that is down, which then reconnects forever.
        await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
      },
    },
    logger,
  );
}

/**
 * Handles every event of `topic` as it arrives, one at a time; a handler that fails is logged and the next
 * event handled. Resolves once listening (events published after that arrive); returns a stop function that
 * waits for the handler in progress.
 */
export async function followTopic<T extends Topic>(
  events: PubSub,
  topic: T,
  handle: (event: PayloadOf<T>) => Promise<void> | void,
  logger: Logger,
): Promise<() => Promise<void>> {
  const subscription = await events.subscribe(topic);
  const handled = (async () => {
    for await (const event of subscription) {
      try {
        await handle(event);
      } catch (error) {
        logger.warn({ err: error, topic: topic.name }, 'event not handled');
      }
    }
  })().catch((error: unknown) =>
    logger.error({ err: error, topic: topic.name }, 'events are no longer followed'),
  );
  return async () => {
    await subscription.unsubscribe();
    await handled;
  };
}
