import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export interface PrismaClientOptions {
  connectionString: string;
  schema: string;
  poolMax: number;
}

export function createPrismaClient(options: PrismaClientOptions): PrismaClient {
  const adapter = new PrismaPg(
    {
      connectionString: options.connectionString,
      max: options.poolMax,
      options: `-c search_path="${options.schema}"`,
    },
    { schema: options.schema },
  );
  return new PrismaClient({ adapter });
}

/** Whether `error` is a unique-constraint violation (P2002). */
export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
