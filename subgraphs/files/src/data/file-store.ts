import type { File as FileRow } from '../generated/prisma/client.js';
import type { PrismaClient } from './database.js';

export type FileRecord = FileRow;

/** Where a file's bytes and its thumbnail are kept in blob storage (see checkBlobKey). */
export const originalKey = (fileId: string) => `originals/${fileId}`;
export const thumbnailKey = (fileId: string) => `thumbnails/${fileId}.webp`;

export interface NewFile {
  ownerId: string;
  name: string;
  size: number;
  declaredType: string;
  sha256: string;
  metadata: string | null;
  expiresAt: Date;
}

/** File metadata in PostgreSQL; resolvers and rules never see Prisma. */
export interface FileStore {
  /**
   * Records a PENDING file unless it would take the owner past `quotaBytes` (READY files and PENDING ones
   * not given up by `now` count): concurrent uploads of one owner are counted one after another.
   */
  createPending(file: NewFile, quotaBytes: number, now: Date): Promise<FileRecord | 'quota'>;
  byIds(ids: readonly string[]): Promise<FileRecord[]>;
  /**
   * PENDING → READY (completed `now`) with what verification found; null if it was not PENDING, or its
   * upload time is over by `now`.
   */
  markReady(
    id: string,
    found: { contentType: string | null; width: number | null; height: number | null; hasThumbnail: boolean },
    now: Date,
  ): Promise<FileRecord | null>;
  /** Deletes the record if it still has `status` (a file made READY meanwhile stays); whether it did. */
  remove(id: string, status: FileRecord['status']): Promise<boolean>;
  /** PENDING files whose upload time is over, oldest first (their bytes are to be deleted with them). */
  expiredPending(now: Date, limit: number): Promise<FileRecord[]>;
  /** Bytes the owner's files take (as createPending counts them). */
  usedBytes(ownerId: string, now: Date): Promise<number>;
  /** Marks READY files no message carries any more (unless already marked): the cleaner deletes them later. */
  release(ids: readonly string[], at: Date): Promise<void>;
  /** Files released at or before `cutoff`, oldest first. */
  releasedBefore(cutoff: Date, limit: number): Promise<FileRecord[]>;
  /** Unmarks released files that turned out to be attached again. */
  keep(ids: readonly string[]): Promise<void>;
}

export function createFileStore(prisma: PrismaClient): FileStore {
  const used = async (client: Pick<PrismaClient, 'file'>, ownerId: string, now: Date) => {
    const { _sum } = await client.file.aggregate({
      where: { ownerId, OR: [{ status: 'READY' }, { status: 'PENDING', expiresAt: { gt: now } }] },
      _sum: { size: true },
    });
    return _sum.size ?? 0;
  };

  return {
    async createPending(file, quotaBytes, now) {
      return prisma.$transaction(async (tx) => {
        // One owner's uploads queue here, so two cannot both fit in the last bytes of a quota.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`files:${file.ownerId}`}))`;
        if ((await used(tx, file.ownerId, now)) + file.size > quotaBytes) return 'quota' as const;
        return tx.file.create({ data: { ...file, status: 'PENDING' } });
      });
    },
    async byIds(ids) {
      if (ids.length === 0) return [];
      return prisma.file.findMany({ where: { id: { in: [...ids] } } });
    },
    async markReady(id, found, now) {
      const { count } = await prisma.file.updateMany({
        where: { id, status: 'PENDING', expiresAt: { gt: now } },
        data: { ...found, status: 'READY', expiresAt: null, completedAt: now },
      });
      return count === 1 ? prisma.file.findUnique({ where: { id } }) : null;
    },
    async remove(id, status) {
      const { count } = await prisma.file.deleteMany({ where: { id, status } });
      return count === 1;
    },
    async expiredPending(now, limit) {
      return prisma.file.findMany({
        where: { status: 'PENDING', expiresAt: { lte: now } },
        orderBy: { expiresAt: 'asc' },
        take: limit,
      });
    },
    usedBytes: (ownerId, now) => used(prisma, ownerId, now),
    async release(ids, at) {
      if (ids.length === 0) return;
      await prisma.file.updateMany({
        where: { id: { in: [...ids] }, status: 'READY', releasedAt: null },
        data: { releasedAt: at },
      });
    },
    async releasedBefore(cutoff, limit) {
      return prisma.file.findMany({
        where: { releasedAt: { lte: cutoff } },
        orderBy: { releasedAt: 'asc' },
        take: limit,
      });
    },
    async keep(ids) {
      if (ids.length === 0) return;
      await prisma.file.updateMany({ where: { id: { in: [...ids] } }, data: { releasedAt: null } });
    },
  };
}
