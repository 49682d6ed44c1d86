import { runMigrateCommand } from '@parley/kit';
import { readFilesEnv } from './env.js';
import { migrationsDir } from './service.js';

/** `npm run migrate -w @parley/files`: applies pending migrations to DATABASE_URL and exits. */
runMigrateCommand({ service: 'files', readEnv: () => readFilesEnv(), migrationsDir });
