import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readUsersEnv } from './env.js';
import { startUsersService } from './service.js';

async function main() {
  const env = readUsersEnv();
  const logger = createLogger({ service: 'users', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const service = await startUsersService(env, logger);
  registerGracefulShutdown(logger, [() => service.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
