import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@parley/kit';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey, thumbnailKey, type FileRecord } from '../src/data/file-store.js';
import { createLocalBlobStorage, type BlobStorage } from '../src/storage/index.js';
import { verifyUpload } from '../src/upload-verification.js';

let root: string;
let storage: BlobStorage;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'parley-verify-'));
  storage = createLocalBlobStorage({
    root,
    baseUrl: 'http://127.0.0.1:1/blobs',
    secret: randomBytes(32).toString('hex'),
    // Verification reads the stored bytes; it signs no URL.
    clock: systemClock,
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A PENDING record for these bytes as declared, and the bytes as the client put them in storage. */
async function uploaded(bytes: Buffer, declaredType: string, overrides: Partial<FileRecord> = {}) {
  const file: FileRecord = {
    id: randomUUID(),
    ownerId: randomUUID(),
    name: 'file',
    size: bytes.length,
    declaredType,
    contentType: null,
    sha256: sha256(bytes),
    status: 'PENDING',
    width: null,
    height: null,
    hasThumbnail: false,
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + 60_000),
    completedAt: null,
    metadata: null,
    releasedAt: null,
    ...overrides,
  };
  await storage.write(originalKey(file.id), bytes, declaredType);
  return file;
}

const png = () =>
  sharp({ create: { width: 640, height: 480, channels: 3, background: '#36c' } })
    .png()
    .toBuffer();

describe('verifyUpload', () => {
  it('accepts a PNG as declared, with its dimensions and a thumbnail written to storage', async () => {
    const file = await uploaded(await png(), 'image/png');
    expect(await verifyUpload(file, storage)).toEqual({
      ok: true,
      found: { contentType: 'image/png', width: 640, height: 480, hasThumbnail: true },
    });
    expect(await storage.head(thumbnailKey(file.id))).toMatchObject({ contentType: 'image/webp' });
  });

  it('accepts opaque encrypted bytes without a thumbnail', async () => {
    const file = await uploaded(randomBytes(10_000), 'application/octet-stream');
    expect(await verifyUpload(file, storage)).toEqual({
      ok: true,
      found: { contentType: null, width: null, height: null, hasThumbnail: false },
    });
  });

  it('refuses missing bytes, another size, another SHA-256, and a program declared as an image', async () => {
    const bytes = await png();
    const missing = { ...(await uploaded(bytes, 'image/png')), id: randomUUID() };
    expect(await verifyUpload(missing, storage)).toEqual({
      ok: false,
      code: 'NOT_UPLOADED',
      reason: 'No bytes were uploaded',
    });
    const resized = await uploaded(bytes, 'image/png', { size: bytes.length + 1 });
    expect(await verifyUpload(resized, storage)).toMatchObject({
      ok: false,
      code: 'SIZE_MISMATCH',
      reason: expect.stringMatching(/declared/),
    });
    const rehashed = await uploaded(bytes, 'image/png', { sha256: sha256(Buffer.from('other')) });
    expect(await verifyUpload(rehashed, storage)).toMatchObject({
      ok: false,
      code: 'SHA256_MISMATCH',
      reason: expect.stringMatching(/SHA-256/),
    });
    const program = Buffer.alloc(2048);
    program.write('MZ', 0, 'latin1');
    program.writeUInt32LE(0x80, 0x3c);
    program.write('PE\0\0', 0x80, 'latin1');
    expect(await verifyUpload(await uploaded(program, 'image/png'), storage)).toEqual({
      ok: false,
      code: 'EXECUTABLE',
      reason: 'Executable files are not accepted',
    });
  });

  it('refuses an image whose header is right but whose body cannot be read', async () => {
    const broken = Buffer.concat([(await png()).subarray(0, 64), randomBytes(4096)]);
    expect(await verifyUpload(await uploaded(broken, 'image/png'), storage)).toEqual({
      ok: false,
      code: 'UNREADABLE_IMAGE',
      reason: 'The image could not be read',
    });
  });
});
