import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readFilesEnv } from './env.js';
import { startFilesService } from './service.js';

async function main() {
  const env = readFilesEnv();
  const logger = createLogger({ service: 'files', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  const service = await startFilesService(env, logger);
  registerGracefulShutdown(logger, [() => service.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
