import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineTopic, untypedTopic } from './topics.js';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryPubSub, followTopic } from './pubsub.js';
import { describePubSubContract } from './testing/index.js';

describePubSubContract('memory', async ({ prefix }) => ({ pubsub: createMemoryPubSub({ prefix }) }));

describe('followTopic', () => {
  it('handles each event in order, goes on after a handler fails, and stops when asked', async () => {
    const pubsub = createMemoryPubSub({ prefix: `follow-${randomUUID()}:` });
    const warnings: unknown[] = [];
    const logger = { warn: (fields: unknown) => warnings.push(fields), error: () => {} } as never;
    const seen: number[] = [];
    const stop = await followTopic(
      pubsub,
      defineTopic('numbers', z.object({ n: z.number() })),
      ({ n }) => {
        if (n === 2) throw new Error('cannot handle 2');
        seen.push(n!);
      },
      logger,
    );
    for (const n of [1, 2, 3]) await pubsub.publish(untypedTopic('numbers'), { n });
    await vi.waitFor(() => expect(seen).toEqual([1, 3]));
    expect(warnings).toHaveLength(1);
    await stop();
    await pubsub.publish(untypedTopic('numbers'), { n: 4 });
    expect(seen).toEqual([1, 3]);
    await pubsub.close();
  });
});
