import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readRouterEnv } from './env.js';
import { startRouterService } from './service.js';

async function main() {
  const env = readRouterEnv();
  const logger = createLogger({ service: 'router', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const service = await startRouterService(env, logger);
  registerGracefulShutdown(logger, [() => service.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
