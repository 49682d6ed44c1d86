import { randomBytes } from 'node:crypto';
import pg from 'pg';

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

/** A new, empty database on the real server, so each test file owns its data (CONVENTIONS.md §7). */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `parley_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withServerClient((admin) => admin.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(testDatabaseServerUrl(), name),
    async drop() {
      await withServerClient((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A Redis key and channel prefix no other test uses. */
export const testRedisPrefix = (label: string): string => `test:${label}:${randomBytes(4).toString('hex')}:`;
