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

    /** Of `userIds`, those who have `contactId` in their contacts (one query for a whole list). */
    async contactOwnersAmong(contactId: string, userIds: readonly string[]): Promise<Set<string>> {
      const rows = await prisma.contact.findMany({
        where: { contactId, ownerId: { in: [...userIds] } },
        select: { ownerId: true },
      });
      return new Set(rows.map((row) => row.ownerId));
    },

    /** Each owner's contacts, in id order (one query for the whole list); owners without any are absent. */
    async contactIdsOf(ownerIds: readonly string[]): Promise<Map<string, string[]>> {
      const rows = await prisma.contact.findMany({
        where: { ownerId: { in: [...ownerIds] } },
        select: { ownerId: true, contactId: true },
      });
      return groupSorted(rows.map((row) => [row.ownerId, row.contactId] as const));
    },

    /**
     * For each of `userIds`, everyone on the other side of a block with them, whichever way it goes, once
     * each and in id order (one query for the whole list); users without any block are absent.
     */
    async blockRelationsOf(userIds: readonly string[]): Promise<Map<string, string[]>> {
      const ids = [...userIds];
      const rows = await prisma.block.findMany({
        where: { OR: [{ blockerId: { in: ids } }, { blockedId: { in: ids } }] },
        select: { blockerId: true, blockedId: true },
      });
      const asked = new Set(ids);
      return groupSorted(
        rows
          .flatMap((row) => [
            [row.blockerId, row.blockedId] as const,
            [row.blockedId, row.blockerId] as const,
          ])
          .filter(([userId]) => asked.has(userId)),
      );
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

/** Values by key, each once, sorted. */
function groupSorted(pairs: Iterable<readonly [string, string]>): Map<string, string[]> {
  const groups = new Map<string, Set<string>>();
  for (const [key, value] of pairs) {
    const group = groups.get(key) ?? new Set<string>();
    groups.set(key, group.add(value));
  }
  return new Map([...groups].map(([key, values]) => [key, [...values].sort()]));
}

export type ContactStore = ReturnType<typeof createContactStore>;
