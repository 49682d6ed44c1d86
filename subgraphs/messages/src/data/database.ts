import { createPrismaPgAdapter, type PrismaConnectionOptions } from '@parley/kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export const createPrismaClient = (options: PrismaConnectionOptions): PrismaClient =>
  new PrismaClient({ adapter: createPrismaPgAdapter(options) });

/** Whether `error` is a unique-constraint violation: P2002 from the client, or a raw query's (P2010). */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (error.code === 'P2002') return true;
  const cause = (error.meta as { driverAdapterError?: { cause?: { kind?: string } } } | undefined)
    ?.driverAdapterError?.cause;
  return error.code === 'P2010' && cause?.kind === 'UniqueConstraintViolation';
}
