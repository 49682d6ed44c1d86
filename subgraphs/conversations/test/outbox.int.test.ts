import { randomUUID } from 'node:crypto';
import { createLogger, createMemoryRealtimeLog, type PubSub } from '@parley/kit';
import { createMemoryMembershipProjection } from '@parley/membership';
import { createFlakyPubSub, createTestDatabase, type TestDatabase } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConversationStore } from '../src/data/conversation-store.js';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { addOutboxEvent, createOutboxRelay } from '../src/data/outbox.js';
import { conversationEvents } from '../src/events.js';
import { migrationsDir } from '../src/service.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase('outbox', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 4 });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

function relayWith(events: PubSub) {
  const projection = createMemoryMembershipProjection({ prefix: 'outbox-test:' });
  const log = createMemoryRealtimeLog({ prefix: 'outbox-test:' });
  const relay = createOutboxRelay({
    prisma,
    conversations: createConversationStore(prisma),
    projection,
    events,
    log,
    logger,
  });
  return { relay, projection, log };
}

async function createGroupRow(ownerId: string) {
  return prisma.conversation.create({
    data: {
      kind: 'GROUP',
      title: 'Outbox',
      createdById: ownerId,
      memberCount: 1,
      members: { create: [{ userId: ownerId, role: 'OWNER' }] },
    },
  });
}

describe('outbox relay', () => {
  it('delivers an event whose first publish failed after commit, exactly once, and syncs the projection', async () => {
    const events = createFlakyPubSub(1);
    const { relay, projection, log } = relayWith(events);
    const start = await log.head();
    const ownerId = randomUUID();
    const conversation = await createGroupRow(ownerId);
    const received = await events.subscribe(conversationEvents.memberAdded);
    const iterator = received[Symbol.asyncIterator]();
    await prisma.$transaction((tx) =>
      addOutboxEvent(
        tx,
        conversationEvents.memberAdded,
        { conversationId: conversation.id, userId: ownerId, byUserId: ownerId },
        { membershipChanged: true },
      ),
    );

    await expect(relay.flush()).rejects.toThrow('broker unavailable');
    expect(await prisma.outboxEvent.count({ where: { conversationId: conversation.id } })).toBe(1);

    await relay.flush();
    expect((await iterator.next()).value).toEqual({
      conversationId: conversation.id,
      userId: ownerId,
      byUserId: ownerId,
    });
    expect(await prisma.outboxEvent.count({ where: { conversationId: conversation.id } })).toBe(0);
    expect(await projection.membershipsOf(ownerId, [conversation.id])).toEqual([
      { role: 'OWNER', kind: 'GROUP' },
    ]);

    // The realtime log got the batch twice (before the failed publish, and again) and stored it once.
    const logged = await log.readAfter(start, 10);
    expect(logged.expired ? null : logged.events.map(({ topic, payload }) => ({ topic, payload }))).toEqual([
      {
        topic: conversationEvents.memberAdded.name,
        payload: { conversationId: conversation.id, userId: ownerId, byUserId: ownerId },
      },
    ]);

    // Nothing left to deliver: a further flush publishes nothing more.
    expect(events.published).toHaveLength(1);
    await relay.flush();
    expect(events.published).toHaveLength(1);
    await received.unsubscribe();
  });

  it('writes nothing for a transaction that rolled back', async () => {
    const events = createFlakyPubSub(0);
    const { relay } = relayWith(events);
    const conversationId = randomUUID();
    await expect(
      prisma.$transaction(async (tx) => {
        await addOutboxEvent(tx, conversationEvents.updated, { conversationId, byUserId: randomUUID() });
        throw new Error('refused after the event was written');
      }),
    ).rejects.toThrow('refused');
    expect(
      await prisma.outboxEvent.count({
        where: { payload: { path: ['conversationId'], equals: conversationId } },
      }),
    ).toBe(0);
    await relay.flush();
  });

  it('marks a deleted conversation deleted in the projection, outranking any earlier version', async () => {
    const { relay, projection } = relayWith(createFlakyPubSub(0));
    const ownerId = randomUUID();
    const conversation = await createGroupRow(ownerId);
    await relay.syncProjection(conversation.id);
    expect(await projection.membershipsOf(ownerId, [conversation.id])).toEqual([
      { role: 'OWNER', kind: 'GROUP' },
    ]);
    await prisma.conversation.delete({ where: { id: conversation.id } });
    expect(await relay.syncProjection(conversation.id)).toBe(false);
    expect(await projection.membershipsOf(ownerId, [conversation.id])).toEqual([null]);
    expect((await projection.snapshot(conversation.id))?.kind).toBeNull();
    // A late write of an old version cannot bring it back.
    expect(
      await projection.replace(conversation.id, 99, {
        kind: 'GROUP',
        members: new Map([[ownerId, 'OWNER']]),
      }),
    ).toBe(false);
  });

  it("syncs a direct conversation's kind with its members and version", async () => {
    const { relay, projection } = relayWith(createFlakyPubSub(0));
    const [low, high] = [randomUUID(), randomUUID()].sort();
    const conversation = await prisma.conversation.create({
      data: {
        kind: 'DIRECT',
        directKey: `${low}:${high}`,
        createdById: low!,
        memberCount: 2,
        members: {
          create: [
            { userId: low!, role: 'MEMBER' },
            { userId: high!, role: 'MEMBER' },
          ],
        },
      },
    });
    expect(await relay.syncProjection(conversation.id)).toBe(true);
    expect(await projection.snapshot(conversation.id)).toEqual({
      version: conversation.membershipVersion,
      deleted: false,
      kind: 'DIRECT',
      members: new Map([
        [low, 'MEMBER'],
        [high, 'MEMBER'],
      ]),
    });
  });
});
