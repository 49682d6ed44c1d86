import { runMigrateCommand } from '@parley/kit';
import { readConversationsEnv } from './env.js';
import { migrationsDir } from './service.js';

/** `npm run migrate -w @parley/conversations`: applies pending migrations to DATABASE_URL and exits. */
runMigrateCommand({ service: 'conversations', readEnv: () => readConversationsEnv(), migrationsDir });
