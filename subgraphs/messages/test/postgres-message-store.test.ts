import { createTestDatabase, type TestDatabase } from '@parley/kit/testing';
import { afterAll } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../src/data/database.js';
import { createPostgresMessageStore } from '../src/data/postgres-message-store.js';
import { migrationsDir } from '../src/service.js';
import { describeMessageStoreContract } from '../src/testing/message-store-contract.js';

let database: TestDatabase | undefined;
let prisma: PrismaClient | undefined;

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

describeMessageStoreContract('PostgreSQL', async () => {
  database = await createTestDatabase('message_store', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 10 });
  return createPostgresMessageStore(prisma);
});
