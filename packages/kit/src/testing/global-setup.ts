import { Redis } from 'ioredis';
import pg from 'pg';
import { testDatabaseServerUrl, testRedisUrl } from './databases.js';

/** Fails the run at once, with the fix, when PostgreSQL or Redis is not reachable. */
export default async function checkServices(): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseServerUrl(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `Tests need PostgreSQL at ${testDatabaseServerUrl()} (set DATABASE_URL, or run \`bash .ci/run\`): ${(error as Error).message}`,
    );
  } finally {
    await client.end().catch(() => {});
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
