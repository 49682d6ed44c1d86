import { createServicePrismaClient, type ServicePrismaOptions } from '@parley/kit';

import { PrismaClient } from '../generated/prisma/client.js';

export type { PrismaClient };

export const createPrismaClient = (options: ServicePrismaOptions): PrismaClient =>
  createServicePrismaClient(PrismaClient, options);
