import { untypedTopic } from './topics.js';
import { describe, expect, it } from 'vitest';
import { createMemoryEventStream } from './event-stream.js';
import { describeEventStreamContract } from './testing/index.js';

describeEventStreamContract('memory', async ({ prefix }) => ({
  stream: createMemoryEventStream({ prefix }),
}));

const eventually = <T>(read: () => T) => expect.poll(read, { timeout: 10_000, interval: 10 });

describe('memory EventStream beyond the contract', () => {
  it('keeps about the last maxLength entries: a new group starts there, a group behind skips what was dropped', async () => {
    const stream = createMemoryEventStream({ prefix: 'parley-test:stream:', maxLength: 10 });
    const behind: unknown[] = [];
    let gate = Promise.resolve();
    let release = () => {};
    const stopBehind = await stream.consume(untypedTopic('work'), 'behind', async (payload) => {
      await gate;
      behind.push(payload);
    });
    gate = new Promise((resolve) => (release = resolve));
    for (let n = 0; n < 100; n += 1) await stream.append(untypedTopic('work'), n);
    const fresh: unknown[] = [];
    const stopFresh = await stream.consume(
      untypedTopic('work'),
      'fresh',
      async (payload) => void fresh.push(payload),
    );
    await eventually(() => fresh).toEqual(Array.from({ length: 10 }, (_, index) => 90 + index));
    release();
    await eventually(() => behind.at(-1)).toBe(99);
    expect(behind.length).toBeLessThan(20);
    await stopFresh();
    await stopBehind();
  });
});
