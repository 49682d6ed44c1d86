import { createRelayLoop, type Clock, type Logger } from '@parley/kit';
import { originalKey, thumbnailKey, type FileStore } from './data/file-store.js';
import type { FilesService } from './files-service.js';
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
  for (const file of expired) await deps.files.remove(file.id, 'PENDING');
  return expired.length;
}

/** Rows the cleaner handles per step (given-up uploads, released files and forgotten shares each). */
const CLEANUP_BATCH = 100;

/**
 * The background cleanup of a files instance: given-up uploads, released files past their grace period, and
 * shares no send will confirm (`flush` runs them until nothing is left; `start` runs it on a timer). Several
 * instances may run it: deletions of bytes and records are idempotent.
 */
export function createFilesCleaner(deps: {
  files: FileStore;
  storage: BlobStorage;
  service: Pick<FilesService, 'cleanUpReleased' | 'cleanUpShares'>;
  /** What "its time is over" goes by (the service's clock). */
  clock: Clock;
  logger: Logger;
}) {
  return createRelayLoop({
    batchSize: CLEANUP_BATCH,
    logger: deps.logger,
    deliverBatch: async () => {
      const now = deps.clock.now();
      // One failing (users unreachable, say) does not hold up the others; each is tried at the next tick.
      const attempt = (what: string, run: () => Promise<number>) =>
        run().catch((error: unknown) => {
          deps.logger.warn({ err: error }, `files cleanup of ${what} failed; retrying at the next tick`);
          return 0;
        });
      const [expired, released, shares] = await Promise.all([
        attempt('given-up uploads', () => cleanUpExpiredUploads(deps, now, CLEANUP_BATCH)),
        attempt('released files', () => deps.service.cleanUpReleased(now, CLEANUP_BATCH)),
        attempt('shares', () => deps.service.cleanUpShares(now, CLEANUP_BATCH)),
      ]);
      if (expired + released + shares > 0)
        deps.logger.info({ expired, released, shares }, 'files cleaned up');
      return Math.max(expired, released, shares);
    },
  });
}
