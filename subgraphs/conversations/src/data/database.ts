import { createPrismaPgAdapter, type PrismaConnectionOptions } from '@parley/kit';

export { isUniqueViolation } from '@parley/kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export interface PrismaClientOptions extends PrismaConnectionOptions {
  /** Called with every SQL statement and its parameters as JSON (tests count them). */
  onQuery?: (sql: string, params: string) => void;
}

export function createPrismaClient(options: PrismaClientOptions): PrismaClient {
  const adapter = createPrismaPgAdapter(options);
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery(event.query, event.params));
  return client;
}
