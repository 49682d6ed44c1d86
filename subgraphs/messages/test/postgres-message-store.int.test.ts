import { randomUUID } from 'node:crypto';
import { createTestDatabase, testDatabaseServers, type TestDatabase } from '@parley/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { createPostgresMessageStore } from '../src/data/postgres-message-store.js';
import { migrationsDir } from '../src/service.js';
import { describeMessageStoreContract } from '../src/testing/message-store-contract.js';

const opened: Array<{ database: TestDatabase; prisma: PrismaClient }> = [];

afterAll(async () => {
  for (const { database, prisma } of opened.splice(0)) {
    await prisma.$disconnect();
    await database.drop();
  }
});

async function openStore(label: string, server: 'system' | 'embedded', poolMax: number) {
  const database = await createTestDatabase(label, { migrationsDir, server });
  const prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax });
  opened.push({ database, prisma });
  return { prisma, store: createPostgresMessageStore(prisma) };
}

for (const [label, server] of testDatabaseServers) {
  describeMessageStoreContract(
    label,
    async () => (await openStore(`message_store_${server}`, server, 10)).store,
  );

  describe(`MessageStore on one connection: ${label}`, () => {
    it('answers a repeated key with the first message and another body with a conflict, and the connection keeps working', async () => {
      // One connection: a statement that failed (the unique key the retry hits) must not break the next ones.
      const { prisma, store } = await openStore(`one_connection_${server}`, server, 1);
      const conversationId = randomUUID();
      const send = {
        conversationId,
        senderId: randomUUID(),
        clientMutationId: 'key-k',
        requestHash: 'hash-1',
        body: 'first',
        replyTo: null,
        attachmentIds: [],
        mentionedUserIds: [],
      };
      const created = await store.send(send);
      expect(created.outcome).toBe('created');
      expect(await store.send(send)).toEqual({ outcome: 'replayed', message: created.message });
      const conflict = await store.send({ ...send, body: 'second', requestHash: 'hash-2' });
      expect(conflict).toMatchObject({ outcome: 'conflict', message: { id: created.message.id } });

      for (let i = 0; i < 25; i++) {
        const next = await store.send({ ...send, clientMutationId: `key-${i}`, body: `n${i}` });
        expect(next).toMatchObject({ outcome: 'created', message: { seq: i + 2 } });
        expect(await prisma.$queryRaw<Array<{ one: number }>>`SELECT 1::int AS one`).toEqual([{ one: 1 }]);
      }
    });
  });
}
