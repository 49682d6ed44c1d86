import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import {
  commonEnvShape,
  createLogger,
  databaseEnvShape,
  EmbeddedDataInUseError,
  parseEnv,
  registerGracefulShutdown,
  takeEmbeddedDataDir,
} from '@parley/kit';
import { startPlatform } from '@parley/platform';
import { z } from 'zod';

const USAGE = `usage: npm start [-- --reset [--yes]]
  --reset  delete the embedded data (EMBEDDED_DATA_DIR: accounts, messages, files) first, after asking
  --yes    do not ask`;

/** Deletes EMBEDDED_DATA_DIR once the user agreed (or said --yes); refused while a Parley uses it. */
async function reset(dataDir: string, yes: boolean) {
  const release = await takeEmbeddedDataDir(dataDir);
  try {
    if (!yes) {
      if (!process.stdin.isTTY) {
        throw new UsageError(`--reset would delete ${dataDir}: add --yes to confirm without a terminal`);
      }
      const prompt = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await prompt.question(
        `Delete everything under ${dataDir} (accounts, messages, files)? Type "yes": `,
      );
      prompt.close();
      if (answer.trim().toLowerCase() !== 'yes') throw new UsageError('Nothing deleted.');
    }
    // The lock file goes with the rest; the release below then finds nothing of ours to remove.
    await rm(dataDir, { recursive: true, force: true });
    console.log(`Deleted ${dataDir}.`);
  } finally {
    await release();
  }
}

/** A refusal told in one line, with no stack. */
class UsageError extends Error {}

/**
 * `npm start`: every subgraph and the router in one process on embedded defaults (one embedded PostgreSQL
 * server, in-process broker) unless DATABASE_URL / REDIS_URL say otherwise. DATABASE_URL names a server: each
 * service gets a database of its own there (`…/parley` gives `parley_users`, …, created if missing);
 * USERS_DATABASE_URL, CONVERSATIONS_DATABASE_URL, ... override one service's. Ports: ROUTER_PORT (default 4000)
 * for the graph, USERS_PORT (4001), CONVERSATIONS_PORT (4002), MESSAGES_PORT (4003), PRESENCE_PORT (4004)
 * and FILES_PORT (4005) for the subgraphs; FILES_BLOB_PORT (4006) for local file storage's signed URLs;
 * WEB_PORT (3000) for the web app (built by `prestart`). Each service's Prometheus metrics are on a port of
 * their own: ROUTER_METRICS_PORT (9400), USERS_METRICS_PORT (9401), ... FILES_METRICS_PORT (9405), in the
 * order above. Data (the database, files) is kept in EMBEDDED_DATA_DIR (`.data`).
 */
async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--reset' && arg !== '--yes');
  if (unknown.length > 0 || (args.includes('--yes') && !args.includes('--reset'))) {
    throw new UsageError(USAGE);
  }
  const env = parseEnv(
    z.object({
      LOG_LEVEL: commonEnvShape.LOG_LEVEL,
      LOG_FORMAT: commonEnvShape.LOG_FORMAT,
      DATABASE_URL: databaseEnvShape.DATABASE_URL,
      EMBEDDED_DATA_DIR: databaseEnvShape.EMBEDDED_DATA_DIR,
    }),
    process.env,
  );
  if (args.includes('--reset')) await reset(resolve(env.EMBEDDED_DATA_DIR), args.includes('--yes'));

  const logger = createLogger({ service: 'parley', level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  // One process, so one METRICS_PORT each (a shared one would clash).
  // `<SERVICE>_DATABASE_URL` gives one service a database of its own choosing.
  const ports = (service: string, port: number) => ({
    PORT: process.env[`${service}_PORT`] ?? String(4000 + port),
    METRICS_PORT: process.env[`${service}_METRICS_PORT`] ?? String(9400 + port),
    ...(process.env[`${service}_DATABASE_URL`]
      ? { DATABASE_URL: process.env[`${service}_DATABASE_URL`] }
      : {}),
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

  const mode = platform.database
    ? `embedded PostgreSQL on 127.0.0.1:${platform.database.port}, data in ${resolve(env.EMBEDDED_DATA_DIR)}`
    : 'PostgreSQL from DATABASE_URL';
  const broker = process.env['REDIS_URL'] ? 'Redis from REDIS_URL' : 'in-process broker';
  console.log(`Parley is running (${mode}; ${broker}):`);
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
  if (error instanceof UsageError || error instanceof EmbeddedDataInUseError) {
    console.error(error.message);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    const { port } = error as { port?: number };
    console.error(
      `Port ${port ?? '(unknown)'} is in use: is Parley already running? Stop it, or set the *_PORT variables.`,
    );
  } else {
    console.error(error);
  }
  process.exit(1);
});
