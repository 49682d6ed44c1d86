import { createPrismaPgAdapter, isUniqueViolation, type PrismaConnectionOptions } from '@parley/kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export interface PrismaClientOptions extends PrismaConnectionOptions {
  /** Called with every SQL statement and its parameters as JSON (tests count and explain them). */
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

/** The field a unique constraint failed on (P2002), or null for any other error. */
export function uniqueViolationField(error: unknown): string | null {
  if (!isUniqueViolation(error) || !(error instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const detail = JSON.stringify(error.meta ?? {}) + error.message;
  for (const field of ['email', 'username', 'identity_public_key', 'identityPublicKey']) {
    if (detail.includes(field)) return field === 'identity_public_key' ? 'identityPublicKey' : field;
  }
  return 'unknown';
}
