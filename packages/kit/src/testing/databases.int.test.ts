import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisPrefix, withServerClient } from './databases.js';

async function databaseExists(name: string): Promise<boolean> {
  const { rowCount } = await withServerClient((client) =>
    client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]),
  );
  return rowCount === 1;
}

describe('createTestDatabase', () => {
  it('creates an empty database of its own and drops it, even with a connection still open', async () => {
    const database = await createTestDatabase('Kit Self-Test!');
    expect(database.name).toMatch(/^parley_test_kit_self_test__[0-9a-f]{8}$/);
    expect(await databaseExists(database.name)).toBe(true);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ db: string; tables: string }>(
      "SELECT current_database() AS db, count(*)::text AS tables FROM pg_tables WHERE schemaname = 'public'",
    );
    expect(rows[0]).toEqual({ db: database.name, tables: '0' });
    client.on('error', () => {});
    await database.drop();
    expect(await databaseExists(database.name)).toBe(false);
    await client.end().catch(() => {});
  });

  it('gives each caller a distinct database and Redis prefix', async () => {
    const [a, b] = await Promise.all([createTestDatabase('twin'), createTestDatabase('twin')]);
    try {
      expect(a.name).not.toBe(b.name);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
    expect(testRedisPrefix('x')).not.toBe(testRedisPrefix('x'));
    expect(testRedisPrefix('x')).toMatch(/:$/);
  });
});
