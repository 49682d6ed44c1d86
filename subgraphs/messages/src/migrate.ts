import { runMigrateCommand } from '@parley/kit';
import { readMessagesEnv } from './env.js';
import { migrationsDir } from './service.js';

/** `npm run migrate -w @parley/messages`: applies pending migrations to DATABASE_URL and exits. */
runMigrateCommand({ service: 'messages', readEnv: () => readMessagesEnv(), migrationsDir });
