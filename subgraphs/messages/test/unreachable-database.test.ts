import { createServer, type AddressInfo } from 'node:net';
import { isInfrastructureFailure } from '@parley/kit';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../src/data/database.js';

/** A loopback port nothing listens on: the database server is down. */
const closedPort = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    server.close(() => resolve(port));
  });
});

const prisma = createPrismaClient({
  connectionString: `postgresql://postgres@127.0.0.1:${closedPort}/parley`,
  schema: 'public',
  poolMax: 1,
});
afterAll(() => prisma.$disconnect());

const failureOf = (promise: PromiseLike<unknown>) =>
  Promise.resolve(promise).then(
    () => expect.fail('the database is down, yet the statement succeeded'),
    (error: unknown) => error,
  );

describe('a database that cannot be reached', () => {
  // Every way the service talks to PostgreSQL reports it as unreachable (answered SERVICE_UNAVAILABLE),
  // whatever shape Prisma gives the error: a model query, a raw query (P2010 wrapping the driver's error), a
  // transaction.
  it.each([
    ['a model query', () => prisma.message.findFirst()],
    ['a raw query', () => prisma.$queryRaw`SELECT 1`],
    ['a transaction', () => prisma.$transaction(async (tx) => tx.message.count())],
  ])('%s fails as an infrastructure failure', async (_, statement) => {
    expect(isInfrastructureFailure(await failureOf(statement()))).toBe(true);
  });
});
