import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { createLogger } from '../logger.js';
import { applyMigrations } from '../migrations.js';

/** The system server tests run against; CI and `.ci/run` set DATABASE_URL, a developer machine has the default. */
export const testDatabaseServerUrl = (): string =>
  process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The maintenance database of the embedded PostgreSQL server the global setup started for this run. */
    embeddedPostgresUrl: string;
    /** The label of this run's data that outlives a test file (a worker's shared platform): see dropTestData. */
    sharedDataLabel: string;
  }
}

/**
 * Which server a test database lives on: `system` (DATABASE_URL: what production runs on) or `embedded`
 * (the server `npm start` runs, started once per test run by the global setup).
 */
export type TestDatabaseServer = 'system' | 'embedded';

/** Both servers, named as test titles name them: store suites run on each. */
export const testDatabaseServers: Array<[label: string, server: TestDatabaseServer]> = [
  ['system PostgreSQL', 'system'],
  ['embedded PostgreSQL', 'embedded'],
];

const serverUrl = (server: TestDatabaseServer) =>
  server === 'embedded' ? inject('embeddedPostgresUrl') : testDatabaseServerUrl();

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
  server: TestDatabaseServer = 'system',
): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl(server), ...config });
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** How the names of `label`'s test databases begin (createTestDatabase, dropTestData). */
const testDatabasePrefix = (label: string) =>
  `parley_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_`;

/**
 * A new database on a real server (the system one unless `server` says otherwise), so each test file owns its data: empty, or with
 * a service's migrations applied (in its `public` schema) when `migrationsDir` is given.
 */
export async function createTestDatabase(
  label: string,
  options: { migrationsDir?: string; server?: TestDatabaseServer } = {},
): Promise<TestDatabase> {
  const { server = 'system' } = options;
  const name = `${testDatabasePrefix(label)}${randomBytes(4).toString('hex')}`;
  await withServerClient((admin) => admin.query(`CREATE DATABASE "${name}"`), {}, server);
  const database = {
    name,
    url: withDatabase(serverUrl(server), name),
    async drop() {
      await withServerClient(
        (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
        {},
        server,
      );
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

/**
 * The label for data that lives as long as a test worker rather than a file (the platform files share): one
 * per run and project, so runs side by side never remove each other's; the global setup's teardown removes
 * it (dropTestData).
 */
export const sharedDataLabel = (): string => inject('sharedDataLabel');

/**
 * Removes what tests made under `label` and left: the test databases named after it (createTestDatabase), its
 * Redis keys (testRedisPrefix) and its temporary directories (`<tmp>/<label>-*`).
 */
export async function dropTestData(label: string): Promise<void> {
  const databasePrefix = testDatabasePrefix(label);
  await withServerClient(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database');
    for (const { datname } of rows) {
      if (datname.startsWith(databasePrefix))
        await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  });
  const redis = new Redis(testRedisUrl());
  try {
    await deleteRedisKeys(redis, `test:${label}:`);
  } finally {
    redis.disconnect();
  }
  for (const entry of await readdir(tmpdir())) {
    if (entry.startsWith(`${label}-`)) await rm(join(tmpdir(), entry), { recursive: true, force: true });
  }
}
