import { createServicePrismaClient, type ServicePrismaOptions } from '@parley/kit';

export { isUniqueViolation } from '@parley/kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export { Prisma };
export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export const createPrismaClient = (options: ServicePrismaOptions): PrismaClient =>
  createServicePrismaClient(PrismaClient, options);
