import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from './logger.js';

export interface AppliedMigration {
  name: string;
  checksum: string;
}

// 72707369 = "prsi": any constant shared by every replica of every service works.
const MIGRATION_LOCK = 72707369;

/** One migration and its record, in one transaction. */
async function applyOne(client: pg.Client, name: string, sql: string, checksum: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 1)`,
      [randomUUID(), checksum, name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Applies `prisma/migrations/<name>/migration.sql` in name order, offline, recording them in Prisma's own
 * `_prisma_migrations` table so `prisma migrate deploy` and `migrate status` agree where they can run.
 * Each migration runs in a transaction; an advisory lock serializes concurrent starts (several replicas);
 * an edited, already-applied migration is an error rather than silent drift.
 */
export async function applyMigrations(options: {
  connectionString: string;
  migrationsDir: string;
  /** The Postgres schema the service's tables live in (several services can share one database). */
  schema?: string;
  logger?: Logger;
}): Promise<AppliedMigration[]> {
  const client = new pg.Client({ connectionString: options.connectionString });
  await client.connect();
  const applied: AppliedMigration[] = [];
  try {
    // Taken before anything else: concurrent CREATE ... IF NOT EXISTS on a new database can fail with a
    // duplicate key.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      if (options.schema) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`);
        await client.query(`SET search_path TO ${pg.escapeIdentifier(options.schema)}`);
      }
      await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id" VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum" VARCHAR(64) NOT NULL,
        "finished_at" TIMESTAMPTZ,
        "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT,
        "rolled_back_at" TIMESTAMPTZ,
        "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0
      )`);
      const { rows } = await client.query<{ migration_name: string; checksum: string }>(
        'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      const done = new Map(rows.map((row) => [row.migration_name, row.checksum]));
      const entries = await readdir(options.migrationsDir, { withFileTypes: true });
      const names = entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
      for (const name of names) {
        const sql = await readFile(join(options.migrationsDir, name, 'migration.sql'), 'utf8');
        const checksum = createHash('sha256').update(sql).digest('hex');
        const previous = done.get(name);
        if (previous !== undefined) {
          if (previous !== checksum) throw new Error(`Migration ${name} was edited after it was applied`);
          continue;
        }
        await applyOne(client, name, sql, checksum);
        options.logger?.info({ migration: name }, 'migration applied');
        applied.push({ name, checksum });
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await client.end();
  }
  return applied;
}
