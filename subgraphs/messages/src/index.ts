import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readMessagesEnv } from './env.js';
import { startMessagesService } from './service.js';

async function main() {
  const env = readMessagesEnv();
  const logger = createLogger({ service: 'messages', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const service = await startMessagesService(env, logger);
  registerGracefulShutdown(logger, [() => service.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
