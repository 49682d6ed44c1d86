import { createLogger, registerGracefulShutdown } from '@parley/kit';
import { readWebEnv } from './env.js';
import { startWebServer, websocketUrlOf } from './server.js';

async function main() {
  const env = readWebEnv();
  const logger = createLogger({ service: 'web', level: env.LOG_LEVEL });
  const web = await startWebServer({
    graphqlUrl: env.PARLEY_GRAPHQL_URL,
    wsUrl: env.PARLEY_WS_URL ?? websocketUrlOf(env.PARLEY_GRAPHQL_URL),
    port: env.PORT,
    host: env.HOST,
    dev: process.argv.includes('--dev'),
    logger,
  });
  registerGracefulShutdown(logger, [() => web.stop()]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
