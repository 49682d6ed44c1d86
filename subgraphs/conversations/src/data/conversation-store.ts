import type { MemberRole } from '@parley/membership';
import type { ConversationKind } from '../generated/prisma/enums.js';
import { conversationEvents } from '../events.js';
import { Prisma, type PrismaClient, type Transaction } from './database.js';
import { addOutboxEvent } from './outbox.js';

export type { ConversationKind, MemberRole };

/** A conversation as one member sees it: the shared row plus that member's own state. */
export interface ConversationView {
  id: string;
  kind: ConversationKind;
  title: string | null;
  description: string | null;
  avatarFileId: string | null;
  createdAt: Date;
  lastActivityAt: Date;
  lastSeq: number;
  lastMessageId: string | null;
  memberCount: number;
  viewer: MemberState;
}

export interface MemberState {
  userId: string;
  role: MemberRole;
  joinedAt: Date;
  readSeq: number;
  mutedUntil: Date | null;
  archivedAt: Date | null;
  pinnedAt: Date | null;
  /** Unread messages that mention this member. */
  mentionCount: number;
}

export interface Member {
  userId: string;
  role: MemberRole;
  joinedAt: Date;
  readSeq: number;
  deliveredSeq: number;
}

/** A place in `me.conversations`: position is where the conversation stood at `snapshot`. */
export interface ListPosition {
  snapshot: Date;
  position: Date;
  id: string;
}

export interface ListFilter {
  archived: boolean | null;
  pinned: boolean | null;
  kind: ConversationKind | null;
}

export interface MemberPosition {
  rank: number;
  joinedAt: Date;
  userId: string;
}

const ROLE_RANK: Record<MemberRole, number> = { OWNER: 0, ADMIN: 1, MEMBER: 2 };

interface ViewRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  description: string | null;
  avatar_file_id: string | null;
  created_at: Date;
  last_activity_at: Date;
  last_seq: number;
  last_message_id: string | null;
  member_count: number;
  user_id: string;
  role: MemberRole;
  joined_at: Date;
  read_seq: number;
  muted_until: Date | null;
  archived_at: Date | null;
  pinned_at: Date | null;
  mention_count: number;
}

const toView = (row: ViewRow): ConversationView => ({
  id: row.id,
  kind: row.kind,
  title: row.title,
  description: row.description,
  avatarFileId: row.avatar_file_id,
  createdAt: row.created_at,
  lastActivityAt: row.last_activity_at,
  lastSeq: row.last_seq,
  lastMessageId: row.last_message_id,
  memberCount: row.member_count,
  viewer: {
    userId: row.user_id,
    role: row.role,
    joinedAt: row.joined_at,
    readSeq: row.read_seq,
    mutedUntil: row.muted_until,
    archivedAt: row.archived_at,
    pinnedAt: row.pinned_at,
    mentionCount: Number(row.mention_count),
  },
});

// The columns of a ConversationView, from `conversations c` joined with the member's row `m`.
const VIEW_COLUMNS = Prisma.sql`
  c.id, c.kind, c.title, c.description, c.avatar_file_id, c.created_at, c.last_activity_at, c.last_seq,
  c.last_message_id, c.member_count, m.user_id, m.role, m.joined_at, m.read_seq, m.muted_until,
  m.archived_at, m.pinned_at,
  (SELECT count(*)::int FROM mentions mm
    WHERE mm.conversation_id = c.id AND mm.user_id = m.user_id AND mm.seq > m.read_seq) AS mention_count`;

/** All database access of the conversations subgraph. */
/** Owners first, then admins, then members: the order member lists are in. */
const memberRank = Prisma.sql`CASE m.role WHEN 'OWNER' THEN 0 WHEN 'ADMIN' THEN 1 ELSE 2 END`;

interface MemberRow {
  user_id: string;
  role: MemberRole;
  joined_at: Date;
  read_seq: number;
  delivered_seq: number;
}

const toMember = (row: MemberRow): Member => ({
  userId: row.user_id,
  role: row.role,
  joinedAt: row.joined_at,
  readSeq: row.read_seq,
  deliveredSeq: row.delivered_seq,
});

export function createConversationStore(prisma: PrismaClient) {
  return {
    transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
      return prisma.$transaction(work);
    },

    /** The conversations among `ids` that `userId` belongs to, as that member sees them. */
    async viewsForMember(userId: string, ids: readonly string[], tx: Transaction = prisma) {
      if (ids.length === 0) return new Map<string, ConversationView>();
      const rows = await tx.$queryRaw<ViewRow[]>`
        SELECT ${VIEW_COLUMNS}
        FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.user_id = ${userId}::uuid AND m.conversation_id = ANY(${[...ids]}::uuid[])`;
      return new Map(rows.map((row) => [row.id, toView(row)]));
    },

    /**
     * The member's conversations by last activity, newest first, after `after`. Each conversation is
     * placed where it stood at the snapshot (the first page's time): one whose activity changed since is
     * placed by the activity it had then (activity_changes), so pages never skip or repeat it. Cost grows
     * with the member's conversation count, not the table's.
     */
    async listForMember(
      userId: string,
      options: { limit: number; snapshot: Date; after: ListPosition | null; filter: ListFilter },
    ) {
      const { after, filter, snapshot } = options;
      const conditions = [Prisma.sql`m.user_id = ${userId}::uuid`];
      if (filter.archived !== null)
        conditions.push(
          filter.archived ? Prisma.sql`m.archived_at IS NOT NULL` : Prisma.sql`m.archived_at IS NULL`,
        );
      if (filter.pinned !== null)
        conditions.push(
          filter.pinned ? Prisma.sql`m.pinned_at IS NOT NULL` : Prisma.sql`m.pinned_at IS NULL`,
        );
      if (filter.kind !== null) conditions.push(Prisma.sql`c.kind = ${filter.kind}::"ConversationKind"`);
      if (after)
        conditions.push(Prisma.sql`(p.position, c.id) < (${after.position}::timestamptz, ${after.id}::uuid)`);
      const rows = await prisma.$queryRaw<(ViewRow & { position: Date })[]>`
        SELECT ${VIEW_COLUMNS}, p.position
        FROM conversation_members m
        JOIN conversations c ON c.id = m.conversation_id
        CROSS JOIN LATERAL (
          SELECT CASE WHEN c.last_activity_at <= ${snapshot}::timestamptz THEN c.last_activity_at
            ELSE COALESCE(
              (SELECT ch.previous_activity_at FROM activity_changes ch
                WHERE ch.conversation_id = c.id AND ch.changed_at > ${snapshot}::timestamptz
                ORDER BY ch.changed_at, ch.id LIMIT 1),
              c.last_activity_at)
          END AS position
        ) p
        WHERE ${Prisma.join(conditions, ' AND ')}
        ORDER BY p.position DESC, c.id DESC
        LIMIT ${options.limit + 1}`;
      return rows.map((row) => ({ view: toView(row), position: row.position }));
    },

    /** The database clock: list snapshots and activity use it, never a service's clock. */
    async now(): Promise<Date> {
      const [row] = await prisma.$queryRaw<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
      return row!.now;
    },

    /** Members ordered by role then join time, after `after`. */
    async listMembers(conversationId: string, limit: number, after: MemberPosition | null) {
      const afterCondition = after
        ? Prisma.sql`AND (${memberRank}, m.joined_at, m.user_id) > (${after.rank}, ${after.joinedAt}::timestamptz, ${after.userId}::uuid)`
        : Prisma.empty;
      const rows = await prisma.$queryRaw<MemberRow[]>`
        SELECT m.user_id, m.role, m.joined_at, m.read_seq, m.delivered_seq FROM conversation_members m
        WHERE m.conversation_id = ${conversationId}::uuid ${afterCondition}
        ORDER BY ${memberRank}, m.joined_at, m.user_id
        LIMIT ${limit + 1}`;
      return rows.map(toMember);
    },

    /**
     * The first `limit + 1` members (owners, admins, then by joining) of each conversation among `ids`, in one
     * query: a page of conversations listing their members costs one round trip, not one per conversation.
     */
    async firstMembersOf(ids: readonly string[], limit: number) {
      const rows = await prisma.$queryRaw<(MemberRow & { conversation_id: string })[]>`
        SELECT conversation_id, user_id, role, joined_at, read_seq, delivered_seq FROM (
          SELECT m.*, row_number() OVER (
            PARTITION BY m.conversation_id ORDER BY ${memberRank}, m.joined_at, m.user_id
          ) AS position
          FROM conversation_members m WHERE m.conversation_id = ANY(${[...ids]}::uuid[])
        ) ranked
        WHERE position <= ${limit + 1}
        ORDER BY conversation_id, position`;
      const members = new Map<string, Member[]>();
      for (const row of rows) {
        const list = members.get(row.conversation_id) ?? [];
        list.push(toMember(row));
        members.set(row.conversation_id, list);
      }
      return members;
    },

    /** The other member of each direct conversation among `ids`, for `userId`. */
    async peersOf(userId: string, ids: readonly string[]) {
      const rows = await prisma.conversationMember.findMany({
        where: {
          conversationId: { in: [...ids] },
          userId: { not: userId },
          conversation: { kind: 'DIRECT' },
        },
        select: { conversationId: true, userId: true },
      });
      return new Map(rows.map((row) => [row.conversationId, row.userId]));
    },

    /** Every conversation `userId` belongs to, archived ones included. */
    async idsForMember(userId: string): Promise<string[]> {
      const rows = await prisma.conversationMember.findMany({
        where: { userId },
        select: { conversationId: true },
      });
      return rows.map((row) => row.conversationId);
    },

    /**
     * Of `userIds`, those who share with `userId` a conversation they took part in (see `coMembersOf`), never
     * `userId` itself, in one query. A deleted conversation has no member rows left (deletion cascades).
     */
    async coMembersAmong(userId: string, userIds: readonly string[]): Promise<Set<string>> {
      const rows = await prisma.$queryRaw<{ user_id: string }[]>`
        SELECT DISTINCT other.user_id::text AS user_id
        FROM conversation_members me
        JOIN conversation_members other ON other.conversation_id = me.conversation_id
        WHERE me.user_id = ${userId}::uuid
          AND other.user_id = ANY(${[...userIds]}::uuid[])
          AND other.user_id <> me.user_id
          AND (other.created_it OR other.read_seq > 0)`;
      return new Set(rows.map((row) => row.user_id));
    },

    /**
     * For each of `userIds`, every other member of the conversations they took part in, once each and in id
     * order, in one query; users with none are absent.
     *
     * A user "took part" in a conversation they created (this membership did: one who left and was added
     * back starts again) or where they sent or read a message (sending moves the sender's read marker; a new
     * membership starts at 0): anyone may start a DM or a group with anyone, and being put in one must not
     * show a stranger the user's presence before the user answers or reads it. With `participatedOnly: false`,
     * every conversation counts: those members see the user listed, so a profile change is theirs to see.
     */
    async coMembersOf(
      userIds: readonly string[],
      { participatedOnly }: { participatedOnly: boolean },
    ): Promise<Map<string, string[]>> {
      const rows = await prisma.$queryRaw<{ user_id: string; member_ids: string[] }[]>`
        SELECT me.user_id::text AS user_id,
          array_agg(DISTINCT other.user_id::text ORDER BY other.user_id::text) AS member_ids
        FROM conversation_members me
        JOIN conversation_members other
          ON other.conversation_id = me.conversation_id AND other.user_id <> me.user_id
        WHERE me.user_id = ANY(${[...userIds]}::uuid[])
          AND (NOT ${participatedOnly}::boolean OR me.created_it OR me.read_seq > 0)
        GROUP BY me.user_id`;
      return new Map(rows.map((row) => [row.user_id, row.member_ids]));
    },

    findDirectId: async (directKey: string) =>
      (await prisma.conversation.findUnique({ where: { directKey }, select: { id: true } }))?.id ?? null,

    /**
     * Locks the conversation row for the rest of the transaction (membership changes serialize on it) and
     * returns it with the actor's membership, or null when the actor is not a member.
     */
    async lockForMember(tx: Transaction, conversationId: string, userId: string) {
      const [row] = await tx.$queryRaw<{ id: string; kind: ConversationKind; member_count: number }[]>`
        SELECT id, kind, member_count FROM conversations WHERE id = ${conversationId}::uuid FOR UPDATE`;
      if (!row) return null;
      const actor = await tx.conversationMember.findUnique({
        where: { conversationId_userId: { conversationId, userId } },
      });
      if (!actor) return null;
      return { id: row.id, kind: row.kind, memberCount: row.member_count, actorRole: actor.role };
    },

    findMember: (tx: Transaction, conversationId: string, userId: string) =>
      tx.conversationMember.findUnique({ where: { conversationId_userId: { conversationId, userId } } }),

    /** Bumps the membership version (and member count by `delta`), in the membership-changing transaction. */
    async bumpMembership(tx: Transaction, conversationId: string, memberDelta = 0) {
      await tx.conversation.update({
        where: { id: conversationId },
        data: { membershipVersion: { increment: 1 }, memberCount: { increment: memberDelta } },
      });
    },

    /**
     * The conversation's kind, members and membership version, read in one statement (one snapshot: the
     * members are exactly those of that version), for the projection; null once deleted.
     */
    async membership(conversationId: string, tx: Transaction = prisma) {
      const rows = await tx.$queryRaw<
        { version: number; kind: ConversationKind; user_id: string | null; role: MemberRole | null }[]
      >`
        SELECT c.membership_version AS version, c.kind, m.user_id, m.role
        FROM conversations c LEFT JOIN conversation_members m ON m.conversation_id = c.id
        WHERE c.id = ${conversationId}::uuid`;
      const [first] = rows;
      if (!first) return null;
      const members = new Map<string, MemberRole>();
      for (const row of rows) if (row.user_id && row.role) members.set(row.user_id, row.role);
      return { version: first.version, kind: first.kind, members };
    },

    /** The member's own settings; false when `userId` is not a member. */
    async updateMemberSettings(
      conversationId: string,
      userId: string,
      settings: { mutedUntil?: Date | null; archivedAt?: Date | null; pinnedAt?: Date | null },
    ) {
      const { count } = await prisma.conversationMember.updateMany({
        where: { conversationId, userId },
        data: settings,
      });
      return count > 0;
    },

    /**
     * Moves the member's read or delivery marker forward to `upToSeq`, never past the last message this
     * service knows; returns it. A request past that (a message whose `messages.added` has not arrived
     * yet) is remembered and applied as those events arrive (applyMessageAdded). Reading implies
     * delivery: the read marker carries the delivery marker along.
     */
    async moveMarker(
      tx: Transaction,
      marker: 'read' | 'delivered',
      conversationId: string,
      userId: string,
      upToSeq: number,
    ) {
      const column = Prisma.raw(marker === 'read' ? 'read_seq' : 'delivered_seq');
      const assignments =
        marker === 'read'
          ? Prisma.sql`read_seq = GREATEST(m.read_seq, target.new_seq),
              delivered_seq = GREATEST(m.delivered_seq, target.new_seq),
              read_requested_seq = GREATEST(m.read_requested_seq, ${upToSeq})`
          : Prisma.sql`delivered_seq = GREATEST(m.delivered_seq, target.new_seq),
              delivered_requested_seq = GREATEST(m.delivered_requested_seq, ${upToSeq})`;
      const [row] = await tx.$queryRaw<{ seq: number; moved: boolean }[]>`
        WITH target AS (
          SELECT m.${column} AS old_seq, LEAST(${upToSeq}, c.last_seq) AS new_seq
          FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.conversation_id = ${conversationId}::uuid AND m.user_id = ${userId}::uuid
          FOR UPDATE OF m
        ), updated AS (
          UPDATE conversation_members m SET ${assignments} FROM target
          WHERE m.conversation_id = ${conversationId}::uuid AND m.user_id = ${userId}::uuid
          RETURNING m.${column} AS seq
        )
        SELECT updated.seq, updated.seq > target.old_seq AS moved FROM updated, target`;
      if (!row) return null;
      if (row.moved && marker === 'read') {
        await tx.mention.deleteMany({ where: { conversationId, userId, seq: { lte: row.seq } } });
      }
      return { seq: row.seq, moved: row.moved };
    },

    /** Every member's read and delivery markers, per conversation (receipts). */
    async markers(conversationIds: readonly string[]) {
      const rows = await prisma.conversationMember.findMany({
        where: { conversationId: { in: [...conversationIds] } },
        select: { conversationId: true, userId: true, readSeq: true, deliveredSeq: true },
        orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }],
      });
      const markers = new Map(conversationIds.map((id) => [id, [] as MemberMarkers[]]));
      for (const { conversationId, ...row } of rows) markers.get(conversationId)?.push(row);
      return markers;
    },

    /**
     * Applies a message sent (messages subgraph event): the conversation's last message and activity
     * move forward (never back), the sender's read marker covers their own message, mentioned members
     * get a mention. Idempotent and order-independent. Returns whether it recorded receipt events (markers
     * asked for past the last message, moved now), for the caller to deliver.
     */
    async applyMessageAdded(
      event: {
        conversationId: string;
        messageId: string;
        seq: number;
        senderId: string;
        mentionedUserIds: string[];
      },
      receiptExclusions: ReceiptExclusions = new Map(),
    ): Promise<boolean> {
      return prisma.$transaction(async (tx) => {
        await tx.$executeRaw`
          UPDATE conversations
          SET last_seq = ${event.seq}, last_message_id = ${event.messageId}::uuid,
              last_activity_at = GREATEST(clock_timestamp(), last_activity_at)
          WHERE id = ${event.conversationId}::uuid AND last_seq < ${event.seq}`;
        // No ReadReceipt for this move: the message's own MessageAdded says it (its sender read up to its
        // seq), and a second event per send halved the fan-out the router keeps up with (bench/RESULTS.md).
        await tx.$executeRaw`
          UPDATE conversation_members
          SET read_seq = ${event.seq}, delivered_seq = GREATEST(delivered_seq, ${event.seq})
          WHERE conversation_id = ${event.conversationId}::uuid AND user_id = ${event.senderId}::uuid
            AND read_seq < ${event.seq}`;
        const mentioned = event.mentionedUserIds.filter((id) => id !== event.senderId);
        if (mentioned.length > 0) {
          await tx.$executeRaw`
            INSERT INTO mentions (conversation_id, user_id, seq)
            SELECT m.conversation_id, m.user_id, ${event.seq} FROM conversation_members m
            WHERE m.conversation_id = ${event.conversationId}::uuid AND m.user_id = ANY(${mentioned}::uuid[])
              AND m.read_seq < ${event.seq}
            ON CONFLICT DO NOTHING`;
        }
        return (await applyRequestedMarkers(tx, event.conversationId, receiptExclusions)) > 0;
      });
    },

    /** Members whose read or delivery marker waits for messages not known yet (see applyRequestedMarkers). */
    async membersWithRequestedMarkers(conversationId: string): Promise<string[]> {
      const rows = await prisma.$queryRaw<{ user_id: string }[]>`
        SELECT user_id FROM conversation_members
        WHERE conversation_id = ${conversationId}::uuid
          AND (read_requested_seq > read_seq OR delivered_requested_seq > delivered_seq)`;
      return rows.map((row) => row.user_id);
    },

    /** Forgets activity history no cursor can use any more. */
    pruneActivityChanges: (olderThan: Date) =>
      prisma.activityChange.deleteMany({ where: { changedAt: { lt: olderThan } } }),
  };
}

/**
 * Who must not receive a member's receipt events, by member: those in a block relation with them (asked of
 * the users service before the transaction).
 */
export type ReceiptExclusions = ReadonlyMap<string, readonly string[]>;

/**
 * Markers members asked for past the last message known then, applied now that more messages are known
 * (read or delivered on a device before this service heard of the message); each move is an event. A
 * member missing from `exclusions` (their marker was asked for after the users service was, or it could
 * not answer) has their events sent to nobody else: receipts never cross a block, and the markers
 * themselves are right for whoever reads them.
 */
async function applyRequestedMarkers(
  tx: Transaction,
  conversationId: string,
  exclusions: ReceiptExclusions,
): Promise<number> {
  const moved = await tx.$queryRaw<
    { user_id: string; old_read: number; new_read: number; old_delivered: number; new_delivered: number }[]
  >`
    WITH pending AS (
      SELECT m.user_id, m.read_seq AS old_read, m.delivered_seq AS old_delivered,
             GREATEST(m.read_seq, LEAST(m.read_requested_seq, c.last_seq)) AS new_read,
             GREATEST(m.delivered_seq, LEAST(GREATEST(m.delivered_requested_seq, m.read_requested_seq), c.last_seq))
               AS new_delivered
      FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.conversation_id = ${conversationId}::uuid
        AND (m.read_requested_seq > m.read_seq OR m.delivered_requested_seq > m.delivered_seq)
      FOR UPDATE OF m
    )
    UPDATE conversation_members m SET read_seq = pending.new_read, delivered_seq = pending.new_delivered
    FROM pending
    WHERE m.conversation_id = ${conversationId}::uuid AND m.user_id = pending.user_id
      AND (pending.new_read > pending.old_read OR pending.new_delivered > pending.old_delivered)
    RETURNING m.user_id, pending.old_read, pending.new_read, pending.old_delivered, pending.new_delivered`;
  for (const row of moved) {
    const userId = row.user_id;
    const excludedUserIds = [
      ...(exclusions.get(userId) ?? (await otherMemberIds(tx, conversationId, userId))),
    ];
    if (row.new_read > row.old_read) {
      await tx.mention.deleteMany({ where: { conversationId, userId, seq: { lte: row.new_read } } });
      await addOutboxEvent(tx, conversationEvents.read, {
        conversationId,
        userId,
        readSeq: row.new_read,
        excludedUserIds,
      });
    }
    if (row.new_delivered > row.old_delivered) {
      await addOutboxEvent(tx, conversationEvents.delivered, {
        conversationId,
        userId,
        deliveredSeq: row.new_delivered,
        excludedUserIds,
      });
    }
  }
  return moved.length;
}

async function otherMemberIds(tx: Transaction, conversationId: string, userId: string) {
  const members = await tx.conversationMember.findMany({
    where: { conversationId, userId: { not: userId } },
    select: { userId: true },
  });
  return members.map((member) => member.userId);
}

export type ConversationStore = ReturnType<typeof createConversationStore>;

export interface MemberMarkers {
  userId: string;
  readSeq: number;
  deliveredSeq: number;
}

export const roleRank = (role: MemberRole) => ROLE_RANK[role];

/** Direct conversations are keyed by their two members, lower id first: one per pair. */
export const directKeyOf = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);
