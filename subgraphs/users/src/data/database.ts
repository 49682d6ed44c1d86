import { createServicePrismaClient, isUniqueViolation, type ServicePrismaOptions } from '@parley/kit';
import { PrismaClient, Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };
export type Transaction = Prisma.TransactionClient;

export const createPrismaClient = (options: ServicePrismaOptions): PrismaClient =>
  createServicePrismaClient(PrismaClient, options);

/** The field a unique constraint failed on (P2002), or null for any other error. */
export function uniqueViolationField(error: unknown): string | null {
  if (!isUniqueViolation(error) || !(error instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const detail = JSON.stringify(error.meta ?? {}) + error.message;
  for (const field of ['email', 'username', 'identity_public_key', 'identityPublicKey']) {
    if (detail.includes(field)) return field === 'identity_public_key' ? 'identityPublicKey' : field;
  }
  return 'unknown';
}
