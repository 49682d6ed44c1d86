import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMemoryEventStream } from './event-stream.js';
import { createLogger } from './logger.js';
import { createMemoryPubSub } from './pubsub.js';
import { defineTopic, InvalidPayloadError, readPayload, topicRegistry, untypedTopic } from './topics.js';

const noteAdded = defineTopic(
  'notes.added',
  z.object({ noteId: z.string(), tags: z.array(z.string()).default([]) }),
);
const noteRemoved = defineTopic('notes.removed', z.object({ noteId: z.string() }));

describe('topics', () => {
  it('read a payload as the producer declared it, and refuse one that is not', () => {
    expect(readPayload(noteAdded, { noteId: 'n1' })).toEqual({ noteId: 'n1', tags: [] });
    expect(() => readPayload(noteAdded, { note: 'n1' })).toThrow(InvalidPayloadError);
  });

  it('find the topic of a stored name, and refuse a name nobody declared', () => {
    const topicNamed = topicRegistry({ noteAdded, noteRemoved });
    expect(topicNamed('notes.removed')).toBe(noteRemoved);
    expect(() => topicNamed('notes.renamed')).toThrow(/Unknown topic notes.renamed/);
  });

  it('are what the bus and the streams take: a name alone, or a payload of another shape, does not compile', async () => {
    const bus = createMemoryPubSub({ prefix: `topics-${randomUUID()}:` });
    const stream = createMemoryEventStream({ prefix: `topics-${randomUUID()}:` });
    const attempts = [
      // @ts-expect-error a topic's name is not a topic: a misspelt one cannot be followed
      () => bus.subscribe('notes.added'),
      // @ts-expect-error the payload must be the topic's
      () => bus.publish(noteAdded, { noteId: 1 }),
      // @ts-expect-error a topic's name is not a topic
      () => stream.consume('notes.added', 'group', async () => {}),
    ];
    expect(attempts).toHaveLength(3);
    // And at run time a producer's mistake is refused before anyone receives it.
    await expect(bus.publish(noteAdded, { noteId: 1 } as never)).rejects.toThrow(InvalidPayloadError);
    await expect(stream.append(noteAdded, {} as never)).rejects.toThrow(InvalidPayloadError);
    await bus.close();
  });

  it('a stream consumer passes over an entry that does not match its topic (reporting it) and goes on', async () => {
    const errors: unknown[] = [];
    const logger = createLogger({ service: 'topics-test', level: 'silent' });
    logger.error = ((fields: unknown) => void errors.push(fields)) as typeof logger.error;
    const stream = createMemoryEventStream({ prefix: `topics-${randomUUID()}:`, logger });
    // Written by a producer that disagrees (another version), then a good one.
    await stream.append(untypedTopic(noteAdded.name), { note: 'old shape' });
    await stream.append(noteAdded, { noteId: 'n2', tags: ['a'] });
    const received: unknown[] = [];
    const stop = await stream.consume(noteAdded, 'readers', async (payload) => {
      received.push(payload);
    });
    await expect.poll(() => received).toEqual([{ noteId: 'n2', tags: ['a'] }]);
    await stop();
    expect(errors).toEqual([expect.objectContaining({ topic: 'notes.added', group: 'readers' })]);
  });
});
