import { randomUUID } from 'node:crypto';
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

const later = () => new Date(Date.now() + 60_000);
const file = (ownerId: string, size: number, overrides: Partial<NewFile> = {}): NewFile => ({
  ownerId,
  name: 'photo.png',
  size,
  declaredType: 'image/png',
  sha256: 'a'.repeat(64),
  metadata: null,
  expiresAt: later(),
  ...overrides,
});

describe('FileStore', () => {
  it('creates PENDING files within the quota, counting READY and unexpired PENDING ones', async () => {
    const owner = randomUUID();
    const first = await store.createPending(file(owner, 600), 1000);
    if (first === 'quota') throw new Error('refused within the quota');
    expect(first).toMatchObject({ ownerId: owner, status: 'PENDING', size: 600 });
    expect(await store.createPending(file(owner, 500), 1000)).toBe('quota');
    // A given-up upload no longer counts.
    await store.createPending(file(owner, 300, { expiresAt: new Date(Date.now() - 1_000) }), 1000);
    expect(await store.usedBytes(owner, new Date())).toBe(600);
    expect(await store.createPending(file(owner, 400), 1000)).not.toBe('quota');
    expect(await store.createPending(file(randomUUID(), 1000), 1000)).not.toBe('quota'); // per owner
  });

  it('lets only one of two concurrent uploads take the last bytes of a quota', async () => {
    const owner = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.createPending(file(owner, 400), 1000)),
    );
    expect(results.filter((result) => result !== 'quota')).toHaveLength(2);
    expect(await store.usedBytes(owner, new Date())).toBe(800);
  });

  it('makes a PENDING file READY once, with what was found; a removed one cannot be', async () => {
    const created = await store.createPending(file(randomUUID(), 10), 1000);
    if (created === 'quota') throw new Error('refused');
    const found = { contentType: 'image/png', width: 800, height: 600, hasThumbnail: true };
    const ready = await store.markReady(created.id, found);
    expect(ready).toMatchObject({ status: 'READY', expiresAt: null, ...found });
    expect(ready?.completedAt).toBeInstanceOf(Date);
    expect(await store.markReady(created.id, found)).toBeNull();
    // Removing it as PENDING (a cleaner that saw it before it was completed) leaves it.
    expect(await store.remove(created.id, 'PENDING')).toBe(false);
    expect(await store.remove(created.id, 'READY')).toBe(true);
    expect(await store.remove(created.id, 'READY')).toBe(false);
    expect(await store.byIds([created.id])).toEqual([]);
    const late = await store.createPending(
      file(randomUUID(), 10, { expiresAt: new Date(Date.now() - 1) }),
      1000,
    );
    if (late === 'quota') throw new Error('refused');
    expect(await store.markReady(late.id, found)).toBeNull(); // its upload time is over
  });

  it('lists expired PENDING uploads oldest first, never READY ones', async () => {
    const owner = randomUUID();
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    const older = await store.createPending(file(owner, 1, { expiresAt: ago(20) }), 1000);
    const newer = await store.createPending(file(owner, 1, { expiresAt: ago(10) }), 1000);
    const done = await store.createPending(file(owner, 1), 1000);
    if (older === 'quota' || newer === 'quota' || done === 'quota') throw new Error('refused');
    await store.markReady(done.id, { contentType: null, width: null, height: null, hasThumbnail: false });
    await prisma.file.update({ where: { id: done.id }, data: { expiresAt: ago(30) } }); // READY all the same
    const expired = (await store.expiredPending(new Date(), 100)).filter(
      (record) => record.ownerId === owner,
    );
    expect(expired.map((record) => record.id)).toEqual([older.id, newer.id]);
  });

  it('gives up expired uploads: their bytes, then their records; READY and unexpired ones stay', async () => {
    const root = await mkdtemp(join(tmpdir(), 'parley-clean-'));
    try {
      const storage = createLocalBlobStorage({
        root,
        baseUrl: 'http://127.0.0.1:1/blobs',
        secret: 'x'.repeat(32),
      });
      const owner = randomUUID();
      const gone = await store.createPending(
        file(owner, 3, { expiresAt: new Date(Date.now() - 1_000) }),
        1000,
      );
      const waiting = await store.createPending(file(owner, 3), 1000);
      if (gone === 'quota' || waiting === 'quota') throw new Error('refused');
      for (const { id } of [gone, waiting])
        await storage.write(originalKey(id), Buffer.from('abc'), 'text/plain');

      let cleaned = 0;
      while ((await cleanUpExpiredUploads({ files: store, storage }, new Date(), 100)) > 0) cleaned += 1;
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
