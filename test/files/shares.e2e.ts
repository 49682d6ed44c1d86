import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createServiceAuth, systemClock } from '@parley/kit';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { DELETE, send, SEND } from '../messages/operations.js';
import { FILE, uploadFile } from './operations.js';
import { createPrismaClient, type PrismaClient } from '../../subgraphs/files/src/data/database.js';
import { createFileStore } from '../../subgraphs/files/src/data/file-store.js';
import { createShareStore } from '../../subgraphs/files/src/data/share-store.js';
import {
  createFilesService,
  PENDING_SHARE_TTL_MS,
  releaseMarginSeconds,
} from '../../subgraphs/files/src/files-service.js';
import { createLocalBlobStorage } from '../../subgraphs/files/src/storage/index.js';
import { createUsersClient } from '../../subgraphs/files/src/users-client.js';

/**
 * Files keeps its own record of where each file was sent (`file_shares`), from what messages tells it: who
 * may see a file and whether it is in use are answered from it, never by asking messages. Through the whole
 * platform; the cleaner's rules are run here on the platform's files database with a clock of the test's own
 * (the platform's cleaner runs on the wall clock, with the default day of grace: it deletes nothing here).
 */
const GRACE_SECONDS = 24 * 3600;

let parley: Parley;
let filesDir: string;
let prisma: PrismaClient;
let cleaner: ReturnType<typeof createFilesService>;
let ann: SignedInUser;
let bob: SignedInUser;
let cy: SignedInUser;
let eve: SignedInUser;

beforeAll(async () => {
  filesDir = await mkdtemp(join(tmpdir(), 'parley-shares-'));
  parley = await startParley({
    label: 'files_shares',
    filesEnv: { FILES_LOCAL_DIR: filesDir, RELEASED_FILE_GRACE_SECONDS: String(GRACE_SECONDS) },
  });
  prisma = createPrismaClient({ connectionString: parley.databaseUrls.files, schema: 'public', poolMax: 2 });
  const serviceAuth = createServiceAuth({ secret: parley.serviceTokenSecret, service: 'files' });
  cleaner = createFilesService({
    files: createFileStore(prisma),
    shares: createShareStore(prisma),
    // The platform's storage: the same directory (this service signs nothing).
    storage: createLocalBlobStorage({
      root: filesDir,
      baseUrl: 'http://127.0.0.1:9/blobs',
      secret: 'x'.repeat(32),
      clock: systemClock,
    }),
    users: createUsersClient({ url: parley.subgraphUrls.users, timeoutMs: 5_000, serviceAuth }),
    limits: {
      maxFileBytes: 1_000_000,
      maxImageBytes: 1_000_000,
      quotaBytes: 10_000_000,
      uploadTtlSeconds: 900,
      downloadTtlSeconds: 300,
      releasedGraceSeconds: GRACE_SECONDS,
    },
    // The cleaner's rules are told the time by each call (pastGrace, ...); nothing else here reads it.
    clock: systemClock,
    logger: createLogger({ service: 'files-test', level: 'silent' }),
  });
  [ann, bob, cy, eve] = await parley.registerUsers('ann', 'bob', 'cy', 'eve');
}, 60_000);
afterAll(async () => {
  await prisma?.$disconnect();
  await parley?.stop();
  await rm(filesDir, { recursive: true, force: true });
});

const newFile = async (owner: SignedInUser) =>
  (await uploadFile(owner, randomBytes(32), { contentType: 'application/octet-stream' })).id;
/** The error code `user` gets for the file (undefined: they see it). */
const codeOfFile = async (user: SignedInUser, fileId: string) =>
  codeOf(await user.client.request(FILE, { id: fileId }));
const releasedAt = async (fileId: string) =>
  (await prisma.file.findUnique({ where: { id: fileId } }))?.releasedAt ?? null;
const hasBytes = (fileId: string) =>
  access(join(filesDir, 'originals', fileId)).then(
    () => true,
    () => false,
  );
/** Whether the files service read the message's `messages.added` (its share is confirmed). */
const confirmed = async (fileId: string, messageId: string) =>
  (await prisma.fileShare.count({ where: { fileId, messageId, deletedAt: null } })) === 1;
/** A moment well past the grace period and its margin of a file released now. */
const pastGrace = () =>
  new Date(Date.now() + (GRACE_SECONDS + releaseMarginSeconds(GRACE_SECONDS) + 60) * 1000);

describe('who sees a file sent in a conversation', () => {
  it('a member sees an attachment as soon as the send returns; a non-member never does', async () => {
    const dm = await createDm(ann, bob);
    const group = await createGroup(ann, [cy], 'Without bob');
    const [inDm, inGroup] = [await newFile(ann), await newFile(ann)];
    const [dmMessage, groupMessage] = [
      await send(ann, dm.id, 'photo', { attachmentIds: [inDm] }),
      await send(ann, group.id, 'photo', { attachmentIds: [inGroup] }),
    ];
    // No waiting for messages' events: files recorded the share before the message was stored.
    expect(await codeOfFile(bob, inDm)).toBeUndefined();
    expect(await codeOfFile(cy, inGroup)).toBeUndefined();
    for (const [user, fileId] of [
      [bob, inGroup],
      [cy, inDm],
      [eve, inDm],
      [eve, inGroup],
    ] as const) {
      expect(await codeOfFile(user, fileId)).toBe('FORBIDDEN');
    }
    // Once the events are read, the same.
    await expect.poll(() => confirmed(inDm, dmMessage.id), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => confirmed(inGroup, groupMessage.id), { timeout: 10_000 }).toBe(true);
    expect(await codeOfFile(bob, inDm)).toBeUndefined();
    expect(await codeOfFile(bob, inGroup)).toBe('FORBIDDEN');
    expect(await codeOfFile(eve, inDm)).toBe('FORBIDDEN');
  });

  it('refuses an attachment that is not the sender’s own as before, and shares nothing of that send', async () => {
    const dm = await createDm(ann, bob);
    const [annFile, bobFile] = [await newFile(ann), await newFile(bob)];
    const refused = await ann.client.request(SEND, {
      input: {
        conversationId: dm.id,
        body: 'both',
        clientMutationId: randomUUID(),
        attachmentIds: [annFile, bobFile],
      },
    });
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.extensions?.['fileIds']).toEqual([bobFile]);
    expect(await codeOfFile(bob, annFile)).toBe('FORBIDDEN');
  });

  it('keeps a file visible in a conversation until the last message carrying it there is deleted', async () => {
    const group = await createGroup(ann, [bob], 'Photos');
    const dm = await createDm(ann, cy);
    const [file, marker] = [await newFile(ann), await newFile(ann)];
    const first = await send(ann, group.id, 'photo', { attachmentIds: [file] });
    const second = await send(ann, group.id, 'again', { attachmentIds: [file] });
    await send(ann, dm.id, 'photo', { attachmentIds: [file] });
    const markerMessage = await send(ann, group.id, 'marker', { attachmentIds: [marker] });

    await ok(ann, DELETE, { id: first.id });
    await ok(ann, DELETE, { id: markerMessage.id });
    // Deletions are read in order: once the marker is gone, so is the first message.
    await expect.poll(() => codeOfFile(bob, marker), { timeout: 10_000 }).toBe('FORBIDDEN');
    expect(await codeOfFile(bob, file)).toBeUndefined();
    expect(await releasedAt(file)).toBeNull();

    await ok(ann, DELETE, { id: second.id });
    await expect.poll(() => codeOfFile(bob, file), { timeout: 10_000 }).toBe('FORBIDDEN');
    // Still sent in the direct conversation: cy sees it, and it is not released.
    expect(await codeOfFile(cy, file)).toBeUndefined();
    expect(await codeOfFile(ann, file)).toBeUndefined();
    expect(await releasedAt(file)).toBeNull();
    expect(await releasedAt(marker)).toBeInstanceOf(Date);
  });
});

describe('the cleaner', () => {
  it('keeps a released file sent again, deletes one no share carries, and waits for a send under way', async () => {
    const dm = await createDm(ann, bob);
    const [sentAgain, unused, underWay] = [await newFile(ann), await newFile(ann), await newFile(ann)];
    for (const fileId of [sentAgain, unused, underWay]) {
      const message = await send(ann, dm.id, 'photo', { attachmentIds: [fileId] });
      await ok(ann, DELETE, { id: message.id });
    }
    for (const fileId of [sentAgain, unused, underWay]) {
      await expect.poll(() => releasedAt(fileId), { timeout: 10_000 }).toBeInstanceOf(Date);
    }
    // Sent again within the grace period (and its messages.added read).
    const again = await send(ann, dm.id, 'here it is again', { attachmentIds: [sentAgain] });
    await expect.poll(() => confirmed(sentAgain, again.id), { timeout: 10_000 }).toBe(true);
    // A send under way: shared (pending) but not stored yet, as here where the store then refuses it.
    const used = randomUUID();
    await send(ann, dm.id, 'first', { clientMutationId: used });
    const conflict = await ann.client.request(SEND, {
      input: { conversationId: dm.id, body: 'other', clientMutationId: used, attachmentIds: [underWay] },
    });
    expect(codeOf(conflict)).toBe('CONFLICT');

    await cleaner.cleanUpReleased(pastGrace(), 100);
    expect(await releasedAt(sentAgain)).toBeNull();
    expect(await codeOfFile(bob, sentAgain)).toBeUndefined();
    expect(await codeOfFile(ann, unused)).toBe('NOT_FOUND');
    expect(await hasBytes(unused)).toBe(false);
    expect(await releasedAt(underWay)).toBeInstanceOf(Date);
    expect(await hasBytes(underWay)).toBe(true);

    // That send never completes: its share is dropped after an hour, then the file goes.
    await cleaner.cleanUpShares(new Date(Date.now() + PENDING_SHARE_TTL_MS + 60_000), 100);
    await cleaner.cleanUpReleased(pastGrace(), 100);
    expect(await codeOfFile(ann, underWay)).toBe('NOT_FOUND');
    expect(await hasBytes(underWay)).toBe(false);
    expect(await hasBytes(sentAgain)).toBe(true);
  });

  it('drops a share whose send failed after an hour: the members see the file no more', async () => {
    const dm = await createDm(ann, bob);
    const file = await newFile(ann);
    const used = randomUUID();
    await send(ann, dm.id, 'first', { clientMutationId: used });
    const sharedAt = Date.now();
    const conflict = await ann.client.request(SEND, {
      input: { conversationId: dm.id, body: 'other', clientMutationId: used, attachmentIds: [file] },
    });
    expect(codeOf(conflict)).toBe('CONFLICT');
    // Recorded before the store refused the message: shown to the members until the cleaner drops it.
    expect(await codeOfFile(bob, file)).toBeUndefined();

    await cleaner.cleanUpShares(new Date(sharedAt + PENDING_SHARE_TTL_MS - 60_000), 100);
    expect(await codeOfFile(bob, file)).toBeUndefined();
    await cleaner.cleanUpShares(new Date(sharedAt + PENDING_SHARE_TTL_MS + 60_000), 100);
    expect(await codeOfFile(bob, file)).toBe('FORBIDDEN');
    // Never sent, never released: the owner's file stays.
    expect(await codeOfFile(ann, file)).toBeUndefined();
    expect(await releasedAt(file)).toBeNull();
  });
});
