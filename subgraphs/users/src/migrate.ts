import { runMigrateCommand } from '@parley/kit';
import { readUsersEnv } from './env.js';
import { migrationsDir } from './service.js';

/** `npm run migrate -w @parley/users`: applies pending migrations to DATABASE_URL and exits. */
runMigrateCommand({ service: 'users', readEnv: () => readUsersEnv(), migrationsDir });
