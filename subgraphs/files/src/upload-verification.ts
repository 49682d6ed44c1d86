import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { checkContentType, SNIFF_BYTES } from './content/content-type.js';
import { makeThumbnail, THUMBNAIL_SOURCE_TYPES } from './content/thumbnail.js';
import { originalKey, thumbnailKey, type FileRecord } from './data/file-store.js';
import type { BlobStorage } from './storage/blob-storage.js';

/** Images larger than this get no thumbnail (the file is still accepted). */
export const MAX_THUMBNAIL_SOURCE_BYTES = 25 * 1024 * 1024;

/**
 * Images checked at once by this process: each is held whole (up to 25 MiB) and decoded (a 50-megapixel
 * image takes about 200 MB), so many completeUpload calls at once queue here instead of exhausting memory.
 * Other files are streamed through the hash with only their first bytes kept.
 */
const imageChecks = pLimit(2);

export interface VerifiedFile {
  contentType: string | null;
  width: number | null;
  height: number | null;
  hasThumbnail: boolean;
}

/** Why an upload is refused: `extensions.reason` of completeUpload's error. */
export type UploadProblem =
  'NOT_UPLOADED' | 'SIZE_MISMATCH' | 'SHA256_MISMATCH' | 'TYPE_MISMATCH' | 'EXECUTABLE' | 'UNREADABLE_IMAGE';

export type Verification =
  { ok: true; found: VerifiedFile } | { ok: false; code: UploadProblem; reason: string };

/**
 * What completeUpload checks before a file becomes usable: the bytes are there, exactly the declared size
 * and SHA-256, and of the declared type by their magic numbers; an image also gets its thumbnail (written to
 * storage) and dimensions. Reads the bytes once, as a stream.
 */
export function verifyUpload(file: FileRecord, storage: BlobStorage): Promise<Verification> {
  return keepsWhole(file) ? imageChecks(() => verifyNow(file, storage)) : verifyNow(file, storage);
}

const keepsWhole = (file: FileRecord) =>
  THUMBNAIL_SOURCE_TYPES.has(file.declaredType) && file.size <= MAX_THUMBNAIL_SOURCE_BYTES;

async function verifyNow(file: FileRecord, storage: BlobStorage): Promise<Verification> {
  const key = originalKey(file.id);
  const stored = await storage.head(key);
  const notUploaded = { ok: false, code: 'NOT_UPLOADED', reason: 'No bytes were uploaded' } as const;
  if (!stored) return notUploaded;
  if (stored.size !== file.size) {
    return {
      ok: false,
      code: 'SIZE_MISMATCH',
      reason: `${stored.size} bytes were uploaded, ${file.size} were declared`,
    };
  }
  const stream = await storage.read(key);
  if (!stream) return notUploaded;

  const keepAll = keepsWhole(file);
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let keptBytes = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk as Buffer);
    hash.update(bytes);
    if (keepAll || keptBytes < SNIFF_BYTES) {
      kept.push(bytes);
      keptBytes += bytes.length;
    }
  }
  if (hash.digest('hex') !== file.sha256.toLowerCase()) {
    return { ok: false, code: 'SHA256_MISMATCH', reason: 'The bytes do not match the declared SHA-256' };
  }
  const bytes = Buffer.concat(kept);
  const verdict = await checkContentType(file.declaredType, bytes);
  if (!verdict.ok) return { ok: false, code: verdict.code, reason: verdict.reason };

  if (!keepAll)
    return {
      ok: true,
      found: { contentType: verdict.detected, width: null, height: null, hasThumbnail: false },
    };
  let thumbnail;
  try {
    thumbnail = await makeThumbnail(bytes);
  } catch {
    return { ok: false, code: 'UNREADABLE_IMAGE', reason: 'The image could not be read' };
  }
  await storage.write(thumbnailKey(file.id), thumbnail.bytes, thumbnail.contentType);
  return {
    ok: true,
    found: {
      contentType: verdict.detected,
      width: thumbnail.sourceWidth,
      height: thumbnail.sourceHeight,
      hasThumbnail: true,
    },
  };
}
