import {
  createRelayLoop,
  RELAY_TRANSACTION_OPTIONS,
  takeRelayTurn,
  type Logger,
  type PubSub,
  readPayload,
  topicRegistry,
  type PayloadInputOf,
  type RealtimeLog,
  type Topic,
} from '@parley/kit';
import { type MembershipProjection } from '@parley/membership';
import { conversationEvents } from '../events.js';
import type { ConversationStore } from './conversation-store.js';
import type { PrismaClient, Transaction } from './database.js';

/** Records a domain event in the transaction that causes it: it exists exactly when the change does. */
export async function addOutboxEvent<T extends (typeof conversationEvents)[keyof typeof conversationEvents]>(
  tx: Transaction,
  topic: T,
  payload: PayloadInputOf<T>,
  options: { membershipChanged?: boolean } = {},
) {
  const { conversationId } = readPayload(topic, payload) as { conversationId: string };
  await tx.outboxEvent.create({
    data: {
      topic: topic.name,
      payload: { ...(payload as Record<string, string>) },
      conversationId: options.membershipChanged ? conversationId : null,
    },
  });
}

/** The topic of an outbox row's name. */
const topicNamed: (name: string) => Topic = topicRegistry(conversationEvents);

const BATCH = 100;

/**
 * Delivers outbox events after their transaction committed: first rewrites the membership projection of
 * conversations whose membership changed (so the router filters the events that follow by the new
 * membership), then appends them to the realtime log (by outbox id: a batch delivered twice is stored
 * once), publishes them, then deletes the rows. A failure (Redis down,
 * process killed) leaves the rows for the next `flush`, so every event is delivered at least once and
 * the projection always catches up. Concurrent relays (replicas) take turns, one batch at a time.
 */
export function createOutboxRelay(deps: {
  prisma: PrismaClient;
  conversations: ConversationStore;
  projection: MembershipProjection;
  events: PubSub;
  log: RealtimeLog;
  logger: Logger;
}) {
  /**
   * Rewrites the conversation's projection from the database; inside the relay's transaction it reads
   * through `tx` (its connection, not a second one taken from the pool meanwhile).
   */
  async function syncProjection(conversationId: string, tx?: Transaction) {
    const membership = await deps.conversations.membership(conversationId, tx);
    if (!membership) {
      // Deleted: no version survives the row, so the tombstone outranks every version it ever had.
      await deps.projection.markDeleted(conversationId, Number.MAX_SAFE_INTEGER);
      return false;
    }
    await deps.projection.replace(conversationId, membership.version, {
      kind: membership.kind,
      members: membership.members,
    });
    return true;
  }

  async function flushBatch(): Promise<number> {
    return deps.prisma.$transaction(async (tx) => {
      // The turn, not row locks, keeps other relays off these rows until they are deleted.
      await takeRelayTurn(tx, 'conversations:outbox');
      const rows = await tx.$queryRaw<
        { id: bigint; topic: string; payload: unknown; conversation_id: string | null }[]
      >`SELECT id, topic, payload, conversation_id FROM outbox_events ORDER BY id LIMIT ${BATCH}`;
      const synced = new Set<string>();
      for (const row of rows) {
        if (row.conversation_id && !synced.has(row.conversation_id)) {
          synced.add(row.conversation_id);
          await syncProjection(row.conversation_id, tx);
        }
      }
      await deps.log.append(
        rows.map((row) => ({
          id: `conversations:${row.id}`,
          topic: row.topic,
          payload: row.payload as Record<string, unknown>,
        })),
      );
      for (const row of rows) await deps.events.publish(topicNamed(row.topic), row.payload);
      if (rows.length > 0)
        await tx.outboxEvent.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
      return rows.length;
    }, RELAY_TRANSACTION_OPTIONS);
  }

  return {
    syncProjection,
    ...createRelayLoop({
      deliverBatch: flushBatch,
      batchSize: BATCH,
      logger: deps.logger,
      pending: async () => (await deps.prisma.outboxEvent.findFirst({ select: { id: true } })) !== null,
    }),
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
