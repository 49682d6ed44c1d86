import type { PrismaClient } from './database.js';

/** What the presence subgraph keeps durably for one user. */
export interface PresenceRecord {
  userId: string;
  lastSeenAt: Date | null;
  hideLastSeen: boolean;
}

/** Last seen times and settings in PostgreSQL: what must outlive Redis. */
export interface PresenceRecordStore {
  /** The records of these users (UUIDs); users without one are absent. One query. */
  byUserIds(userIds: readonly string[]): Promise<Map<string, PresenceRecord>>;
  /** Moves each user's last seen forward to the time given (never back: replicas may write out of order). One statement. */
  recordLastSeen(entries: ReadonlyArray<{ userId: string; lastSeenAt: Date }>): Promise<void>;
  setHideLastSeen(userId: string, hideLastSeen: boolean): Promise<PresenceRecord>;
  /** Deletes the user's record (a deleted account). */
  forget(userId: string): Promise<void>;
}

export function createPostgresPresenceRecordStore(prisma: PrismaClient): PresenceRecordStore {
  return {
    async byUserIds(userIds) {
      if (userIds.length === 0) return new Map();
      const rows = await prisma.userPresence.findMany({
        where: { userId: { in: [...userIds] } },
        select: { userId: true, lastSeenAt: true, hideLastSeen: true },
      });
      return new Map(rows.map((row) => [row.userId, row]));
    },
    async recordLastSeen(entries) {
      if (entries.length === 0) return;
      const userIds = entries.map((entry) => entry.userId);
      const times = entries.map((entry) => entry.lastSeenAt.toISOString());
      await prisma.$executeRaw`
        INSERT INTO user_presence (user_id, last_seen_at)
        SELECT * FROM unnest(${userIds}::uuid[], ${times}::timestamptz[])
        ON CONFLICT (user_id) DO UPDATE
          SET last_seen_at = GREATEST(user_presence.last_seen_at, EXCLUDED.last_seen_at),
              updated_at = now()`;
    },
    async forget(userId) {
      await prisma.userPresence.deleteMany({ where: { userId } });
    },
    async setHideLastSeen(userId, hideLastSeen) {
      return prisma.userPresence.upsert({
        where: { userId },
        create: { userId, hideLastSeen },
        update: { hideLastSeen },
        select: { userId: true, lastSeenAt: true, hideLastSeen: true },
      });
    },
  };
}
