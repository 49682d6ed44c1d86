import { randomUUID } from 'node:crypto';
import { systemClock } from '@parley/kit';
import { createTestDatabase, type TestDatabase } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore, originalKey, type FileStore, type NewFile } from '../src/data/file-store.js';
import { createLocalBlobStorage } from '../src/storage/index.js';
import { cleanUpExpiredUploads } from '../src/upload-cleaner.js';

const migrationsDir = new URL('../prisma/migrations', import.meta.url).pathname;
let database: TestDatabase;
let prisma: PrismaClient;
let store: FileStore;

beforeAll(async () => {
  database = await createTestDatabase('files_store', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 8 });
  store = createFileStore(prisma);
});
afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

/** The time the store is told it is: it reads no clock of its own. */
const now = new Date();
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const file = (ownerId: string, size: number, overrides: Partial<NewFile> = {}): NewFile => ({
  ownerId,
  name: 'photo.png',
  size,
  declaredType: 'image/png',
  sha256: 'a'.repeat(64),
  metadata: null,
  expiresAt: at(60),
  ...overrides,
});

describe('FileStore', () => {
  it('creates PENDING files within the quota, counting READY and unexpired PENDING ones', async () => {
    const owner = randomUUID();
    const first = await store.createPending(file(owner, 600), 1000, now);
    if (first === 'quota') throw new Error('refused within the quota');
    expect(first).toMatchObject({ ownerId: owner, status: 'PENDING', size: 600 });
    expect(await store.createPending(file(owner, 500), 1000, now)).toBe('quota');
    // A given-up upload no longer counts.
    await store.createPending(file(owner, 300, { expiresAt: at(-1) }), 1000, now);
    expect(await store.usedBytes(owner, now)).toBe(600);
    expect(await store.createPending(file(owner, 400), 1000, now)).not.toBe('quota');
    expect(await store.createPending(file(randomUUID(), 1000), 1000, now)).not.toBe('quota'); // per owner
    // Once the time of the PENDING ones is over, only the READY ones would count: none here.
    expect(await store.usedBytes(owner, at(60))).toBe(0);
  });

  it('lets only one of two concurrent uploads take the last bytes of a quota', async () => {
    const owner = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.createPending(file(owner, 400), 1000, now)),
    );
    expect(results.filter((result) => result !== 'quota')).toHaveLength(2);
    expect(await store.usedBytes(owner, now)).toBe(800);
  });

  it('makes a PENDING file READY once, with what was found; a removed one cannot be', async () => {
    const created = await store.createPending(file(randomUUID(), 10), 1000, now);
    if (created === 'quota') throw new Error('refused');
    const found = { contentType: 'image/png', width: 800, height: 600, hasThumbnail: true };
    const ready = await store.markReady(created.id, found, at(59));
    expect(ready).toMatchObject({ status: 'READY', expiresAt: null, completedAt: at(59), ...found });
    expect(await store.markReady(created.id, found, at(59))).toBeNull();
    // Removing it as PENDING (a cleaner that saw it before it was completed) leaves it.
    expect(await store.remove(created.id, 'PENDING')).toBe(false);
    expect(await store.remove(created.id, 'READY')).toBe(true);
    expect(await store.remove(created.id, 'READY')).toBe(false);
    expect(await store.byIds([created.id])).toEqual([]);
    const late = await store.createPending(file(randomUUID(), 10), 1000, now);
    if (late === 'quota') throw new Error('refused');
    expect(await store.markReady(late.id, found, at(60))).toBeNull(); // its upload time is over
  });

  it('lists expired PENDING uploads oldest first, never READY ones', async () => {
    const owner = randomUUID();
    const older = await store.createPending(file(owner, 1, { expiresAt: at(-20) }), 1000, now);
    const newer = await store.createPending(file(owner, 1, { expiresAt: at(-10) }), 1000, now);
    const done = await store.createPending(file(owner, 1), 1000, now);
    if (older === 'quota' || newer === 'quota' || done === 'quota') throw new Error('refused');
    const found = { contentType: null, width: null, height: null, hasThumbnail: false };
    await store.markReady(done.id, found, now);
    await prisma.file.update({ where: { id: done.id }, data: { expiresAt: at(-30) } }); // READY all the same
    const expired = (await store.expiredPending(now, 100)).filter((record) => record.ownerId === owner);
    expect(expired.map((record) => record.id)).toEqual([older.id, newer.id]);
  });

  it('gives up expired uploads: their bytes, then their records; READY and unexpired ones stay', async () => {
    const root = await mkdtemp(join(tmpdir(), 'parley-clean-'));
    try {
      const storage = createLocalBlobStorage({
        root,
        baseUrl: 'http://127.0.0.1:1/blobs',
        secret: 'x'.repeat(32),
        clock: systemClock,
      });
      const owner = randomUUID();
      const gone = await store.createPending(file(owner, 3, { expiresAt: at(-1) }), 1000, now);
      const waiting = await store.createPending(file(owner, 3), 1000, now);
      if (gone === 'quota' || waiting === 'quota') throw new Error('refused');
      for (const { id } of [gone, waiting])
        await storage.write(originalKey(id), Buffer.from('abc'), 'text/plain');

      let cleaned = 0;
      while ((await cleanUpExpiredUploads({ files: store, storage }, now, 100)) > 0) cleaned += 1;
      expect(cleaned).toBeGreaterThanOrEqual(1);
      expect(await storage.head(originalKey(gone.id))).toBeNull();
      expect(await store.byIds([gone.id])).toEqual([]);
      expect(await storage.head(originalKey(waiting.id))).not.toBeNull();
      expect(await store.byIds([waiting.id])).toHaveLength(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
