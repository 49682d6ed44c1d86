import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../embedded-postgres.js';
import { createLogger } from '../logger.js';
import { dropTestData, testDatabaseServerUrl, testRedisUrl, withServerClient } from './databases.js';

/**
 * Fails the run at once, with the fix, when PostgreSQL or Redis is not reachable; then starts the embedded
 * PostgreSQL server (as `npm start` runs it, in a directory of its own) for the suites that run on both
 * servers, and stops it when the run ends, removing what the workers' shared platforms left (sharedDataLabel).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await checkServices();
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-test-embedded-'));
  // As root the server runs as the `postgres` user, which must reach its directory.
  await chmod(dataDir, 0o755);
  const server = await startEmbeddedPostgres({
    dataDir,
    logger: createLogger({ service: 'embedded-postgres', level: 'warn', format: 'json' }),
  });
  project.provide('embeddedPostgresUrl', server.urlFor('postgres'));
  const sharedLabel = `shared_${randomBytes(4).toString('hex')}`;
  project.provide('sharedDataLabel', sharedLabel);
  return async () => {
    await dropTestData(sharedLabel);
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}

async function checkServices(): Promise<void> {
  try {
    await withServerClient((client) => client.query('SELECT 1'), { connectionTimeoutMillis: 5_000 });
  } catch (error) {
    throw new Error(
      `Tests need PostgreSQL at ${testDatabaseServerUrl()} (set DATABASE_URL, or run \`bash .ci/run\`): ${(error as Error).message}`,
    );
  }
  const redis = new Redis(testRedisUrl(), {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `Tests need Redis at ${testRedisUrl()} (set REDIS_URL, or run \`bash .ci/run\`): ${(error as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
}
