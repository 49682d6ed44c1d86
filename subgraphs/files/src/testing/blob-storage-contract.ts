import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Clock } from '@parley/kit';
import { createTestClock } from '@parley/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { BlobStorage } from '../storage/blob-storage.js';

export interface BlobStorageContractInstance {
  storage: BlobStorage;
  cleanup?: () => Promise<void>;
}

export interface BlobStorageCapabilities {
  /**
   * Whether the server behind the signed URLs checks their signatures. s3rver (the stand-in for S3 here)
   * checks expiry but not signatures; AWS S3, MinIO and the local storage check both.
   */
  checksSignatures: boolean;
  /**
   * Whether the server honours a conditional PUT (`If-None-Match: *`) and refuses to replace an object.
   * AWS S3 and MinIO do; s3rver does not; the local storage refuses by itself.
   */
  refusesReplacing: boolean;
}

/** A storage that signs (and, where it checks them itself, checks) its URLs at the time of `clock`. */
export type BlobStorageContractFactory = (clock: Clock) => Promise<BlobStorageContractInstance>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** One behavioural contract every BlobStorage implementation must meet (its signed URLs used with fetch). */
export function describeBlobStorageContract(
  name: string,
  create: BlobStorageContractFactory,
  capabilities: BlobStorageCapabilities,
): void {
  describe(`BlobStorage contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });
    async function open(clock: Clock = createTestClock()) {
      const instance = await create(clock);
      if (instance.cleanup) cleanups.push(instance.cleanup);
      return instance;
    }
    const newKey = () => `test/${randomUUID()}`;
    const put = (signed: { url: string; headers: Record<string, string> }, bytes: Uint8Array) =>
      fetch(signed.url, { method: 'PUT', headers: signed.headers, body: new Uint8Array(bytes) });

    it('takes a signed upload and gives back identical bytes to the service and through a signed download', async () => {
      const clock = createTestClock();
      const { storage } = await open(clock);
      const key = newKey();
      const bytes = randomBytes(70_000);
      const upload = await storage.signUpload(key, {
        contentType: 'image/png',
        size: bytes.length,
        expiresInSeconds: 60,
      });
      expect(upload.expiresAt).toEqual(new Date(clock.now().getTime() + 60_000));
      expect((await put(upload, bytes)).status).toBe(200);

      expect(await storage.head(key)).toEqual({ size: bytes.length, contentType: 'image/png' });
      expect(sha256(await bytesOf((await storage.read(key))!))).toBe(sha256(bytes));
      const download = await storage.signDownload(key, { expiresInSeconds: 60, filename: 'photo 1.png' });
      const response = await fetch(download.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('content-disposition')).toContain('photo%201.png');
      expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(bytes));
    });

    it('refuses expired signed URLs, upload and download, and keeps nothing of the refused upload', async () => {
      // Signed for a minute by a clock two minutes back, then used once that clock is at the present: the
      // minute is over for a storage that checks its URLs by that clock (local) and for a server that checks
      // them by its own (S3), so no test waits for time to pass.
      const clock = createTestClock(new Date(Date.now() - 2 * 60_000));
      const { storage } = await open(clock);
      const [key, stored] = [newKey(), newKey()];
      await storage.write(stored, Buffer.from('hello'), 'text/plain');
      const late = await storage.signUpload(key, {
        contentType: 'text/plain',
        size: 5,
        expiresInSeconds: 60,
      });
      const download = await storage.signDownload(stored, { expiresInSeconds: 60 });
      clock.advance(2 * 60_000);

      expect((await put(late, Buffer.from('hello'))).status).toBe(403);
      expect(await storage.head(key)).toBeNull();
      expect((await fetch(download.url)).status).toBe(403);
    });

    // Skipped only for a server that does not check signatures (s3rver): see BlobStorageCapabilities.
    it.skipIf(!capabilities.checksSignatures)('refuses a tampered signature', async () => {
      const { storage } = await open();
      const key = newKey();
      const upload = await storage.signUpload(key, {
        contentType: 'text/plain',
        size: 4,
        expiresInSeconds: 60,
      });
      const url = new URL(upload.url);
      const name = url.searchParams.has('sig') ? 'sig' : 'X-Amz-Signature';
      const signature = url.searchParams.get(name)!;
      url.searchParams.set(name, `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`);
      expect((await put({ url: url.toString(), headers: upload.headers }, Buffer.from('evil'))).status).toBe(
        403,
      );
      expect(await storage.head(key)).toBeNull();
      // A signed upload used for another key is a tampered one too.
      const other = new URL(upload.url.replace(key, newKey()));
      expect(
        (await put({ url: other.toString(), headers: upload.headers }, Buffer.from('evil'))).status,
      ).toBe(403);
    });

    // Skipped only for a server that ignores conditional writes (s3rver): see BlobStorageCapabilities.
    it.skipIf(!capabilities.refusesReplacing)(
      'refuses a second upload to a key that holds a blob, keeping the first bytes',
      async () => {
        const { storage } = await open();
        const key = newKey();
        const upload = await storage.signUpload(key, {
          contentType: 'text/plain',
          size: 5,
          expiresInSeconds: 60,
        });
        expect((await put(upload, Buffer.from('first'))).status).toBe(200);
        const again = await put(upload, Buffer.from('other'));
        expect([409, 412]).toContain(again.status);
        expect((await bytesOf((await storage.read(key))!)).toString()).toBe('first');
      },
    );

    it('writes, reads and deletes blobs of its own; a blob that is not there reads as null and deletes quietly', async () => {
      const { storage } = await open();
      const [first, second] = [newKey(), `${newKey()}/thumb.jpg`];
      await storage.write(first, Buffer.from('one'), 'text/plain');
      await storage.write(second, Buffer.from('two'), 'image/jpeg');
      expect(await storage.head(second)).toEqual({ size: 3, contentType: 'image/jpeg' });
      expect((await bytesOf((await storage.read(first))!)).toString()).toBe('one');
      await storage.delete([first, second, newKey()]);
      expect(await storage.head(first)).toBeNull();
      expect(await storage.read(second)).toBeNull();
    });

    it('refuses keys that are not its own shape (traversal, absolute, upper case)', async () => {
      const { storage } = await open();
      for (const key of ['../etc/passwd', '/abs', 'a/../b', 'A/b', '', 'a//b', 'a/']) {
        await expect(
          storage.signUpload(key, { contentType: 'text/plain', size: 1, expiresInSeconds: 60 }),
        ).rejects.toThrow(/Not a blob key/);
        await expect(storage.head(key)).rejects.toThrow(/Not a blob key/);
      }
    });
  });
}
