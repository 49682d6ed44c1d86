import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, startWithResources, type Clock, type Logger, type Resources } from '@parley/kit';
import {
  createGraphQLClient,
  createTestDatabase,
  sharedDataLabel,
  testRedisPrefix,
  testRedisUrl,
  type GraphQLClient,
} from '@parley/kit/testing';
import { serviceDatabaseOn, startPlatform } from '@parley/platform';
import { createPersistedDocuments } from '@parley/router/persisted';
import { Redis } from 'ioredis';

export interface StartParleyOptions {
  /** Names the test databases and Redis prefix, to find them when debugging. */
  label?: string;
  /** Extra router variables (PERSISTED_ONLY, RATE_LIMIT_PER_IP, CORS_ORIGINS, ...). */
  routerEnv?: Record<string, string>;
  /** Extra users-subgraph variables. */
  usersEnv?: Record<string, string>;
  /** Extra conversations-subgraph variables. */
  conversationsEnv?: Record<string, string>;
  /** Extra messages-subgraph variables. */
  messagesEnv?: Record<string, string>;
  /** Extra presence-subgraph variables. */
  presenceEnv?: Record<string, string>;
  /** Extra files-subgraph variables. */
  filesEnv?: Record<string, string>;
  /** Also serve the web app's production build (web/.next) on a free port, allowed by CORS. */
  web?: boolean;
  /**
   * A PostgreSQL server of the test's own (its `postgres` database URL): the platform creates a database per
   * subgraph on it, as `npm start` does with DATABASE_URL, and they go with the server. By default each
   * subgraph gets a new database on the test server, dropped at `stop()`.
   */
  databaseServerUrl?: string;
  /** The Redis every service and the kit itself use: the test server's by default (REDIS_URL). */
  redisUrl?: string;
  /**
   * What the services read the time from (see startPlatform for which): a test clock (createTestClock) makes
   * time pass at once, access tokens' lifetimes included. The system's by default.
   */
  clock?: Clock;
  logger?: Logger;
}

export interface SignedInUser {
  id: string;
  username: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** A client of the router carrying this user's access token. */
  client: GraphQLClient;
}

/** The client name the test kit's own operations are registered under, so they run in persisted-only mode too. */
export const TESTKIT_CLIENT = 'parley-testkit';

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken user { id username } }
}`;

/**
 * Registers a new user with unique credentials through the router at `url` (with `headers`, e.g. a client
 * name for persisted-only mode) and returns them signed in, with a client of that router.
 */
export async function registerUserAt(
  url: string,
  name = 'user',
  headers: Record<string, string> = {},
): Promise<SignedInUser> {
  const unique = `${name}_${Math.random().toString(36).slice(2, 10)}`;
  const input = {
    email: `${unique}@example.test`,
    username: unique,
    password: 'correct horse battery',
  };
  const response = await createGraphQLClient({ url, headers }).request<{
    register: { accessToken: string; refreshToken: string; user: { id: string; username: string } };
  }>(REGISTER, { input });
  if (!response.data) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
  const { accessToken, refreshToken, user } = response.data.register;
  return {
    ...user,
    email: input.email,
    password: input.password,
    accessToken,
    refreshToken,
    client: createGraphQLClient({ url, token: accessToken }),
  };
}

/** The subgraphs, each with a PostgreSQL database of its own. */
export const SUBGRAPHS = ['users', 'conversations', 'messages', 'presence', 'files'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];

/** A new database per subgraph on the test PostgreSQL server, each dropped when `resources` close. */
export async function createSubgraphDatabases(
  label: string,
  resources: Resources,
): Promise<Record<SubgraphName, string>> {
  const urls = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPHS) {
    const database = await createTestDatabase(`${label}_${name}`);
    resources.add(() => database.drop());
    urls[name] = database.url;
  }
  return urls;
}

/**
 * The whole platform for a test: every subgraph and the router, in this process, on free ports, against
 * real PostgreSQL (a new database per subgraph) and real Redis (a new prefix). `stop()` shuts it all
 * down and drops the databases.
 */
export async function startParley(options: StartParleyOptions = {}) {
  const label = options.label ?? 'parley';
  const logger =
    options.logger ??
    createLogger({ service: 'testkit', level: process.env['LOG_LEVEL'] === 'debug' ? 'debug' : 'silent' });
  const prefix = testRedisPrefix(label);
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const dataDir = await mkdtemp(join(tmpdir(), `${label}-`));
  // Known to the test, so it can call service-only fields as a service would.
  const serviceTokenSecret = randomBytes(32).toString('base64url');
  return startWithResources(async (resources) => {
    resources.add(() => rm(dataDir, { recursive: true, force: true }));
    let databaseUrls: Record<SubgraphName, string>;
    const serverEnv: Record<string, string> = {};
    if (options.databaseServerUrl) {
      const base = new URL(options.databaseServerUrl);
      base.pathname = `/parley_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
      serverEnv['DATABASE_URL'] = base.toString();
      databaseUrls = Object.fromEntries(
        SUBGRAPHS.map((name) => [name, serviceDatabaseOn(base.toString(), name).serviceUrl]),
      ) as Record<SubgraphName, string>;
    } else {
      databaseUrls = await createSubgraphDatabases(label, resources);
    }
    const databaseOf = (name: SubgraphName) =>
      options.databaseServerUrl ? {} : { DATABASE_URL: databaseUrls[name] };

    // Free ports for every service's graph and metrics, so test workers can run side by side.
    const ports = { PORT: '0', METRICS_PORT: '0' };
    const platform = await startPlatform({
      env: {
        NODE_ENV: 'test',
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        EMBEDDED_DATA_DIR: dataDir,
        SERVICE_TOKEN_SECRET: serviceTokenSecret,
        ...serverEnv,
      },
      usersEnv: {
        ...databaseOf('users'),
        ...ports,
        // Tests register many users from one address.
        REGISTER_MAX_PER_IP: '100000',
        ...options.usersEnv,
      },
      conversationsEnv: { ...databaseOf('conversations'), ...ports, ...options.conversationsEnv },
      messagesEnv: { ...databaseOf('messages'), ...ports, ...options.messagesEnv },
      presenceEnv: { ...databaseOf('presence'), ...ports, ...options.presenceEnv },
      // Files are kept in the run's own directory (EMBEDDED_DATA_DIR/files), removed at stop.
      filesEnv: { ...databaseOf('files'), ...ports, FILES_BLOB_PORT: '0', ...options.filesEnv },
      routerEnv: { ...ports, ...options.routerEnv },
      ...(options.web ? { web: { port: 0 } } : {}),
      clock: options.clock,
      logger,
    });
    resources.add(() => platform.stop());

    const redis = new Redis(redisUrl);
    // A test may stop its Redis on purpose; without a listener ioredis prints every reconnection attempt.
    redis.on('error', () => {});
    resources.add(async () => redis.disconnect());
    await createPersistedDocuments({ redis, prefix }).register(TESTKIT_CLIENT, [
      { id: 'register', body: REGISTER },
    ]);

    const { url } = platform.router;
    const client = (token?: string, headers?: Record<string, string>) =>
      createGraphQLClient({ url, token, headers });

    /** Registers a new user with unique credentials through the router and returns them signed in. */
    const registerUser = (name = 'user') =>
      registerUserAt(url, name, { 'graphql-client-name': TESTKIT_CLIENT });

    return {
      /** The router's GraphQL endpoint. */
      url,
      /** The web app, when started with `web: true`. */
      webUrl: platform.web?.url,
      /** The same endpoint for graphql-ws. */
      wsUrl: platform.router.wsUrl,
      routerUrl: platform.router.baseUrl,
      subgraphUrls: platform.subgraphs,
      /** Each service's Prometheus `/metrics` URL (on its own port, not the graph's), by service name. */
      metricsUrls: platform.metrics,
      /** Each subgraph's database (real PostgreSQL), to fill or inspect directly. */
      databaseUrls,
      redisUrl,
      redisPrefix: prefix,
      /** The secret the services sign and check service tokens with (see createServiceAuth). */
      serviceTokenSecret,
      client,
      /** Registers a new user with unique credentials through the router and returns them signed in. */
      registerUser,
      /** Several at once, in the order named: `const [ann, bob] = await parley.registerUsers('ann', 'bob')`. */
      registerUsers: <const Names extends string[]>(...names: Names) =>
        Promise.all(names.map((name) => registerUser(name))) as Promise<{
          [Index in keyof Names]: SignedInUser;
        }>,
    };
  });
}

export type Parley = Awaited<ReturnType<typeof startParley>>;

let shared: Promise<Parley> | undefined;

/**
 * One platform per test worker, for files that need no settings of their own and whose data cannot trip up
 * another file's (each registers users of its own): the first file that asks starts it, the worker's later
 * files get the same one (test files share a module graph: `isolate: false`). Its `stop()` does nothing, so
 * a file's `afterAll` leaves it to the next; it lives until the worker ends, and the test setup's teardown
 * drops its databases and Redis keys (dropTestData). A file that needs a fresh platform, or settings
 * of its own, calls startParley.
 */
export function sharedParley(): Promise<Parley> {
  // Many files' requests from one address within the router's rate-limit window.
  shared ??= startParley({ label: sharedDataLabel(), routerEnv: { RATE_LIMIT_PER_IP: '100000' } }).then(
    (parley) => ({ ...parley, stop: async () => {} }),
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}
