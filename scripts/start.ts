import { commonEnvShape, createLogger, parseEnv, registerGracefulShutdown } from '@parley/kit';
import { startPlatform } from '@parley/platform';
import { z } from 'zod';

/**
 * `npm start`: every subgraph and the router in one process on embedded defaults (PGlite, in-process
 * broker) unless DATABASE_URL / REDIS_URL say otherwise. Ports: ROUTER_PORT (default 4000) for the
 * graph, USERS_PORT (4001), CONVERSATIONS_PORT (4002), MESSAGES_PORT (4003), PRESENCE_PORT (4004)
 * and FILES_PORT (4005) for the subgraphs; FILES_BLOB_PORT (4006) for local file storage's signed URLs;
 * WEB_PORT (3000) for the web app (built by `prestart`). Each service's Prometheus metrics are on a port of
 * their own: ROUTER_METRICS_PORT (9400), USERS_METRICS_PORT (9401), ... FILES_METRICS_PORT (9405), in the
 * order above. Files are kept in EMBEDDED_DATA_DIR/files.
 */
async function main() {
  const { LOG_LEVEL } = parseEnv(z.object({ LOG_LEVEL: commonEnvShape.LOG_LEVEL }), process.env);
  const logger = createLogger({ service: 'parley', level: LOG_LEVEL });
  // One process, so one METRICS_PORT each (a shared one would clash).
  const ports = (service: string, port: number) => ({
    PORT: process.env[`${service}_PORT`] ?? String(4000 + port),
    METRICS_PORT: process.env[`${service}_METRICS_PORT`] ?? String(9400 + port),
  });
  const platform = await startPlatform({
    env: process.env,
    usersEnv: ports('USERS', 1),
    conversationsEnv: ports('CONVERSATIONS', 2),
    messagesEnv: ports('MESSAGES', 3),
    presenceEnv: ports('PRESENCE', 4),
    filesEnv: { ...ports('FILES', 5), FILES_BLOB_PORT: process.env['FILES_BLOB_PORT'] ?? '4006' },
    routerEnv: ports('ROUTER', 0),
    web: { port: Number(process.env['WEB_PORT'] ?? '3000') },
    logger,
  });
  registerGracefulShutdown(logger, [() => platform.stop()]);

  const mode = process.env['DATABASE_URL'] ? 'PostgreSQL from DATABASE_URL' : 'embedded PostgreSQL (PGlite)';
  const broker = process.env['REDIS_URL'] ? 'Redis from REDIS_URL' : 'in-process broker';
  console.log(`Parley is running (${mode}, ${broker}):`);
  console.log(`  web app         ${platform.web?.url}`);
  console.log(`  graph (router)  ${platform.router.url}`);
  console.log(`  subscriptions   ${platform.router.wsUrl}`);
  console.log(`  users subgraph  ${platform.subgraphs.users}`);
  console.log(`  conversations   ${platform.subgraphs.conversations}`);
  console.log(`  messages        ${platform.subgraphs.messages}`);
  console.log(`  presence        ${platform.subgraphs.presence}`);
  console.log(`  files           ${platform.subgraphs.files}`);
  console.log('Metrics (Prometheus), each service on a port of its own:');
  for (const service of ['router', 'users', 'conversations', 'messages', 'presence', 'files'] as const) {
    console.log(`  ${service.padEnd(15)} ${platform.metrics[service]}`);
  }
  console.log('Press Ctrl-C to stop.');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
