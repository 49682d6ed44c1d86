import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '@parley/kit';
import { createTestClock } from '@parley/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalBlobStorage, createS3BlobStorage } from '../src/storage/index.js';
import { describeBlobStorageContract } from '../src/testing/blob-storage-contract.js';
import { startS3rver } from '../src/testing/s3rver.js';

/** Serves a handler on a free loopback port (the local storage's signed endpoint). */
async function serve(handle: (request: Request) => Promise<Response | null>) {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const url = `http://127.0.0.1${req.url}`;
    const forward = async (body?: Buffer) => {
      const request = new Request(url, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        ...(body && { body: new Uint8Array(body), duplex: 'half' }),
      });
      const response = (await handle(request)) ?? new Response('not found', { status: 404 });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    };
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void forward(req.method === 'PUT' ? Buffer.concat(chunks) : undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A local storage in a fresh directory, its endpoint served on a free port, at the time of `clock`. */
async function localStorage(clock: Clock = systemClock) {
  const root = await mkdtemp(join(tmpdir(), 'parley-blobs-'));
  const holder: { storage?: ReturnType<typeof createLocalBlobStorage> } = {};
  const server = await serve((request) => holder.storage!.handle(request));
  const storage = createLocalBlobStorage({
    root,
    baseUrl: `http://127.0.0.1:${server.port}/blobs`,
    secret: randomBytes(32).toString('hex'),
    clock,
  });
  holder.storage = storage;
  return {
    storage,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

describeBlobStorageContract(
  'local filesystem',
  async (clock) => {
    const { storage, close } = await localStorage(clock);
    return { storage, cleanup: close };
  },
  { checksSignatures: true, refusesReplacing: true },
);

let s3: Awaited<ReturnType<typeof startS3rver>>;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describeBlobStorageContract(
  'S3 (s3rver, started by the test)',
  async (clock) => {
    const bucket = await s3.newBucket();
    return { storage: createS3BlobStorage({ client: s3.client, bucket, clock }) };
  },
  { checksSignatures: false, refusesReplacing: false },
);

describe('local blob storage beyond the contract', () => {
  it('refuses an upload larger than signed, from its declared length or as the bytes arrive, keeping nothing', async () => {
    const { storage, close } = await localStorage();
    try {
      const upload = await storage.signUpload('big/one', {
        contentType: 'text/plain',
        size: 4,
        expiresInSeconds: 60,
      });
      const declared = await fetch(upload.url, {
        method: 'PUT',
        headers: upload.headers,
        body: 'too many bytes',
      });
      expect(declared.status).toBe(413);
      expect(await storage.head('big/one')).toBeNull();
      // Streamed without a length: refused once more bytes arrive than signed.
      const streamed = await fetch(upload.url, {
        method: 'PUT',
        headers: upload.headers,
        body: new Blob(['too many bytes']).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(await storage.head('big/one')).toBeNull();
      // Another type than signed is refused too.
      const retyped = await fetch(upload.url, {
        method: 'PUT',
        headers: { 'content-type': 'application/x-msdownload' },
        body: 'abcd',
      });
      expect(retyped.status).toBe(403);
      expect(await storage.head('big/one')).toBeNull();
    } finally {
      await close();
    }
  });

  it('takes a signed URL until it expires and refuses it from then on, going by its clock alone', async () => {
    const clock = createTestClock();
    const { storage, close } = await localStorage(clock);
    try {
      await storage.write('a/b', Buffer.from('hello'), 'text/plain');
      const download = await storage.signDownload('a/b', { expiresInSeconds: 60 });
      const upload = await storage.signUpload('a/c', {
        contentType: 'text/plain',
        size: 5,
        expiresInSeconds: 60,
      });
      clock.advance(59_000);
      const early = await fetch(download.url);
      expect(early.status).toBe(200);
      expect(await early.text()).toBe('hello');
      clock.advance(2_000);
      expect((await fetch(download.url)).status).toBe(403);
      expect(
        (await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: 'hello' })).status,
      ).toBe(403);
      expect(await storage.head('a/c')).toBeNull();
      // Signed anew at the clock's time, it works again (the wall clock is a minute behind).
      const again = await storage.signDownload('a/b', { expiresInSeconds: 60 });
      expect(await (await fetch(again.url)).text()).toBe('hello');
    } finally {
      await close();
    }
  });

  it('answers 404 for paths that are no key of its own, or not even valid percent-encoding', async () => {
    const { storage, close } = await localStorage();
    try {
      const upload = await storage.signUpload('a/b', {
        contentType: 'text/plain',
        size: 1,
        expiresInSeconds: 60,
      });
      const base = new URL(upload.url);
      for (const path of ['/blobs/%E0%A4%A', '/blobs/..%2Fsecret', '/blobs/']) {
        expect((await fetch(new URL(path + base.search, base))).status).toBe(404);
      }
    } finally {
      await close();
    }
  });
});
