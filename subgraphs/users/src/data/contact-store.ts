import type { PrismaClient, User } from '../generated/prisma/client.js';

/** Contacts (one-way, like an address book) and blocks, each keyset-paginated by the other user's username. */
export function createContactStore(prisma: PrismaClient) {
  return {
    async addContact(ownerId: string, contactId: string): Promise<void> {
      // createMany skips an existing pair in the database itself; upsert would race (select, then insert).
      await prisma.contact.createMany({ data: [{ ownerId, contactId }], skipDuplicates: true });
    },

    async removeContact(ownerId: string, contactId: string): Promise<void> {
      await prisma.contact.deleteMany({ where: { ownerId, contactId } });
    },

    async listContacts(ownerId: string, limit: number, afterUsername: string | null): Promise<User[]> {
      const rows = await prisma.contact.findMany({
        where: {
          ownerId,
          ...(afterUsername === null ? {} : { contact: { username: { gt: afterUsername } } }),
        },
        include: { contact: true },
        orderBy: { contact: { username: 'asc' } },
        take: limit + 1,
      });
      return rows.map((row) => row.contact);
    },

    /** Of `userIds`, those in `ownerId`'s contacts (one query for a whole page of users). */
    async contactsAmong(ownerId: string, userIds: readonly string[]): Promise<Set<string>> {
      const rows = await prisma.contact.findMany({
        where: { ownerId, contactId: { in: [...userIds] } },
        select: { contactId: true },
      });
      return new Set(rows.map((row) => row.contactId));
    },

    /** Blocking also drops the contact entries between the two users, in both directions. */
    async block(blockerId: string, blockedId: string): Promise<void> {
      await prisma.$transaction([
        prisma.block.createMany({ data: [{ blockerId, blockedId }], skipDuplicates: true }),
        prisma.contact.deleteMany({
          where: {
            OR: [
              { ownerId: blockerId, contactId: blockedId },
              { ownerId: blockedId, contactId: blockerId },
            ],
          },
        }),
      ]);
    },

    async unblock(blockerId: string, blockedId: string): Promise<void> {
      await prisma.block.deleteMany({ where: { blockerId, blockedId } });
    },

    async listBlocked(blockerId: string, limit: number, afterUsername: string | null): Promise<User[]> {
      const rows = await prisma.block.findMany({
        where: {
          blockerId,
          ...(afterUsername === null ? {} : { blocked: { username: { gt: afterUsername } } }),
        },
        include: { blocked: true },
        orderBy: { blocked: { username: 'asc' } },
        take: limit + 1,
      });
      return rows.map((row) => row.blocked);
    },

    /** Of `userIds`, those `blockerId` has blocked. */
    async blockedAmong(blockerId: string, userIds: readonly string[]): Promise<Set<string>> {
      const rows = await prisma.block.findMany({
        where: { blockerId, blockedId: { in: [...userIds] } },
        select: { blockedId: true },
      });
      return new Set(rows.map((row) => row.blockedId));
    },

    /** Of `userIds`, those who have blocked `userId`. */
    async blockersAmong(userId: string, userIds: readonly string[]): Promise<Set<string>> {
      const rows = await prisma.block.findMany({
        where: { blockedId: userId, blockerId: { in: [...userIds] } },
        select: { blockerId: true },
      });
      return new Set(rows.map((row) => row.blockerId));
    },
  };
}

export type ContactStore = ReturnType<typeof createContactStore>;
