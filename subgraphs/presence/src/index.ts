import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readPresenceEnv } from './env.js';
import { startPresenceService } from './service.js';

async function main() {
  const env = readPresenceEnv();
  const logger = createLogger({ service: 'presence', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const service = await startPresenceService(env, logger);
  registerGracefulShutdown(logger, [() => service.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
