import {
  createRelayLoop,
  RELAY_TRANSACTION_OPTIONS,
  takeRelayTurn,
  type EventStream,
  type Logger,
  type PubSub,
  type RealtimeLog,
} from '@parley/kit';
import { userEvents, type UserUpdatedEvent } from '../events.js';
import type { PrismaClient, Transaction } from './database.js';

/** What the outbox keeps of a change: whose. Who is told is decided when it is delivered. */
interface OutboxPayload {
  userId: string;
}

/** Records a domain event in the transaction that causes it: it exists exactly when the change does. */
export async function addOutboxEvent(
  tx: Transaction,
  topic: typeof userEvents.updated,
  payload: OutboxPayload,
) {
  await tx.outboxEvent.create({ data: { topic: topic.name, payload: { ...payload } } });
}

const BATCH = 100;

/**
 * Delivers outbox events after their transaction committed: addresses each to who this service knows may see
 * the user then (the user and their contacts in either direction, minus blocks either way), appends them to
 * the realtime log (by outbox id: a batch delivered twice is stored once), appends each to the durable stream
 * `users.updated` (the conversations service tells the user's other fellow members from it, even when it was
 * down meanwhile), publishes them on the bus, then deletes the rows. A failure (Redis unreachable, process
 * killed) leaves the rows for the next flush, so every event is delivered at least once, with the same
 * `eventId`; replicas take turns. This service asks no other: it never waits for conversations.
 */
export function createOutboxRelay(deps: {
  prisma: PrismaClient;
  events: PubSub;
  stream: EventStream;
  log: RealtimeLog;
  logger: Logger;
}) {
  /** Read through `tx`: on the transaction's connection, not a second one taken from the pool meanwhile. */
  async function audiencesOf(tx: Transaction, userIds: string[]): Promise<Map<string, string[]>> {
    const [contacts, blocks] = await Promise.all([
      tx.contact.findMany({
        where: { OR: [{ ownerId: { in: userIds } }, { contactId: { in: userIds } }] },
        select: { ownerId: true, contactId: true },
      }),
      tx.block.findMany({
        where: { OR: [{ blockerId: { in: userIds } }, { blockedId: { in: userIds } }] },
        select: { blockerId: true, blockedId: true },
      }),
    ]);
    const others = (pairs: Array<readonly [string, string]>, userId: string) =>
      pairs.flatMap(([a, b]) => (a === userId ? [b] : b === userId ? [a] : []));
    const contactPairs = contacts.map((row) => [row.ownerId, row.contactId] as const);
    const blockPairs = blocks.map((row) => [row.blockerId, row.blockedId] as const);
    return new Map(
      userIds.map((userId) => {
        const excluded = new Set(others(blockPairs, userId));
        const audience = new Set([userId, ...others(contactPairs, userId)]);
        return [userId, [...audience].filter((id) => !excluded.has(id))];
      }),
    );
  }

  async function deliverBatch(): Promise<number> {
    return deps.prisma.$transaction(async (tx) => {
      // The turn, not row locks, keeps other relays off these rows until they are deleted.
      await takeRelayTurn(tx, 'users:outbox');
      const rows = await tx.outboxEvent.findMany({ orderBy: { id: 'asc' }, take: BATCH });
      if (rows.length === 0) return 0;
      const userIdOf = (payload: unknown) => (payload as OutboxPayload).userId;
      const audiences = await audiencesOf(tx, [...new Set(rows.map((row) => userIdOf(row.payload)))]);
      const events = rows.map((row) => {
        const userId = userIdOf(row.payload);
        const eventId = `users:${row.id}`;
        const payload: UserUpdatedEvent = { userId, audience: audiences.get(userId) ?? [userId], eventId };
        return { id: eventId, topic: userEvents.updated.name, payload };
      });
      await deps.log.append(events);
      for (const event of events) {
        await deps.stream.append(userEvents.updated, event.payload);
        await deps.events.publish(userEvents.updated, event.payload);
      }
      await tx.outboxEvent.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
      return rows.length;
    }, RELAY_TRANSACTION_OPTIONS);
  }

  return createRelayLoop({
    deliverBatch,
    batchSize: BATCH,
    logger: deps.logger,
    pending: async () => (await deps.prisma.outboxEvent.findFirst({ select: { id: true } })) !== null,
  });
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
