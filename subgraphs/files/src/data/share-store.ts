import type { PrismaClient } from './database.js';

/** Of some files: those a message's row carries (`confirmed`), and those only a pending row carries (`pending`). */
export interface Carried {
  confirmed: Set<string>;
  pending: Set<string>;
}

/**
 * Where files were sent (`file_shares`): this service's own record of the conversations whose members may see
 * each file, fed by messages (shareFiles before a send, `messages.added` and `messages.deleted` after). A row
 * carries its file while it is not deleted: pending (no message yet) or confirmed (a message's). Ids are
 * lower-case UUIDs (storedIds); files that do not exist are passed over.
 */
export interface ShareStore {
  /** Records these files as being sent in the conversation (pending rows, dated `at`). */
  recordPending(conversationId: string, fileIds: readonly string[], at: Date): Promise<void>;
  /**
   * The message was stored carrying these files: records each (file, message) once (a redelivery is a
   * no-op, and so is a message already deleted here), and removes the pending rows of those files in the
   * conversation, in one transaction.
   */
  confirm(conversationId: string, messageId: string, fileIds: readonly string[]): Promise<void>;
  /**
   * The message was deleted: its rows of these files carry nothing from `at` on, and one not recorded yet
   * (its `messages.added` not read yet) is recorded deleted, so that event cannot revive it.
   */
  unshare(conversationId: string, messageId: string, fileIds: readonly string[], at: Date): Promise<void>;
  /** Per file: the conversations a row carrying it names (files carried nowhere are absent). */
  conversationsOf(fileIds: readonly string[]): Promise<Map<string, string[]>>;
  carried(fileIds: readonly string[]): Promise<Carried>;
  /** Deletes pending rows recorded before `cutoff` (their send failed); how many. */
  dropPendingBefore(cutoff: Date, limit: number): Promise<number>;
  /** Deletes the rows of messages deleted before `cutoff`; how many. */
  dropDeletedBefore(cutoff: Date, limit: number): Promise<number>;
}

export function createShareStore(prisma: PrismaClient): ShareStore {
  return {
    async recordPending(conversationId, fileIds, at) {
      if (fileIds.length === 0) return;
      await prisma.fileShare.createMany({
        data: fileIds.map((fileId) => ({ fileId, conversationId, createdAt: at })),
      });
    },

    async confirm(conversationId, messageId, fileIds) {
      if (fileIds.length === 0) return;
      await prisma.$transaction([
        // Only files that exist (one deleted meanwhile has nothing to share); a deleted row stays deleted.
        prisma.$executeRaw`
          INSERT INTO file_shares (file_id, conversation_id, message_id)
          SELECT id, ${conversationId}::uuid, ${messageId}::uuid FROM files WHERE id = ANY(${[...fileIds]}::uuid[])
          ON CONFLICT (file_id, message_id) DO NOTHING`,
        prisma.fileShare.deleteMany({
          where: { conversationId, fileId: { in: [...fileIds] }, messageId: null },
        }),
      ]);
    },

    async unshare(conversationId, messageId, fileIds, at) {
      if (fileIds.length === 0) return;
      await prisma.$executeRaw`
        INSERT INTO file_shares (file_id, conversation_id, message_id, deleted_at)
        SELECT id, ${conversationId}::uuid, ${messageId}::uuid, ${at} FROM files WHERE id = ANY(${[...fileIds]}::uuid[])
        ON CONFLICT (file_id, message_id)
        DO UPDATE SET deleted_at = COALESCE(file_shares.deleted_at, EXCLUDED.deleted_at)`;
    },

    async conversationsOf(fileIds) {
      if (fileIds.length === 0) return new Map();
      const rows = await prisma.fileShare.findMany({
        where: { fileId: { in: [...fileIds] }, deletedAt: null },
        select: { fileId: true, conversationId: true },
        distinct: ['fileId', 'conversationId'],
      });
      const conversations = new Map<string, string[]>();
      for (const { fileId, conversationId } of rows) {
        conversations.set(fileId, [...(conversations.get(fileId) ?? []), conversationId]);
      }
      return conversations;
    },

    async carried(fileIds) {
      const carried: Carried = { confirmed: new Set(), pending: new Set() };
      if (fileIds.length === 0) return carried;
      const rows = await prisma.fileShare.findMany({
        where: { fileId: { in: [...fileIds] }, deletedAt: null },
        select: { fileId: true, messageId: true },
      });
      for (const { fileId, messageId } of rows) {
        (messageId === null ? carried.pending : carried.confirmed).add(fileId);
      }
      for (const fileId of carried.confirmed) carried.pending.delete(fileId);
      return carried;
    },

    async dropPendingBefore(cutoff, limit) {
      return prisma.$executeRaw`
        DELETE FROM file_shares WHERE id IN (
          SELECT id FROM file_shares WHERE message_id IS NULL AND created_at < ${cutoff} LIMIT ${limit})`;
    },

    async dropDeletedBefore(cutoff, limit) {
      return prisma.$executeRaw`
        DELETE FROM file_shares WHERE id IN (
          SELECT id FROM file_shares WHERE deleted_at < ${cutoff} LIMIT ${limit})`;
    },
  };
}
