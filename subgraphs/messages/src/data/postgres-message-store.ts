import { RELAY_TRANSACTION_OPTIONS, takeRelayTurn } from '@parley/kit';
import { v7 as uuidv7 } from 'uuid';
import {
  messageEvents,
  type MessageAddedEvent,
  type MessageEventPayloads,
  type MessageEventTopic,
} from '../events.js';
import { isUniqueViolation, Prisma, type PrismaClient, type Transaction } from './database.js';
import type {
  MessageRecord,
  MessageStore,
  NewMessage,
  ReactionGroup,
  RecordedEvent,
  SendKey,
  SendResult,
  SeqRange,
} from './message-store.js';

const withRelations = {
  attachments: { orderBy: { position: 'asc' } },
  mentions: true,
} as const satisfies Prisma.MessageInclude;

type MessageRow = Prisma.MessageGetPayload<{ include: typeof withRelations }>;

const toRecord = (row: MessageRow): MessageRecord => ({
  id: row.id,
  conversationId: row.conversationId,
  seq: row.seq,
  senderId: row.senderId,
  clientMutationId: row.clientMutationId,
  body: row.body,
  replyToId: row.replyToId,
  threadRootId: row.threadRootId,
  replyCount: row.replyCount,
  lastReplyAt: row.lastReplyAt,
  createdAt: row.createdAt,
  editedAt: row.editedAt,
  deletedAt: row.deletedAt,
  attachmentIds: row.attachments.map((attachment) => attachment.fileId),
  mentionedUserIds: row.mentions.map((mention) => mention.userId),
});

async function recordEvent<Topic extends MessageEventTopic>(
  tx: Transaction,
  topic: Topic,
  payload: MessageEventPayloads[Topic],
) {
  await tx.outboxEvent.create({ data: { topic, payload: { ...payload } } });
}

/** The message row, locked until the transaction ends: reactions, edits and deletes of one message queue. */
async function lockMessage(tx: Transaction, id: string) {
  const [row] = await tx.$queryRaw<{ conversation_id: string; seq: number; deleted_at: Date | null }[]>`
    SELECT conversation_id, seq, deleted_at FROM messages WHERE id = ${id}::uuid FOR UPDATE`;
  return row ?? null;
}

function seqFilter(range: SeqRange): Prisma.IntFilter | undefined {
  if (range.after === null && range.before === null) return undefined;
  return {
    ...(range.after !== null && { gt: range.after }),
    ...(range.before !== null && { lt: range.before }),
  };
}

/** The MessageStore on PostgreSQL through Prisma; raw SQL where Prisma has no words for it. */
export function createPostgresMessageStore(prisma: PrismaClient): MessageStore {
  async function byIds(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await prisma.message.findMany({ where: { id: { in: [...ids] } }, include: withRelations });
    return rows.map(toRecord);
  }

  async function ordered(ids: readonly string[]) {
    const found = new Map((await byIds(ids)).map((message) => [message.id, message]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  async function previousSend(input: SendKey): Promise<SendResult | null> {
    const existing = await prisma.message.findUnique({
      where: {
        senderId_clientMutationId: { senderId: input.senderId, clientMutationId: input.clientMutationId },
      },
      include: withRelations,
    });
    if (!existing) return null;
    return {
      outcome: existing.requestHash === input.requestHash ? 'replayed' : 'conflict',
      message: toRecord(existing),
    };
  }

  /**
   * One statement, so the conversation's sequence row is locked only while it runs: take the next seq
   * (concurrent sends queue on that row lock, so seqs follow commit order), insert the message with its
   * attachments and mentions, count it in its thread, and record `messages.added`. A duplicate key fails
   * the whole statement, rolling the seq back: no gap.
   */
  async function insert(input: NewMessage): Promise<MessageRecord> {
    const id = uuidv7();
    const threadRootId = input.replyTo ? (input.replyTo.threadRootId ?? input.replyTo.id) : null;
    const event: Omit<MessageAddedEvent, 'seq'> = {
      conversationId: input.conversationId,
      messageId: id,
      senderId: input.senderId,
      mentionedUserIds: input.mentionedUserIds,
      threadRootId,
      attachmentIds: input.attachmentIds,
    };
    const [row] = await prisma.$queryRaw<{ seq: number; created_at: Date }[]>`
      WITH next AS (
        INSERT INTO conversation_sequences (conversation_id, last_seq) VALUES (${input.conversationId}::uuid, 1)
        ON CONFLICT (conversation_id) DO UPDATE SET last_seq = conversation_sequences.last_seq + 1
        RETURNING last_seq
      ), message AS (
        INSERT INTO messages (id, conversation_id, seq, sender_id, client_mutation_id, request_hash, body,
                              reply_to_id, thread_root_id)
        SELECT ${id}::uuid, ${input.conversationId}::uuid, next.last_seq, ${input.senderId}::uuid,
               ${input.clientMutationId}, ${input.requestHash}, ${input.body},
               ${input.replyTo?.id ?? null}::uuid, ${threadRootId}::uuid
        FROM next
        RETURNING seq, created_at
      ), attachments AS (
        INSERT INTO message_attachments (message_id, position, file_id)
        SELECT ${id}::uuid, file.position - 1, file.id
        FROM unnest(${input.attachmentIds}::uuid[]) WITH ORDINALITY AS file(id, position)
      ), mentions AS (
        INSERT INTO message_mentions (message_id, user_id)
        SELECT ${id}::uuid, user_id FROM unnest(${input.mentionedUserIds}::uuid[]) AS user_id
      ), thread AS (
        UPDATE messages SET reply_count = reply_count + 1, last_reply_at = message.created_at
        FROM message WHERE messages.id = ${threadRootId}::uuid
      ), outbox AS (
        INSERT INTO outbox_events (topic, payload)
        SELECT ${messageEvents.added.name}, ${JSON.stringify(event)}::jsonb || jsonb_build_object('seq', message.seq)
        FROM message
      )
      SELECT seq, created_at FROM message`;
    if (!row) throw new Error('the message insert returned no row');
    return {
      id,
      conversationId: input.conversationId,
      seq: row.seq,
      senderId: input.senderId,
      clientMutationId: input.clientMutationId,
      body: input.body,
      replyToId: input.replyTo?.id ?? null,
      threadRootId,
      replyCount: 0,
      lastReplyAt: null,
      createdAt: row.created_at,
      editedAt: null,
      deletedAt: null,
      attachmentIds: input.attachmentIds,
      mentionedUserIds: input.mentionedUserIds,
    };
  }

  return {
    byIds,
    previousSend,

    async send(input) {
      try {
        return { outcome: 'created', message: await insert(input) };
      } catch (error) {
        // The key was used before (or by a concurrent call that committed first): that message is the answer.
        if (!isUniqueViolation(error)) throw error;
        const winner = await previousSend(input);
        if (!winner) throw error;
        return winner;
      }
    },

    async page(conversationId, range) {
      const rows = await prisma.message.findMany({
        where: { conversationId, seq: seqFilter(range) },
        orderBy: { seq: range.direction === 'forward' ? 'asc' : 'desc' },
        take: range.limit + 1,
        include: withRelations,
      });
      return rows.map(toRecord);
    },

    async threadPage(rootId, range) {
      const rows = await prisma.message.findMany({
        where: { threadRootId: rootId, seq: seqFilter(range) },
        orderBy: { seq: range.direction === 'forward' ? 'asc' : 'desc' },
        take: range.limit + 1,
        include: withRelations,
      });
      return rows.map(toRecord);
    },

    async edit(id, change) {
      return prisma.$transaction(async (tx) => {
        const locked = await lockMessage(tx, id);
        if (!locked || locked.deleted_at) return null;
        const row = await tx.message.update({
          where: { id },
          data: {
            body: change.body,
            editedAt: new Date(),
            ...(change.mentionedUserIds && {
              mentions: {
                deleteMany: {},
                create: change.mentionedUserIds.map((userId) => ({ userId })),
              },
            }),
          },
          include: withRelations,
        });
        await recordEvent(tx, messageEvents.edited.name, {
          conversationId: row.conversationId,
          messageId: row.id,
          seq: row.seq,
          senderId: row.senderId,
        });
        return toRecord(row);
      });
    },

    async delete(id, byUserId) {
      return prisma.$transaction(async (tx) => {
        const locked = await lockMessage(tx, id);
        if (!locked) return null;
        if (locked.deleted_at) {
          const row = await tx.message.findUniqueOrThrow({ where: { id }, include: withRelations });
          return { message: toRecord(row), deleted: false };
        }
        const attachments = await tx.messageAttachment.findMany({
          where: { messageId: id },
          orderBy: { position: 'asc' },
        });
        const row = await tx.message.update({
          where: { id },
          data: {
            body: null,
            deletedAt: new Date(),
            deletedById: byUserId,
            attachments: { deleteMany: {} },
            mentions: { deleteMany: {} },
            reactions: { deleteMany: {} },
          },
          include: withRelations,
        });
        await recordEvent(tx, messageEvents.deleted.name, {
          conversationId: row.conversationId,
          messageId: row.id,
          seq: row.seq,
          byUserId,
          attachmentIds: attachments.map((attachment) => attachment.fileId),
        });
        return { message: toRecord(row), deleted: true };
      });
    },

    async addReaction(reaction, limits) {
      return prisma.$transaction(async (tx) => {
        const locked = await lockMessage(tx, reaction.messageId);
        if (!locked || locked.deleted_at) return 'gone';
        const mine = await tx.messageReaction.findMany({
          where: { messageId: reaction.messageId, userId: reaction.userId },
          select: { emoji: true },
        });
        if (mine.some(({ emoji }) => emoji === reaction.emoji)) return 'present';
        if (mine.length >= limits.maxPerUser) return 'limit';
        const emoji = await tx.messageReaction.findMany({
          where: { messageId: reaction.messageId },
          distinct: ['emoji'],
          select: { emoji: true },
        });
        if (!emoji.some((row) => row.emoji === reaction.emoji) && emoji.length >= limits.maxEmoji) {
          return 'limit';
        }
        await tx.messageReaction.create({ data: reaction });
        await recordEvent(tx, messageEvents.reactionChanged.name, {
          conversationId: locked.conversation_id,
          ...reaction,
          added: true,
        });
        return 'added';
      });
    },

    async removeReaction(reaction) {
      return prisma.$transaction(async (tx) => {
        const locked = await lockMessage(tx, reaction.messageId);
        if (!locked || locked.deleted_at) return 'gone';
        const { count } = await tx.messageReaction.deleteMany({ where: reaction });
        if (count === 0) return 'absent';
        await recordEvent(tx, messageEvents.reactionChanged.name, {
          conversationId: locked.conversation_id,
          ...reaction,
          added: false,
        });
        return 'removed';
      });
    },

    async reactionGroups(messageIds, viewerId) {
      const groups = new Map(messageIds.map((id) => [id, [] as ReactionGroup[]]));
      if (messageIds.length === 0) return groups;
      const rows = await prisma.$queryRaw<
        { message_id: string; emoji: string; count: number; viewer_reacted: boolean }[]
      >`
        SELECT message_id, emoji, count(*)::int AS count, bool_or(user_id = ${viewerId}::uuid) AS viewer_reacted
        FROM message_reactions WHERE message_id = ANY(${[...messageIds]}::uuid[])
        GROUP BY message_id, emoji
        ORDER BY count(*) DESC, min(created_at), emoji`;
      for (const row of rows) {
        groups
          .get(row.message_id)
          ?.push({ emoji: row.emoji, count: row.count, viewerReacted: row.viewer_reacted });
      }
      return groups;
    },

    async latestReplies(rootIds, count) {
      const latest = new Map(rootIds.map((id) => [id, [] as MessageRecord[]]));
      if (rootIds.length === 0) return latest;
      const rows = await prisma.$queryRaw<{ id: string }[]>`
        SELECT reply.id FROM unnest(${[...rootIds]}::uuid[]) AS root(id)
        CROSS JOIN LATERAL (
          SELECT id, seq FROM messages WHERE thread_root_id = root.id ORDER BY seq DESC LIMIT ${count}
        ) AS reply
        ORDER BY reply.seq`;
      for (const message of await ordered(rows.map((row) => row.id))) {
        if (message.threadRootId) latest.get(message.threadRootId)?.push(message);
      }
      return latest;
    },

    async search(query, conversationIds, offset, limit) {
      if (conversationIds.length === 0) return [];
      // websearch_to_tsquery never raises a syntax error: quotes, operators and stray symbols are words.
      const rows = await prisma.$queryRaw<{ id: string; rank: number }[]>`
        SELECT m.id, ts_rank(m.search_vector, q)::float8 AS rank
        FROM messages m, websearch_to_tsquery('simple', ${query}) q
        WHERE m.conversation_id = ANY(${[...conversationIds]}::uuid[])
          AND m.deleted_at IS NULL AND m.search_vector @@ q
        ORDER BY rank DESC, m.created_at DESC, m.id DESC
        OFFSET ${offset} LIMIT ${limit}`;
      const ranks = new Map(rows.map((row) => [row.id, row.rank]));
      return (await ordered(rows.map((row) => row.id))).map((message) => ({
        message,
        rank: ranks.get(message.id) ?? 0,
      }));
    },

    async hasUndeliveredEvents() {
      return (await prisma.outboxEvent.findFirst({ select: { id: true } })) !== null;
    },

    async deliverEvents(limit, deliver) {
      return prisma.$transaction(
        async (tx) => {
          // The turn keeps other relays off the outbox until this transaction ends.
          await takeRelayTurn(tx, 'messages:outbox');
          // Taken out and read in one statement; a delivery that fails rolls the deletion back.
          const rows = await tx.$queryRaw<{ id: bigint; topic: string; payload: unknown }[]>`
            DELETE FROM outbox_events
            WHERE id IN (SELECT id FROM outbox_events ORDER BY id LIMIT ${limit})
            RETURNING id, topic, payload`;
          if (rows.length === 0) return 0;
          rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          await deliver(
            rows.map(({ id, topic, payload }) => ({ id: String(id), topic, payload }) as RecordedEvent),
          );
          return rows.length;
        },
        // A slow broker must fail the batch, not hang it.
        RELAY_TRANSACTION_OPTIONS,
      );
    },
  };
}
