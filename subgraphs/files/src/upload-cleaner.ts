import { originalKey, thumbnailKey, type FileStore } from './data/file-store.js';
import type { BlobStorage } from './storage/blob-storage.js';

/**
 * Gives up uploads whose time is over: deletes their bytes (and any thumbnail), then their records, at most
 * `limit` a call, oldest first. Bytes go first, so a failure leaves a record to try again, never bytes no
 * record points to. Returns how many were given up.
 */
export async function cleanUpExpiredUploads(
  deps: { files: FileStore; storage: BlobStorage },
  now: Date,
  limit: number,
): Promise<number> {
  const expired = await deps.files.expiredPending(now, limit);
  if (expired.length === 0) return 0;
  await deps.storage.delete(expired.flatMap((file) => [originalKey(file.id), thumbnailKey(file.id)]));
  for (const file of expired) await deps.files.remove(file.id);
  return expired.length;
}
