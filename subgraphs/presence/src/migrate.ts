import { runMigrateCommand } from '@parley/kit';
import { readPresenceEnv } from './env.js';
import { migrationsDir } from './service.js';

/** `npm run migrate -w @parley/presence`: applies pending migrations to DATABASE_URL and exits. */
runMigrateCommand({ service: 'presence', readEnv: () => readPresenceEnv(), migrationsDir });
