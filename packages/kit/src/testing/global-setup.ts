import { Redis } from 'ioredis';
import { testDatabaseServerUrl, testRedisUrl, withServerClient } from './databases.js';

/** Fails the run at once, with the fix, when PostgreSQL or Redis is not reachable. */
export default async function checkServices(): Promise<void> {
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
