import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from './migrations.js';

const serverUrl = process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function onServer<T>(work: (client: pg.Client) => Promise<T>, url = serverUrl): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database; the returned `drop` removes it even while connections are open. */
async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `parley_test_kit_migrations_${randomBytes(6).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let database: { url: string; drop: () => Promise<void> };
let scratch: string;

beforeAll(async () => {
  database = await createDatabase();
  scratch = await mkdtemp(join(tmpdir(), 'parley-migrations-'));
});

afterAll(async () => {
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/**
 * A migrations folder of its own, with names and tables unique to the calling test: the tests share one
 * database and so one `_prisma_migrations` table.
 */
async function migrationsFolder() {
  const tag = randomBytes(4).toString('hex');
  const dir = await mkdtemp(join(scratch, 'case-'));
  // Prisma keeps this file next to the migration folders; it is not a migration.
  await writeFile(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  return {
    dir,
    table: (name: string) => `${name}_${tag}`,
    name: (name: string) => `${name}_${tag}`,
    async write(name: string, sql: string) {
      await mkdir(join(dir, name), { recursive: true });
      await writeFile(join(dir, name, 'migration.sql'), sql);
      return sql;
    },
  };
}

const query = <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], url = database.url) =>
  onServer((client) => client.query<R>(sql, params), url).then((result) => result.rows);

const tableExists = async (table: string, url = database.url) =>
  (await query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table], url))[0]?.found !=
  null;

const recorded = (names: string[], url = database.url, schema = 'public') =>
  query<{
    id: string;
    migration_name: string;
    checksum: string;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    applied_steps_count: number;
  }>(
    `SELECT * FROM ${pg.escapeIdentifier(schema)}."_prisma_migrations" WHERE migration_name = ANY($1) ORDER BY started_at, migration_name`,
    [names],
    url,
  );

describe('applyMigrations', () => {
  it('applies migrations in name order and records each in _prisma_migrations with its sha256', async () => {
    const folder = await migrationsFolder();
    const accounts = folder.table('accounts');
    const [first, second, third] = [
      folder.name('20260101000000_create'),
      folder.name('20260102000000_seed'),
      folder.name('20260103000000_alter'),
    ] as const;
    // Written out of order; each migration depends on the one before it.
    const thirdSql = await folder.write(third, `ALTER TABLE ${accounts} ADD COLUMN email TEXT;`);
    const firstSql = await folder.write(first, `CREATE TABLE ${accounts} (id INT PRIMARY KEY);`);
    const secondSql = await folder.write(
      second,
      `INSERT INTO ${accounts} (id) VALUES (1);\nINSERT INTO ${accounts} (id) VALUES (2);`,
    );

    const applied = await applyMigrations({ connectionString: database.url, migrationsDir: folder.dir });

    expect(applied).toEqual([
      { name: first, checksum: sha256(firstSql) },
      { name: second, checksum: sha256(secondSql) },
      { name: third, checksum: sha256(thirdSql) },
    ]);
    const rows = await recorded([first, second, third]);
    expect(rows.map((row) => [row.migration_name, row.checksum])).toEqual([
      [first, sha256(firstSql)],
      [second, sha256(secondSql)],
      [third, sha256(thirdSql)],
    ]);
    for (const row of rows) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    expect(await query(`SELECT id, email FROM ${accounts} ORDER BY id`)).toEqual([
      { id: 1, email: null },
      { id: 2, email: null },
    ]);
  });

  it('applies nothing the second time', async () => {
    const folder = await migrationsFolder();
    const name = folder.name('20260101000000_create');
    await folder.write(name, `CREATE TABLE ${folder.table('rooms')} (id INT);`);
    expect(await applyMigrations({ connectionString: database.url, migrationsDir: folder.dir })).toHaveLength(
      1,
    );

    expect(await applyMigrations({ connectionString: database.url, migrationsDir: folder.dir })).toEqual([]);
    expect(await recorded([name])).toHaveLength(1);
  });

  it('refuses to go on when an applied migration was edited, applying nothing after it', async () => {
    const folder = await migrationsFolder();
    const first = folder.name('20260101000000_create');
    const second = folder.name('20260102000000_next');
    await folder.write(first, `CREATE TABLE ${folder.table('messages')} (id INT);`);
    await applyMigrations({ connectionString: database.url, migrationsDir: folder.dir });

    await folder.write(first, `CREATE TABLE ${folder.table('messages')} (id BIGINT);`);
    await folder.write(second, `CREATE TABLE ${folder.table('reactions')} (id INT);`);
    await expect(
      applyMigrations({ connectionString: database.url, migrationsDir: folder.dir }),
    ).rejects.toThrow(`Migration ${first} was edited after it was applied`);
    expect(await tableExists(folder.table('reactions'))).toBe(false);
    expect(await recorded([second])).toEqual([]);
  });

  it('rolls back a failing migration, does not record it, stops there, and applies it once fixed', async () => {
    const folder = await migrationsFolder();
    const [good, bad, later] = [
      folder.name('20260101000000_good'),
      folder.name('20260102000000_bad'),
      folder.name('20260103000000_later'),
    ] as const;
    await folder.write(good, `CREATE TABLE ${folder.table('users')} (id INT);`);
    await folder.write(
      bad,
      `CREATE TABLE ${folder.table('devices')} (id INT);\nINSERT INTO ${folder.table('devices')} VALUES ('not a number');`,
    );
    await folder.write(later, `CREATE TABLE ${folder.table('later')} (id INT);`);

    await expect(
      applyMigrations({ connectionString: database.url, migrationsDir: folder.dir }),
    ).rejects.toThrow(`Migration ${bad} failed`);
    expect(await tableExists(folder.table('users'))).toBe(true);
    expect(await tableExists(folder.table('devices'))).toBe(false);
    expect(await tableExists(folder.table('later'))).toBe(false);
    expect((await recorded([good, bad, later])).map((row) => row.migration_name)).toEqual([good]);

    await folder.write(bad, `CREATE TABLE ${folder.table('devices')} (id INT);`);
    const applied = await applyMigrations({ connectionString: database.url, migrationsDir: folder.dir });
    expect(applied.map((migration) => migration.name)).toEqual([bad, later]);
  });

  it('keeps the tables and the ledger of a service in its own schema', async () => {
    const folder = await migrationsFolder();
    const name = folder.name('20260101000000_create');
    const table = folder.table('profiles');
    await folder.write(name, `CREATE TABLE ${table} (id INT);`);
    const [users, chat] = [folder.name('users'), folder.name('chat')];

    for (const schema of [users, chat]) {
      const applied = await applyMigrations({
        connectionString: database.url,
        migrationsDir: folder.dir,
        schema,
      });
      expect(applied.map((migration) => migration.name)).toEqual([name]);
    }
    for (const schema of [users, chat]) {
      expect(await tableExists(`${schema}.${table}`)).toBe(true);
      expect((await recorded([name], database.url, schema)).map((row) => row.migration_name)).toEqual([name]);
    }
    expect(await tableExists(`public.${table}`)).toBe(false);
    expect(await recorded([name])).toEqual([]);
  });

  it.each([
    ['the public schema', undefined],
    ['a schema of its own', 'service'],
  ])(
    'applies each migration exactly once when several replicas start at once on a new database (%s)',
    async (_label, schema) => {
      const fresh = await createDatabase();
      try {
        const folder = await migrationsFolder();
        const names = [folder.name('20260101000000_create'), folder.name('20260102000000_seed')];
        const ledger = folder.table('ledger');
        await folder.write(names[0] ?? '', `CREATE TABLE ${ledger} (id SERIAL PRIMARY KEY, note TEXT);`);
        await folder.write(names[1] ?? '', `INSERT INTO ${ledger} (note) VALUES ('seeded');`);

        // allSettled: every run must be over before the database is dropped.
        const runs = await Promise.allSettled(
          Array.from({ length: 4 }, () =>
            applyMigrations({ connectionString: fresh.url, migrationsDir: folder.dir, schema }),
          ),
        );

        expect(runs.filter((run) => run.status === 'rejected')).toEqual([]);
        const applied = runs.flatMap((run) => (run.status === 'fulfilled' ? run.value : []));
        expect(applied.map((migration) => migration.name).sort()).toEqual(names);
        const ledgerSchema = schema ?? 'public';
        expect((await recorded(names, fresh.url, ledgerSchema)).map((row) => row.migration_name)).toEqual(
          names,
        );
        expect(await query(`SELECT note FROM ${ledgerSchema}.${ledger}`, [], fresh.url)).toEqual([
          { note: 'seeded' },
        ]);
      } finally {
        await fresh.drop();
      }
    },
  );
});
