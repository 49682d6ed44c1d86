import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '@parley/kit';
import {
  attachmentDisposition,
  checkBlobKey,
  type BlobInfo,
  type BlobStorage,
  type SignedRequest,
} from './blob-storage.js';

export interface LocalBlobStorageOptions {
  /** The directory blobs are kept in (created if missing). */
  root: string;
  /** Where `handle` is reachable from clients, e.g. `http://127.0.0.1:4005/blobs`. */
  baseUrl: string;
  /** Signs the URLs (at least 32 characters; keep it secret). */
  secret: string;
  /** What signing and checking a URL's expiry go by. */
  clock: Clock;
}

export interface LocalBlobStorage extends BlobStorage {
  /** Serves signed PUTs and GETs under `baseUrl`'s path; null for a request outside it. */
  handle(request: Request): Promise<Response | null>;
}

class SignedRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const alreadyUploaded = () => new SignedRequestError(409, 'CONFLICT', 'These bytes were uploaded already');

/** How the blob endpoint answers a request it refuses: a JSON `{ error: { code, message } }` body. */
export const blobRefusal = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

/**
 * Blobs on the local filesystem, uploaded and downloaded through the files service's own endpoint with
 * URLs signed like S3's presigned ones (HMAC-SHA256 over method, key, expiry, size, type and file name).
 * A PUT must carry the signed type and exactly the signed size; bytes beyond it are refused as they arrive,
 * and nothing is kept of a refused upload. A PUT never replaces a blob: bytes once verified stay the bytes.
 */
export function createLocalBlobStorage(options: LocalBlobStorageOptions): LocalBlobStorage {
  if (options.secret.length < 32)
    throw new RangeError('The local blob storage secret needs 32 characters or more');
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const pathOf = (key: string) => join(options.root, checkBlobKey(key));
  // Keys start with a letter or digit: `.meta` cannot be one.
  const metaPathOf = (key: string) => join(options.root, '.meta', `${checkBlobKey(key)}.json`);

  const signature = (fields: readonly string[]) =>
    createHmac('sha256', options.secret).update(fields.join('\n')).digest('base64url');
  const fieldsOf = (method: string, key: string, params: URLSearchParams) => [
    method,
    key,
    params.get('e') ?? '',
    params.get('s') ?? '',
    params.get('t') ?? '',
    params.get('f') ?? '',
  ];

  function sign(
    method: 'PUT' | 'GET',
    key: string,
    params: Record<string, string>,
    expiresInSeconds: number,
  ) {
    const expiresAt = new Date(options.clock.now().getTime() + expiresInSeconds * 1000);
    const search = new URLSearchParams({ ...params, e: String(Math.floor(expiresAt.getTime() / 1000)) });
    search.set('sig', signature(fieldsOf(method, key, search)));
    return { url: `${new URL(key, base).toString()}?${search.toString()}`, expiresAt };
  }

  /** The key of a signed request, or the reason it is refused. */
  function verify(request: Request, url: URL): string {
    let key: string;
    try {
      key = checkBlobKey(decodeURIComponent(url.pathname.slice(base.pathname.length)));
    } catch {
      // Not a key of ours, or not even valid percent-encoding.
      throw new SignedRequestError(404, 'NOT_FOUND', 'No such blob');
    }
    const given = Buffer.from(url.searchParams.get('sig') ?? '');
    const expected = Buffer.from(signature(fieldsOf(request.method, key, url.searchParams)));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new SignedRequestError(403, 'FORBIDDEN', 'The signature does not match this request');
    }
    if (!(Number(url.searchParams.get('e')) * 1000 > options.clock.now().getTime())) {
      throw new SignedRequestError(403, 'FORBIDDEN', 'This signed URL has expired');
    }
    return key;
  }

  /**
   * Stores a blob: `fill` writes its bytes to a temporary file, moved into place with its metadata once
   * complete, so a failed or refused write leaves nothing. With `overwrite: false` an existing blob stays as
   * it is and the write is refused (CONFLICT): the move is a hard link, which fails if the name is taken.
   */
  async function keep(
    key: string,
    info: BlobInfo,
    fill: (partial: string) => Promise<void>,
    { overwrite }: { overwrite: boolean },
  ) {
    const path = pathOf(key);
    const partial = `${path}.${randomUUID()}.partial`;
    await mkdir(dirname(path), { recursive: true });
    await mkdir(dirname(metaPathOf(key)), { recursive: true });
    try {
      await fill(partial);
      // Metadata first: a blob is only there (head) with both, and the metadata of a key is always its
      // signed size and type, so writing it again for a refused duplicate changes nothing.
      await writeFile(metaPathOf(key), JSON.stringify(info));
      if (overwrite) {
        await rename(partial, path);
      } else {
        await link(partial, path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
          throw alreadyUploaded();
        });
      }
    } finally {
      await rm(partial, { force: true });
    }
  }

  async function receive(request: Request, key: string, params: URLSearchParams): Promise<Response> {
    const size = Number(params.get('s'));
    const contentType = params.get('t') ?? '';
    if (request.headers.get('content-type') !== contentType) {
      throw new SignedRequestError(403, 'FORBIDDEN', `Content-Type must be ${contentType}, as signed`);
    }
    const declared = request.headers.get('content-length');
    if (declared !== null && Number(declared) !== size) {
      throw new SignedRequestError(
        413,
        'PAYLOAD_TOO_LARGE',
        `The upload must be exactly ${size} bytes, as signed`,
      );
    }
    if (!request.body) throw new SignedRequestError(400, 'BAD_REQUEST', 'No bytes sent');
    // Refused before the body is read (link refuses it again if a concurrent PUT got there first).
    if (await storage.head(key)) throw alreadyUploaded();
    let received = 0;
    const counter = new Transform({
      transform(chunk: Uint8Array, _encoding, done) {
        received += chunk.length;
        if (received > size)
          done(new SignedRequestError(413, 'PAYLOAD_TOO_LARGE', `More than the ${size} bytes signed`));
        else done(null, chunk);
      },
    });
    await keep(
      key,
      { size, contentType },
      async (partial) => {
        // Any web stream (native, or a server adapter's own) is async-iterable; Readable.fromWeb takes only native ones.
        const body = Readable.from(request.body as unknown as AsyncIterable<Uint8Array>, {
          objectMode: false,
        });
        await pipeline(body, counter, createWriteStream(partial));
        if (received !== size) {
          throw new SignedRequestError(400, 'BAD_REQUEST', `Received ${received} bytes, ${size} were signed`);
        }
      },
      { overwrite: false },
    );
    return new Response(null, { status: 200 });
  }

  async function send(key: string, params: URLSearchParams): Promise<Response> {
    const info = await storage.head(key);
    if (!info) throw new SignedRequestError(404, 'NOT_FOUND', 'No such blob');
    const filename = params.get('f');
    const headers: Record<string, string> = {
      'content-type': info.contentType,
      'content-length': String(info.size),
      'x-content-type-options': 'nosniff',
      'cache-control': 'private, max-age=60',
    };
    if (filename) headers['content-disposition'] = attachmentDisposition(filename);
    return new Response(Readable.toWeb(createReadStream(pathOf(key))) as ReadableStream, { headers });
  }

  const storage: LocalBlobStorage = {
    async signUpload(key, { contentType, size, expiresInSeconds }) {
      checkBlobKey(key);
      const { url, expiresAt } = sign('PUT', key, { s: String(size), t: contentType }, expiresInSeconds);
      return {
        url,
        method: 'PUT',
        headers: { 'content-type': contentType },
        expiresAt,
      } satisfies SignedRequest;
    },
    async signDownload(key, { expiresInSeconds, filename }) {
      checkBlobKey(key);
      const { url, expiresAt } = sign('GET', key, filename ? { f: filename } : {}, expiresInSeconds);
      return { url, method: 'GET', headers: {}, expiresAt };
    },
    async head(key) {
      try {
        const [info] = await Promise.all([readFile(metaPathOf(key), 'utf8'), stat(pathOf(key))]);
        return JSON.parse(info) as BlobInfo;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async read(key) {
      return (await storage.head(key)) ? createReadStream(pathOf(key)) : null;
    },
    async write(key, bytes, contentType) {
      await keep(key, { size: bytes.length, contentType }, (partial) => writeFile(partial, bytes), {
        overwrite: true,
      });
    },
    async delete(keys) {
      await Promise.all(
        keys.flatMap((key) => [rm(pathOf(key), { force: true }), rm(metaPathOf(key), { force: true })]),
      );
    },
    async handle(request) {
      const url = new URL(request.url);
      if (!url.pathname.startsWith(base.pathname)) return null;
      try {
        if (request.method !== 'PUT' && request.method !== 'GET') {
          throw new SignedRequestError(405, 'METHOD_NOT_ALLOWED', 'Only signed PUT and GET');
        }
        const key = verify(request, url);
        return request.method === 'PUT'
          ? await receive(request, key, url.searchParams)
          : await send(key, url.searchParams);
      } catch (error) {
        if (error instanceof SignedRequestError) return blobRefusal(error.status, error.code, error.message);
        throw error;
      }
    },
  };
  return storage;
}
