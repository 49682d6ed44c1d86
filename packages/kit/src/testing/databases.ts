import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';
import { createLogger } from '../logger.js';
import { applyMigrations } from '../migrations.js';

/** The server tests run against; CI and `.ci/run` set DATABASE_URL, a developer machine has the default. */
export const testDatabaseServerUrl = (): string =>
  process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export const testRedisUrl = (): string => process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs `use` with a connection to the test server's maintenance database, closed afterwards. */
export async function withServerClient<T>(
  use: (client: pg.Client) => Promise<T>,
  config: pg.ClientConfig = {},
): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseServerUrl(), ...config });
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A new database on the real server, so each test file owns its data: empty, or with
 * a service's migrations applied (in its `public` schema) when `migrationsDir` is given.
 */
export async function createTestDatabase(
  label: string,
  options: { migrationsDir?: string } = {},
): Promise<TestDatabase> {
  const name = `parley_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withServerClient((admin) => admin.query(`CREATE DATABASE "${name}"`));
  const database = {
    name,
    url: withDatabase(testDatabaseServerUrl(), name),
    async drop() {
      await withServerClient((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
  if (options.migrationsDir) {
    await applyMigrations({
      connectionString: database.url,
      migrationsDir: options.migrationsDir,
      schema: 'public',
      logger: createLogger({ service: 'test-database', level: 'silent' }),
    });
  }
  return database;
}

/** Deletes every Redis key under `prefix` (a test's own). */
export async function deleteRedisKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * A Redis connection of its own, named so a test can find (or kill) it, for something built on it under
 * `prefix`; `cleanup` deletes the prefix's keys and disconnects. A `build` that throws disconnects at once.
 */
export function openTestRedis<T>(
  prefix: string,
  build: (redis: Redis) => T,
  redisOptions: RedisOptions = {},
): { built: T; redis: Redis; connectionName: string; cleanup(): Promise<void> } {
  const connectionName = `test-${randomBytes(6).toString('hex')}`;
  const redis = new Redis(testRedisUrl(), { connectionName, ...redisOptions });
  try {
    return {
      built: build(redis),
      redis,
      connectionName,
      cleanup: async () => {
        if (redis.status === 'ready') await deleteRedisKeys(redis, prefix);
        redis.disconnect();
      },
    };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/** A Redis key and channel prefix no other test uses. */
export const testRedisPrefix = (label: string): string => `test:${label}:${randomBytes(4).toString('hex')}:`;
