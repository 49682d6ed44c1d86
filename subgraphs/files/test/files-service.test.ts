import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRedisEventStream, createServiceAuth, untypedTopic } from '@parley/kit';
import { createTestDatabase, testRedisPrefix, testRedisUrl, type TestDatabase } from '@parley/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { createFileStore, originalKey, type FileStore } from '../src/data/file-store.js';
import { messageEvents } from '@parley/messages/events';
import { followReleasedFiles } from '../src/released-files.js';
import { createFilesService } from '../src/files-service.js';
import { createMessagesClient } from '../src/messages-client.js';
import { createUsersClient } from '../src/users-client.js';
import { createLocalBlobStorage, type BlobStorage } from '../src/storage/index.js';

const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;
let database: TestDatabase;
let prisma: PrismaClient;
let files: FileStore;
let redis: Redis;
let root: string;
let storage: BlobStorage;

beforeAll(async () => {
  database = await createTestDatabase('files_events', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 4 });
  files = createFileStore(prisma);
  redis = new Redis(testRedisUrl());
  root = await mkdtemp(join(tmpdir(), 'parley-files-events-'));
  storage = createLocalBlobStorage({ root, baseUrl: 'http://127.0.0.1:9/blobs', secret: 'y'.repeat(32) });
});
afterAll(async () => {
  redis?.disconnect();
  await prisma?.$disconnect();
  await database?.drop();
  await rm(root, { recursive: true, force: true });
});

async function readyFile() {
  const created = await files.createPending(
    {
      ownerId: randomUUID(),
      name: 'a.bin',
      size: 1,
      declaredType: 'application/octet-stream',
      sha256: 'a'.repeat(64),
      metadata: null,
      expiresAt: new Date(Date.now() + 60_000),
    },
    1_000,
  );
  if (created === 'quota') throw new Error('quota');
  const ready = await files.markReady(created.id, {
    contentType: null,
    width: null,
    height: null,
    hasThumbnail: false,
  });
  return ready!;
}

const logger = createLogger({ service: 'files-test', level: 'silent' });

/** The files rules on the real database and `blobs`; messages and users run nowhere (these tests ask them nothing). */
function serviceOn(blobs: BlobStorage) {
  const serviceAuth = createServiceAuth({ secret: 'x'.repeat(32), service: 'files' });
  const nowhere = { url: 'http://127.0.0.1:9/graphql', timeoutMs: 100, serviceAuth };
  return createFilesService({
    files,
    storage: blobs,
    messages: createMessagesClient(nowhere),
    users: createUsersClient(nowhere),
    limits: {
      maxFileBytes: 1_000_000,
      maxImageBytes: 1_000_000,
      quotaBytes: 10_000_000,
      uploadTtlSeconds: 60,
      downloadTtlSeconds: 60,
      releasedGraceSeconds: 60,
    },
    logger,
  });
}

describe('completeUpload', () => {
  it('verifies a file once when it is completed many times at once', async () => {
    let reads = 0;
    const counted: BlobStorage = {
      ...storage,
      read: (key) => {
        reads += 1;
        return storage.read(key);
      },
    };
    const service = serviceOn(counted);
    const ownerId = randomUUID();
    const bytes = randomBytes(5_000);
    const actor = {
      viewer: { userId: ownerId, sessionId: randomUUID(), expiresAt: new Date(Date.now() + 60_000) },
      authorization: '',
      requestId: 'test',
    };
    const { file } = await service.createUpload(actor, {
      name: 'a.bin',
      size: bytes.length,
      contentType: 'application/octet-stream',
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    await storage.write(originalKey(file.id), bytes, 'application/octet-stream');
    const completed = await Promise.all(
      Array.from({ length: 5 }, () => service.completeUpload(actor, file.id)),
    );
    expect(completed.map((each) => each.status)).toEqual(['READY', 'READY', 'READY', 'READY', 'READY']);
    expect(reads).toBe(1);
  });
});

describe('followReleasedFiles', () => {
  it('releases the files of messages deleted while the files service was not running, past a malformed event', async () => {
    const stream = createRedisEventStream({ redis, prefix: testRedisPrefix('files_events') });
    const [carried, other] = [await readyFile(), await readyFile()];
    // Deleted before the consumer exists: the stream keeps them for it.
    // From a producer that disagrees with the declared payload (another version): passed over.
    await stream.append(untypedTopic(messageEvents.deleted.name), { attachmentIds: 'not a list' });
    await stream.append(messageEvents.deleted, {
      conversationId: randomUUID(),
      messageId: randomUUID(),
      seq: 1,
      byUserId: randomUUID(),
      attachmentIds: [carried.id.toUpperCase()],
    });

    const service = serviceOn(storage);
    const stop = await followReleasedFiles({ stream, service, logger });
    try {
      await expect
        .poll(async () => (await files.byIds([carried.id]))[0]?.releasedAt, { timeout: 10_000 })
        .toBeInstanceOf(Date);
      expect((await files.byIds([other.id]))[0]?.releasedAt).toBeNull();
    } finally {
      await stop();
    }
  });
});
