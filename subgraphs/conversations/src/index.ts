import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readConversationsEnv } from './env.js';
import { startConversationsService } from './service.js';

async function main() {
  const env = readConversationsEnv();
  const logger = createLogger({ service: 'conversations', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const service = await startConversationsService(env, logger);
  registerGracefulShutdown(logger, [() => service.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
