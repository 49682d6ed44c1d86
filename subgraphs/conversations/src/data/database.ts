import { createPrismaPgAdapter, type PrismaConnectionOptions } from '@parley/kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export const createPrismaClient = (options: PrismaConnectionOptions): PrismaClient =>
  new PrismaClient({ adapter: createPrismaPgAdapter(options) });

/** Whether `error` is a unique-constraint violation (P2002). */
export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
