import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogger,
  createRedisEventStream,
  createServiceAuth,
  systemClock,
  untypedTopic,
  type Clock,
} from '@parley/kit';
import {
  createMembershipReader,
  createMembershipRepair,
  createRedisMembershipProjection,
  type MembershipProjection,
} from '@parley/membership';
import {
  createTestClock,
  createTestDatabase,
  deleteRedisKeys,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@parley/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { createFileStore, originalKey, type FileStore } from '../src/data/file-store.js';
import { createShareStore } from '../src/data/share-store.js';
import { messageEvents } from '@parley/messages/events';
import { followMessageFiles } from '../src/message-files.js';
import { createFilesService, PENDING_SHARE_TTL_MS, type Actor } from '../src/files-service.js';
import { createUsersClient } from '../src/users-client.js';
import { createLocalBlobStorage, type BlobStorage } from '../src/storage/index.js';

const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;
let database: TestDatabase;
let prisma: PrismaClient;
let files: FileStore;
let redis: Redis;
let projection: MembershipProjection;
const redisPrefix = testRedisPrefix('files_service');
let root: string;
let storage: BlobStorage;

beforeAll(async () => {
  database = await createTestDatabase('files_events', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 4 });
  files = createFileStore(prisma);
  redis = new Redis(testRedisUrl());
  projection = createRedisMembershipProjection({ redis, prefix: redisPrefix });
  root = await mkdtemp(join(tmpdir(), 'parley-files-events-'));
  storage = createLocalBlobStorage({
    root,
    baseUrl: 'http://127.0.0.1:9/blobs',
    secret: 'y'.repeat(32),
    clock: systemClock,
  });
});
afterAll(async () => {
  if (redis) await deleteRedisKeys(redis, redisPrefix);
  redis?.disconnect();
  await prisma?.$disconnect();
  await database?.drop();
  await rm(root, { recursive: true, force: true });
});

async function readyFile(ownerId: string = randomUUID()) {
  const now = new Date();
  const created = await files.createPending(
    {
      ownerId,
      name: 'a.bin',
      size: 1,
      declaredType: 'application/octet-stream',
      sha256: 'a'.repeat(64),
      metadata: null,
      expiresAt: new Date(now.getTime() + 60_000),
    },
    1_000,
    now,
  );
  if (created === 'quota') throw new Error('quota');
  const ready = await files.markReady(
    created.id,
    { contentType: null, width: null, height: null, hasThumbnail: false },
    now,
  );
  return ready!;
}

const logger = createLogger({ service: 'files-test', level: 'silent' });

const nowhere = {
  url: 'http://127.0.0.1:9/graphql',
  timeoutMs: 100,
  serviceAuth: createServiceAuth({ secret: 'x'.repeat(32), service: 'files' }),
};

/**
 * The files rules on the real database and `blobs`, at the time of `clock`; users and conversations run nowhere
 * (these tests ask them nothing: the memberships they read are in the projection, written here as
 * conversations would).
 */
function serviceOn(blobs: BlobStorage, clock: Clock = systemClock) {
  return createFilesService({
    files,
    shares: createShareStore(prisma),
    storage: blobs,
    users: createUsersClient(nowhere),
    limits: {
      maxFileBytes: 1_000_000,
      maxImageBytes: 1_000_000,
      quotaBytes: 10_000_000,
      uploadTtlSeconds: 60,
      downloadTtlSeconds: 60,
      releasedGraceSeconds: 60,
    },
    clock,
    logger,
  });
}

/** A signed-in user, their memberships read from the projection (a lost entry would ask nowhere). */
function actorFor(userId: string): Actor {
  return {
    viewer: { userId, sessionId: randomUUID(), expiresAt: new Date(Date.now() + 60_000) },
    membership: createMembershipReader({
      projection,
      repair: (ids) => createMembershipRepair(nowhere)(ids, { authorization: '', requestId: 'test' }),
    }),
    authorization: '',
    requestId: 'test',
  };
}

let membershipVersion = 0;
/** A new group of these users, in the projection as the conversations service writes it. */
async function groupOf(...userIds: string[]) {
  const conversationId = randomUUID();
  membershipVersion += 1;
  await projection.replace(conversationId, membershipVersion, {
    kind: 'GROUP',
    members: new Map(userIds.map((userId) => [userId, 'MEMBER' as const])),
  });
  return conversationId;
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
    const actor = actorFor(ownerId);
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

/** Who of `viewers` may see the file (their own, or shared in a conversation of theirs). */
async function seenBy(
  service: ReturnType<typeof serviceOn>,
  fileId: string,
  viewers: Record<string, string>,
) {
  const seen: string[] = [];
  for (const [name, userId] of Object.entries(viewers)) {
    const [file] = await service.visibleFiles(actorFor(userId), [fileId]);
    if (file && file !== 'forbidden') seen.push(name);
  }
  return seen;
}

const releasedAt = async (fileId: string) => (await files.byIds([fileId]))[0]?.releasedAt ?? null;
const shareRows = (fileId: string) =>
  prisma.fileShare.findMany({ where: { fileId }, orderBy: { id: 'asc' } });

describe('shares', () => {
  it('shows a file to the members of a conversation as soon as it is shared there, before its message is stored; never to others', async () => {
    const service = serviceOn(storage);
    const [ann, bob, eve] = [randomUUID(), randomUUID(), randomUUID()];
    const conversationId = await groupOf(ann, bob);
    const file = await readyFile(ann);
    expect(await seenBy(service, file.id, { ann, bob, eve })).toEqual(['ann']);

    // Messages asks just before it stores the message: the members see it from then on.
    expect(await service.shareFiles(actorFor(ann), conversationId, [file.id])).toEqual([file.id]);
    expect(await seenBy(service, file.id, { ann, bob, eve })).toEqual(['ann', 'bob']);
    expect(await shareRows(file.id)).toMatchObject([{ conversationId, messageId: null, deletedAt: null }]);

    // Its messages.added confirms it; eve, in no conversation where it was sent, never sees it.
    const messageId = randomUUID();
    await service.messageAdded({ conversationId, messageId, attachmentIds: [file.id] });
    await service.messageAdded({ conversationId, messageId, attachmentIds: [file.id] });
    expect(await shareRows(file.id)).toMatchObject([{ conversationId, messageId, deletedAt: null }]);
    expect(await seenBy(service, file.id, { ann, bob, eve })).toEqual(['ann', 'bob']);
  });

  it('answers the attachable files in the order asked, and records nothing when one is not', async () => {
    const service = serviceOn(storage);
    const [ann, bob] = [randomUUID(), randomUUID()];
    const conversationId = await groupOf(ann, bob);
    const [mine, also, bobs] = [await readyFile(ann), await readyFile(ann), await readyFile(bob)];
    const unknown = randomUUID();

    expect(
      await service.shareFiles(actorFor(ann), conversationId, [bobs.id, also.id, unknown, mine.id]),
    ).toEqual([also.id, mine.id]);
    // Messages refuses that send: none of them is shared.
    for (const file of [mine, also, bobs]) expect(await shareRows(file.id)).toEqual([]);
    expect(await seenBy(service, also.id, { bob })).toEqual([]);

    expect(await service.shareFiles(actorFor(ann), conversationId, [also.id, mine.id])).toEqual([
      also.id,
      mine.id,
    ]);
    expect(await seenBy(service, also.id, { bob })).toEqual(['bob']);
  });

  it('refuses to share in a conversation the sender is not a member of', async () => {
    const service = serviceOn(storage);
    const [ann, bob] = [randomUUID(), randomUUID()];
    const theirs = await groupOf(bob);
    const file = await readyFile(ann);
    for (const conversationId of [theirs, 'not-a-uuid']) {
      await expect(service.shareFiles(actorFor(ann), conversationId, [file.id])).rejects.toMatchObject({
        extensions: { code: 'NOT_FOUND' },
      });
    }
    expect(await shareRows(file.id)).toEqual([]);
  });

  it('keeps a file visible in a conversation until the last message carrying it there is deleted', async () => {
    const service = serviceOn(storage);
    const [ann, bob, cy] = [randomUUID(), randomUUID(), randomUUID()];
    const [group, dm] = [await groupOf(ann, bob), await groupOf(ann, cy)];
    const file = await readyFile(ann);
    const sent = async (conversationId: string) => {
      const messageId = randomUUID();
      await service.shareFiles(actorFor(ann), conversationId, [file.id]);
      await service.messageAdded({ conversationId, messageId, attachmentIds: [file.id] });
      return { conversationId, messageId, attachmentIds: [file.id] };
    };
    const [first, second, inDm] = [await sent(group), await sent(group), await sent(dm)];
    expect(await seenBy(service, file.id, { bob, cy })).toEqual(['bob', 'cy']);

    await service.messageDeleted(first);
    await service.messageDeleted(first); // redelivered
    expect(await seenBy(service, file.id, { bob, cy })).toEqual(['bob', 'cy']);
    expect(await releasedAt(file.id)).toBeNull();

    await service.messageDeleted(second);
    expect(await seenBy(service, file.id, { bob, cy })).toEqual(['cy']);
    expect(await releasedAt(file.id)).toBeNull();

    await service.messageDeleted(inDm);
    expect(await seenBy(service, file.id, { ann, bob, cy })).toEqual(['ann']);
    expect(await releasedAt(file.id)).toBeInstanceOf(Date);
  });

  it('keeps a message deleted when its deletion is read before its addition (two streams)', async () => {
    const service = serviceOn(storage);
    const [ann, bob] = [randomUUID(), randomUUID()];
    const conversationId = await groupOf(ann, bob);
    const file = await readyFile(ann);
    const event = { conversationId, messageId: randomUUID(), attachmentIds: [file.id] };
    await service.shareFiles(actorFor(ann), conversationId, [file.id]);

    await service.messageDeleted(event);
    expect(await releasedAt(file.id)).toBeInstanceOf(Date);
    await service.messageAdded(event);
    expect(await seenBy(service, file.id, { bob })).toEqual([]);
    expect(await shareRows(file.id)).toMatchObject([
      { messageId: event.messageId, deletedAt: expect.any(Date) },
    ]);
  });

  it('drops a pending share older than an hour (its send failed), and nothing younger', async () => {
    const clock = createTestClock();
    const service = serviceOn(storage, clock);
    const [ann, bob] = [randomUUID(), randomUUID()];
    const conversationId = await groupOf(ann, bob);
    const [orphan, confirmed] = [await readyFile(ann), await readyFile(ann)];
    const sharedAt = clock.now();
    await service.shareFiles(actorFor(ann), conversationId, [orphan.id, confirmed.id]);
    await service.messageAdded({ conversationId, messageId: randomUUID(), attachmentIds: [confirmed.id] });
    const later = (ms: number) => new Date(sharedAt.getTime() + ms);

    await service.cleanUpShares(later(PENDING_SHARE_TTL_MS - 60_000), 100);
    expect(await seenBy(service, orphan.id, { bob })).toEqual(['bob']);

    await service.cleanUpShares(later(PENDING_SHARE_TTL_MS + 60_000), 100);
    expect(await shareRows(orphan.id)).toEqual([]);
    expect(await seenBy(service, orphan.id, { bob })).toEqual([]);
    expect(await seenBy(service, confirmed.id, { bob })).toEqual(['bob']);
  });
});

describe('followMessageFiles', () => {
  it('records and releases from messages’ streams the files of messages sent and deleted while the files service was not running, past a malformed event', async () => {
    const stream = createRedisEventStream({ redis, prefix: `${redisPrefix}events:` });
    const [ann, bob] = [randomUUID(), randomUUID()];
    const conversationId = await groupOf(ann, bob);
    const [kept, carried, other] = [await readyFile(ann), await readyFile(ann), await readyFile(ann)];
    const added = (messageId: string, attachmentIds: string[]) =>
      stream.append(messageEvents.added, { conversationId, messageId, seq: 1, senderId: ann, attachmentIds });
    const [keptIn, carriedIn] = [randomUUID(), randomUUID()];
    // Sent and deleted before the consumers exist: the streams keep them for them.
    // From a producer that disagrees with the declared payload (another version): passed over.
    await stream.append(untypedTopic(messageEvents.added.name), { attachmentIds: 'not a list' });
    await added(keptIn, [kept.id]);
    await added(carriedIn, [carried.id.toUpperCase()]);
    await stream.append(untypedTopic(messageEvents.deleted.name), { attachmentIds: 'not a list' });
    await stream.append(messageEvents.deleted, {
      conversationId,
      messageId: carriedIn,
      seq: 2,
      byUserId: ann,
      attachmentIds: [carried.id.toUpperCase()],
    });

    const service = serviceOn(storage);
    const stop = await followMessageFiles({ stream, service, logger });
    try {
      await expect
        .poll(async () => (await files.byIds([carried.id]))[0]?.releasedAt, { timeout: 10_000 })
        .toBeInstanceOf(Date);
      await expect.poll(() => seenBy(service, kept.id, { bob }), { timeout: 10_000 }).toEqual(['bob']);
      expect(await seenBy(service, carried.id, { bob })).toEqual([]);
      expect(await releasedAt(kept.id)).toBeNull();
      expect(await releasedAt(other.id)).toBeNull();
    } finally {
      await stop();
    }
  });
});
