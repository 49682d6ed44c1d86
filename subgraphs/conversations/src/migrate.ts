import { applyMigrations, createLogger } from '@parley/kit';
import { readConversationsEnv } from './env.js';
import { migrationsDir } from './service.js';

/** `npm run migrate -w @parley/conversations`: applies pending migrations to DATABASE_URL and exits. */
async function main() {
  const env = readConversationsEnv();
  if (!env.DATABASE_URL)
    throw new Error('DATABASE_URL is required to migrate (the embedded database migrates on start)');
  const logger = createLogger({ service: 'conversations-migrate', level: env.LOG_LEVEL });
  const applied = await applyMigrations({
    connectionString: env.DATABASE_URL,
    migrationsDir,
    schema: env.DATABASE_SCHEMA,
    logger,
  });
  logger.info({ applied: applied.map((migration) => migration.name) }, 'migrations up to date');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
