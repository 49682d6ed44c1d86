import type { Readable } from 'node:stream';

/** What a client needs to send or fetch a blob directly: the URL, and headers it must send with it. */
export interface SignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface BlobInfo {
  size: number;
  contentType: string;
}

/**
 * Where file bytes live. Clients upload and download directly with short-lived signed URLs (an S3
 * presigned request, or the files service's own signed endpoint for local storage); the service reads a
 * blob back to verify it and writes derived blobs (thumbnails) itself. Keys are the service's own
 * (`checkBlobKey`): never taken from a client.
 */
export interface BlobStorage {
  /**
   * A PUT of exactly `size` bytes of `contentType` to `key`, valid for `expiresInSeconds`, refused once `key`
   * holds a blob (so bytes the service verified cannot be swapped for others with the same URL).
   */
  signUpload(
    key: string,
    options: { contentType: string; size: number; expiresInSeconds: number },
  ): Promise<SignedRequest>;
  /** A GET of `key`, valid for `expiresInSeconds`; `filename` names the download. */
  signDownload(key: string, options: { expiresInSeconds: number; filename?: string }): Promise<SignedRequest>;
  /** Size and type of a stored blob; null when there is none. */
  head(key: string): Promise<BlobInfo | null>;
  /** The blob's bytes as a stream; null when there is none. */
  read(key: string): Promise<Readable | null>;
  /** Stores bytes the service made itself (thumbnails). */
  write(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** Deletes blobs; a key with no blob is fine. */
  delete(keys: readonly string[]): Promise<void>;
}

const KEY = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_.-]*)*$/;

/** Keys are lower-case path segments of letters, digits, `_`, `-` (and `.` after the first): no `..`, no `/` at either end. */
export function checkBlobKey(key: string): string {
  if (key.length > 512 || !KEY.test(key) || key.includes('..')) {
    throw new RangeError(`Not a blob key: ${JSON.stringify(key)}`);
  }
  return key;
}

/** The Content-Disposition of a download saved as `filename` (any characters, RFC 6266 encoding). */
export const attachmentDisposition = (filename: string) =>
  `attachment; filename*=UTF-8''${encodeURIComponent(filename)}`;
