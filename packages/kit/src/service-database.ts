/** A service's PostgreSQL: opening it (embedded or DATABASE_URL), migrating it, its Prisma client. */
import { PrismaPg } from '@prisma/adapter-pg';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { createLogger, type Logger, type LoggerConfig } from './logger.js';
import { applyMigrations } from './migrations.js';
import type { Resources } from './resources.js';

export type ServiceDatabase = PrismaConnectionOptions;

/**
 * A service's PostgreSQL, migrated: DATABASE_URL, or, when it is unset (a service started alone with nothing
 * installed), its own database `parley_<name>` on the embedded server under EMBEDDED_DATA_DIR, registered
 * with `resources` to stop. `npm start` starts that server once and gives each service its DATABASE_URL.
 */
export async function openServiceDatabase(
  resources: Resources,
  options: {
    name: string;
    env: {
      DATABASE_URL?: string | undefined;
      DATABASE_SCHEMA: string;
      DATABASE_POOL_MAX: number;
      EMBEDDED_DATA_DIR: string;
    };
    migrationsDir: string;
    logger: Logger;
  },
): Promise<ServiceDatabase> {
  const { env, logger } = options;
  let url = env.DATABASE_URL;
  if (!url) {
    const embedded = await startEmbeddedPostgres({ dataDir: env.EMBEDDED_DATA_DIR, logger });
    resources.add(() => embedded.stop());
    const database = embeddedDatabaseName(options.name);
    await embedded.ensureDatabase(database);
    logger.info({ port: embedded.port, database }, 'no DATABASE_URL: using embedded PostgreSQL');
    url = embedded.urlFor(database);
  }
  await applyMigrations({
    connectionString: url,
    migrationsDir: options.migrationsDir,
    schema: env.DATABASE_SCHEMA,
    logger,
  });
  return { connectionString: url, schema: env.DATABASE_SCHEMA, poolMax: env.DATABASE_POOL_MAX };
}

/** A service's database on the embedded server. */
export const embeddedDatabaseName = (service: string) => `parley_${service}`;

export interface PrismaConnectionOptions {
  connectionString: string;
  /** The Postgres schema the service's tables live in. */
  schema: string;
  poolMax: number;
}

/** How long opening a connection to a service's database may take before the statement fails. */
export const DATABASE_CONNECT_TIMEOUT_MS = 1_000;

/** Prisma's pg driver adapter for a service's database: its own pool, its tables found through search_path. */
const createPrismaPgAdapter = (options: PrismaConnectionOptions) =>
  new PrismaPg(
    {
      connectionString: options.connectionString,
      max: options.poolMax,
      // A server that does not answer (rather than refuse) fails the statement in a second, not a minute.
      connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
      options: `-c search_path="${options.schema}"`,
    },
    { schema: options.schema },
  );

export interface ServicePrismaOptions extends PrismaConnectionOptions {
  /** Called with every SQL statement and its parameters as JSON (tests count and explain them). */
  onQuery?: (sql: string, params: string) => void;
}

type QueryLog = Array<{ emit: 'event'; level: 'query' }>;
interface QueryEvents {
  $on(event: 'query', listener: (event: { query: string; params: string }) => void): void;
}

/**
 * A service's own generated PrismaClient on the pg driver adapter; with `onQuery`, every statement is
 * reported too. Each service calls it with its own client class (`createPrismaClient` in its database.ts).
 */
export function createServicePrismaClient<Client>(
  PrismaClient: new (options: { adapter: PrismaPg; log?: QueryLog }) => Client,
  options: ServicePrismaOptions,
): Client {
  const adapter = createPrismaPgAdapter(options);
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  (client as unknown as QueryEvents).$on('query', (event) => onQuery(event.query, event.params));
  return client;
}

/**
 * Whether a Prisma error is a unique-constraint violation: P2002 from the client, or a raw query's
 * (P2010, which carries the driver's error kind).
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, meta } = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
  };
  if (code === 'P2002') return true;
  return code === 'P2010' && meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation';
}

/**
 * The body of each service's `npm run migrate`: applies pending migrations to DATABASE_URL (required:
 * the embedded database migrates itself on start), logs them, and exits 1 on failure.
 */
export function runMigrateCommand(options: {
  service: string;
  readEnv: () => {
    DATABASE_URL?: string | undefined;
    DATABASE_SCHEMA: string;
    LOG_LEVEL: LoggerConfig['level'];
  };
  migrationsDir: string;
}) {
  const main = async () => {
    const env = options.readEnv();
    if (!env.DATABASE_URL)
      throw new Error('DATABASE_URL is required to migrate (the embedded database migrates on start)');
    const logger = createLogger({ service: `${options.service}-migrate`, level: env.LOG_LEVEL });
    const applied = await applyMigrations({
      connectionString: env.DATABASE_URL,
      migrationsDir: options.migrationsDir,
      schema: env.DATABASE_SCHEMA,
      logger,
    });
    logger.info({ applied: applied.map((migration) => migration.name) }, 'migrations up to date');
  };
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
