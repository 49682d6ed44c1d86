import { randomUUID } from 'node:crypto';
import { createLogger, createMemoryEventStream, createMemoryRealtimeLog } from '@parley/kit';
import { createFlakyPubSub, createTestDatabase, type TestDatabase } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import type { MessageStore } from '../src/data/message-store.js';
import { createPostgresMessageStore } from '../src/data/postgres-message-store.js';
import { messageEvents, type MessageAddedEvent } from '../src/events.js';
import { createOutboxRelay } from '../src/outbox-relay.js';
import { migrationsDir } from '../src/service.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let database: TestDatabase;
let prisma: PrismaClient;
let messages: MessageStore;

beforeAll(async () => {
  database = await createTestDatabase('messages_outbox', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 4 });
  messages = createPostgresMessageStore(prisma);
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

const send = (conversationId: string) =>
  messages.send({
    conversationId,
    senderId: randomUUID(),
    clientMutationId: randomUUID(),
    requestHash: 'h',
    body: 'hello',
    replyTo: null,
    attachmentIds: [],
    mentionedUserIds: [],
  });

describe('messages outbox relay', () => {
  it('retries an event whose publish failed after commit until it is delivered, once', async () => {
    const events = createFlakyPubSub(1);
    const stream = createMemoryEventStream({ prefix: 'messages-outbox-test:' });
    const log = createMemoryRealtimeLog({ prefix: 'messages-outbox-test:' });
    const start = await log.head();
    const relay = createOutboxRelay({ messages, events, stream, log, logger });
    const appended: MessageAddedEvent[] = [];
    const stopConsumer = await stream.consume(messageEvents.added, 'test', async (payload) => {
      appended.push(payload);
    });
    const conversationId = randomUUID();
    const { message } = await send(conversationId);

    // The send committed; its event stays recorded while the broker refuses it.
    await expect(relay.flush()).rejects.toThrow('broker unavailable');
    expect(events.published).toEqual([]);

    await relay.flush();
    const expected = {
      conversationId,
      messageId: message.id,
      seq: 1,
      senderId: message.senderId,
      mentionedUserIds: [],
      threadRootId: null,
      attachmentIds: [],
    };
    expect(events.published).toEqual([expected]);
    // The durable stream has it too (conversations' unread counts); appends are at least once, and
    // applying one twice changes nothing there.
    await expect.poll(() => appended.at(-1)).toEqual(expected);
    // The realtime log got the batch twice (before the failed publish, and again) and stored it once.
    const logged = await log.readAfter(start, 10);
    expect(logged.expired ? null : logged.events.map(({ topic, payload }) => ({ topic, payload }))).toEqual([
      { topic: messageEvents.added.name, payload: expected },
    ]);

    // Nothing is left: later flushes deliver nothing more.
    await relay.flush();
    await relay.flush();
    expect(events.published).toHaveLength(1);
    await stopConsumer();
  });

  it('delivers events left by a process that died between commit and publish', async () => {
    // A send commits, then its process dies before its relay runs: the event waits in the store.
    const conversationId = randomUUID();
    await send(conversationId);
    await send(conversationId);
    // Another replica's relay, started later, delivers both in order.
    const events = createFlakyPubSub(0);
    const relay = createOutboxRelay({
      messages,
      events,
      stream: createMemoryEventStream({ prefix: 'messages-outbox-test:' }),
      log: createMemoryRealtimeLog({ prefix: 'messages-outbox-test:' }),
      logger,
    });
    await relay.flush();
    expect(
      events.published
        .filter((payload) => (payload as MessageAddedEvent).conversationId === conversationId)
        .map((payload) => (payload as MessageAddedEvent).seq),
    ).toEqual([1, 2]);
  });
});
