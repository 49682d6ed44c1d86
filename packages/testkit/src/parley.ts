import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@parley/kit';
import {
  createGraphQLClient,
  createTestDatabase,
  testRedisPrefix,
  testRedisUrl,
  type GraphQLClient,
} from '@parley/kit/testing';
import { readRouterEnv } from '@parley/router/env';
import { createPersistedDocuments } from '@parley/router/persisted';
import { startRouterService } from '@parley/router/service';
import { readUsersEnv } from '@parley/users/env';
import { startUsersService } from '@parley/users/service';
import { Redis } from 'ioredis';

export interface StartParleyOptions {
  /** Names the test databases and Redis prefix, to find them when debugging. */
  label?: string;
  /** Extra router variables (PERSISTED_ONLY, RATE_LIMIT_PER_IP, CORS_ORIGINS, ...). */
  routerEnv?: Record<string, string>;
  /** Extra users-subgraph variables. */
  usersEnv?: Record<string, string>;
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
  const dataDir = await mkdtemp(join(tmpdir(), `${label}-`));
  const usersDatabase = await createTestDatabase(`${label}_users`);
  const shared = {
    NODE_ENV: 'test',
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    EMBEDDED_DATA_DIR: dataDir,
  };

  const stops: (() => Promise<unknown>)[] = [
    () => rm(dataDir, { recursive: true, force: true }),
    () => usersDatabase.drop(),
  ];
  const stop = async () => {
    for (const close of stops.splice(0)) await close();
  };
  try {
    const users = await startUsersService(
      readUsersEnv({
        ...shared,
        DATABASE_URL: usersDatabase.url,
        PORT: '0',
        // Every request reaches the subgraph from the router: the caller's address is in X-Forwarded-For.
        TRUST_PROXY: 'true',
        // Tests register many users from one address.
        REGISTER_MAX_PER_IP: '100000',
        ...options.usersEnv,
      }),
      logger.child({ service: 'users' }),
    );
    stops.unshift(() => users.stop());

    const router = await startRouterService(
      readRouterEnv({
        ...shared,
        PORT: '0',
        SUBGRAPH_USERS_URL: `${users.url}/graphql`,
        ...options.routerEnv,
      }),
      logger.child({ service: 'router' }),
    );
    stops.unshift(() => router.stop());
    const redis = new Redis(testRedisUrl());
    stops.unshift(async () => redis.disconnect());
    await createPersistedDocuments({ redis, prefix }).register(TESTKIT_CLIENT, [
      { id: 'register', body: REGISTER },
    ]);

    const url = `${router.url}/graphql`;
    const client = (token?: string, headers?: Record<string, string>) =>
      createGraphQLClient({ url, token, headers });

    return {
      /** The router's GraphQL endpoint. */
      url,
      /** The same endpoint for graphql-ws. */
      wsUrl: `${router.wsUrl}/graphql`,
      routerUrl: router.url,
      subgraphUrls: { users: `${users.url}/graphql` },
      redisPrefix: prefix,
      client,
      /** Registers a new user with unique credentials through the router and returns them signed in. */
      async registerUser(name = 'user'): Promise<SignedInUser> {
        const unique = `${name}_${Math.random().toString(36).slice(2, 10)}`;
        const input = {
          email: `${unique}@example.test`,
          username: unique,
          password: 'correct horse battery',
        };
        const response = await client(undefined, { 'graphql-client-name': TESTKIT_CLIENT }).request<{
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
          client: client(accessToken),
        };
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

export type Parley = Awaited<ReturnType<typeof startParley>>;
