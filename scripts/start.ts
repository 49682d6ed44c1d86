import { createLogger, registerGracefulShutdown, type Closer } from '@parley/kit';
import { readRouterEnv } from '@parley/router/env';
import { startRouterService } from '@parley/router/service';
import { readUsersEnv } from '@parley/users/env';
import { startUsersService } from '@parley/users/service';

/**
 * `npm start`: every subgraph and the router in one process on embedded defaults (PGlite, in-process
 * broker) unless DATABASE_URL / REDIS_URL say otherwise. Ports: ROUTER_PORT (default 4000) for the
 * graph, USERS_PORT (default 4001) for the users subgraph.
 */
async function main() {
  const usersEnv = readUsersEnv({
    ...process.env,
    PORT: process.env['USERS_PORT'] ?? '4001',
    // Its callers are the router, which forwards each client's address.
    TRUST_PROXY: 'true',
  });
  const logger = createLogger({ service: 'parley', level: usersEnv.LOG_LEVEL });
  const closers: Closer[] = [];
  registerGracefulShutdown(logger, closers);

  const users = await startUsersService(usersEnv, logger.child({ service: 'users' }));
  closers.unshift(() => users.stop());

  const router = await startRouterService(
    readRouterEnv({
      ...process.env,
      PORT: process.env['ROUTER_PORT'] ?? '4000',
      SUBGRAPH_USERS_URL: `${users.url}/graphql`,
    }),
    logger.child({ service: 'router' }),
  );
  closers.unshift(() => router.stop());

  const mode = usersEnv.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : 'embedded PostgreSQL (PGlite)';
  const broker = usersEnv.REDIS_URL ? 'Redis from REDIS_URL' : 'in-process broker';
  console.log(`Parley is running (${mode}, ${broker}):`);
  console.log(`  graph (router)  ${router.url}/graphql`);
  console.log(`  subscriptions   ${router.wsUrl}/graphql`);
  console.log(`  users subgraph  ${users.url}/graphql`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
