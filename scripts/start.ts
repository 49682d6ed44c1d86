import { createLogger, registerGracefulShutdown, type Closer } from '@parley/kit';
import { readUsersEnv } from '@parley/users/env';
import { startUsersService } from '@parley/users/service';

/**
 * `npm start`: every service in one process on embedded defaults (PGlite, in-process broker) unless
 * DATABASE_URL / REDIS_URL say otherwise. Per-service ports: USERS_PORT (default 4001).
 */
async function main() {
  const usersEnv = readUsersEnv({ ...process.env, PORT: process.env['USERS_PORT'] ?? '4001' });
  const logger = createLogger({ service: 'parley', level: usersEnv.LOG_LEVEL });
  const closers: Closer[] = [];
  registerGracefulShutdown(logger, closers);

  const users = await startUsersService(usersEnv, logger.child({ service: 'users' }));
  closers.unshift(() => users.stop());

  const mode = usersEnv.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : 'embedded PostgreSQL (PGlite)';
  const broker = usersEnv.REDIS_URL ? 'Redis from REDIS_URL' : 'in-process broker';
  console.log(`Parley is running (${mode}, ${broker}):`);
  console.log(`  users subgraph  ${users.url}/graphql`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
