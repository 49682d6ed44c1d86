import { createMemoryPubSub, type PubSub } from '../pubsub.js';

/**
 * An in-process bus that refuses its first `failures` publishes, as Redis going away after a commit
 * would: for outbox tests. `published` lists what it accepted, in order.
 */
export function createFlakyPubSub(failures: number, prefix = 'flaky-test:') {
  const inner = createMemoryPubSub({ prefix });
  let refused = 0;
  const broker: PubSub & { published: unknown[] } = {
    published: [],
    async publish(topic, payload) {
      if (refused < failures) {
        refused += 1;
        throw new Error('broker unavailable');
      }
      await inner.publish(topic, payload);
      broker.published.push(payload);
    },
    subscribe: (topic) => inner.subscribe(topic),
    close: () => inner.close(),
  };
  return broker;
}
