import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger,
  createRedisEventStream,
  createRedisPubSub,
  type EventStream,
  type RunningService,
  untypedTopic,
} from '@parley/kit';
import { createTestDatabase, testRedisPrefix, testRedisUrl, type TestDatabase } from '@parley/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { readConversationsEnv, type ConversationsEnv } from '../src/env.js';
import { messageEvents } from '@parley/messages/events';
import { conversationEvents, type ReadEvent } from '../src/events.js';
import { startConversationsService } from '../src/service.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let database: TestDatabase;
let dataDir: string;
let env: ConversationsEnv;
let prisma: PrismaClient;
let redis: Redis;
let stream: EventStream;
let service: RunningService | undefined;

beforeAll(async () => {
  database = await createTestDatabase('message_activity');
  dataDir = await mkdtemp(join(tmpdir(), 'message-activity-'));
  const prefix = testRedisPrefix('message-activity');
  env = readConversationsEnv({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    PORT: '0',
    METRICS_PORT: '0',
    EMBEDDED_DATA_DIR: dataDir,
    // Nothing listens there: the users service is down for these tests.
    USERS_SUBGRAPH_URL: 'http://127.0.0.1:9/graphql',
  });
  // The first start applies the migrations this client needs.
  service = await startConversationsService(env, logger);
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 2 });
  redis = new Redis(testRedisUrl());
  stream = createRedisEventStream({ redis, prefix });
});

afterAll(async () => {
  await service?.stop();
  await prisma?.$disconnect();
  redis?.disconnect();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function createGroupRow(ownerId: string, memberIds: string[]) {
  return prisma.conversation.create({
    data: {
      kind: 'GROUP',
      title: 'Durable',
      createdById: ownerId,
      memberCount: 1 + memberIds.length,
      members: {
        create: [
          { userId: ownerId, role: 'OWNER' },
          ...memberIds.map((userId) => ({ userId, role: 'MEMBER' as const })),
        ],
      },
    },
  });
}

const messageAdded = (
  conversationId: string,
  seq: number,
  senderId: string,
  mentionedUserIds: string[] = [],
) =>
  stream.append(messageEvents.added, {
    conversationId,
    messageId: randomUUID(),
    seq,
    senderId,
    mentionedUserIds,
  });

describe('messages.added from the durable stream', () => {
  it('applies events appended while the service was stopped once it starts again, skipping malformed ones', async () => {
    const [ann, ben] = [randomUUID(), randomUUID()];
    const group = await createGroupRow(ann, [ben]);
    const lastSeq = async () =>
      (await prisma.conversation.findUniqueOrThrow({ where: { id: group.id } })).lastSeq;

    await messageAdded(group.id, 1, ben);
    await expect.poll(lastSeq, { timeout: 10_000, interval: 20 }).toBe(1);

    await service?.stop();
    service = undefined;
    await messageAdded(group.id, 2, ben, [ann]);
    // From a producer that disagrees with the declared payload (another version): passed over.
    await stream.append(untypedTopic(messageEvents.added.name), { conversationId: 'not a uuid', seq: -1 });
    await messageAdded(group.id, 3, ann);
    await messageAdded(group.id, 4, ben);
    // Nothing applies them meanwhile.
    expect(await lastSeq()).toBe(1);

    service = await startConversationsService(env, logger);
    await expect.poll(lastSeq, { timeout: 10_000, interval: 20 }).toBe(4);
    const members = await prisma.conversationMember.findMany({
      where: { conversationId: group.id },
      select: { userId: true, readSeq: true },
    });
    expect(Object.fromEntries(members.map((member) => [member.userId, member.readSeq]))).toEqual({
      [ann]: 3,
      [ben]: 4,
    });
    // The mention at seq 2 was recorded (and no longer counts: ann's own message at seq 3 read it).
    expect(
      await prisma.mention.findMany({
        where: { conversationId: group.id },
        select: { userId: true, seq: true },
      }),
    ).toEqual([{ userId: ann, seq: 2 }]);
    // Every entry, the malformed one included, is acknowledged by the conversations group.
    const pending = async () =>
      (
        (await redis.xpending(`${env.REDIS_PREFIX}stream:${messageEvents.added.name}`, 'conversations')) as [
          number,
        ]
      )[0];
    await expect.poll(pending, { timeout: 10_000, interval: 20 }).toBe(0);
  });

  it('sends the receipts of markers it applies to no other member when the users service cannot say who is blocked', async () => {
    const [ann, ben, cy] = [randomUUID(), randomUUID(), randomUUID()];
    const group = await createGroupRow(ann, [ben, cy]);
    // Ben read on a device a message this service has not heard of yet: his marker waits for it.
    await prisma.conversationMember.update({
      where: { conversationId_userId: { conversationId: group.id, userId: ben } },
      data: { readRequestedSeq: 1 },
    });
    const events = createRedisPubSub({
      publisher: new Redis(testRedisUrl()),
      subscriber: new Redis(testRedisUrl()),
      prefix: env.REDIS_PREFIX,
    });
    const reads = await events.subscribe(conversationEvents.read);
    try {
      await messageAdded(group.id, 1, ann);
      const next = reads[Symbol.asyncIterator]();
      const sorted = ({ value }: IteratorResult<ReadEvent>) => ({
        ...value,
        excludedUserIds: [...value.excludedUserIds].sort(),
      });
      expect(sorted(await next.next())).toEqual({
        conversationId: group.id,
        userId: ben,
        readSeq: 1,
        excludedUserIds: [ann, cy].sort(),
      });
    } finally {
      await reads.unsubscribe();
      await events.close();
    }
  });
});
