import {
  createLogger,
  createMetricsRegistry,
  createRedisEventStream,
  createRedisPubSub,
  createRedisRealtimeLog,
  createRedisSessionRevocations,
  createServiceAuth,
  type Clock,
  type PubSub,
} from '@parley/kit';
import {
  createGraphQLClient,
  createTestDatabase,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@parley/kit/testing';

import { Redis } from 'ioredis';
import type { JWK } from 'jose';
import pg from 'pg';
import { createKeyring, generateSigningKey, type Keyring } from '../src/auth/keyring.js';
import { createLoginThrottle } from '../src/auth/login-throttle.js';
import { createPrismaClient } from '../src/data/database.js';
import { createOutboxRelay } from '../src/data/outbox.js';
import { createUsersServer } from '../src/server.js';
import { migrationsDir } from '../src/service.js';

export const ISSUER = 'parley-test';
export const AUDIENCE = 'parley-test';
export const SERVICE_TOKEN_SECRET = 'users-test-service-token-secret-0123456789';

export interface UsersTestServerOptions {
  signingKeys?: JWK[];
  activeKid?: string;
  accessTokenTtlSeconds?: number;
  refreshTokenReuseGraceSeconds?: number;
  maxFailuresPerAccount?: number;
  maxFailuresPerIp?: number;
  maxFailuresPerAccountTotal?: number;

  failureWindowSeconds?: number;
  maxRegistrationsPerIp?: number;
  /** What tokens and sessions go by (signing and checking alike): the system's time by default. */
  clock?: Clock;
}

/**
 * The users subgraph in-process (requests through `yoga.fetch`, no socket) on its own new database on the
 * real PostgreSQL server and its own prefix on the real Redis. `reuse` shares the database of another
 * instance (e.g. the same service restarted with a rotated keyring).
 */
export async function startUsersTestServer(
  options: UsersTestServerOptions = {},
  reuse?: { database: TestDatabase; prefix: string },
) {
  const database = reuse ? reuse.database : await createTestDatabase('users', { migrationsDir });
  const queries: { sql: string; params: string }[] = [];
  const prisma = createPrismaClient({
    connectionString: database.url,
    schema: 'public',
    poolMax: 5,
    onQuery: (sql, params) => queries.push({ sql, params }),
  });
  const prefix = reuse ? reuse.prefix : testRedisPrefix('users');
  const redis = new Redis(testRedisUrl());
  const events: PubSub = createRedisPubSub({
    publisher: new Redis(testRedisUrl()),
    subscriber: new Redis(testRedisUrl()),
    prefix,
  });
  const log = createRedisRealtimeLog({ redis, prefix });
  const stream = createRedisEventStream({ redis, prefix });
  const logger = createLogger({
    service: 'users-test',
    level: (process.env['TEST_LOG_LEVEL'] as 'silent') ?? 'silent',
  });
  const relay = createOutboxRelay({
    prisma,
    events,
    stream,
    log,
    logger,
  });
  const signingKeys = options.signingKeys ?? [await generateSigningKey('test-key-1')];
  const keyring: Keyring = await createKeyring({
    privateJwks: signingKeys,
    activeKid: options.activeKid,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 900,
    clock: options.clock,
  });
  const revocations = createRedisSessionRevocations({ redis, subscriber: redis.duplicate(), prefix });
  const yoga = createUsersServer({
    prisma,
    keyring,
    events,
    relay,
    logger,
    metrics: createMetricsRegistry('users'),
    revocations,
    serviceAuth: createServiceAuth({ secret: SERVICE_TOKEN_SECRET, service: 'users' }),
    throttle: createLoginThrottle({
      redis,
      prefix,
      maxFailuresPerAccount: options.maxFailuresPerAccount ?? 5,
      maxFailuresPerAccountTotal: options.maxFailuresPerAccountTotal ?? 1000,
      maxFailuresPerIp: options.maxFailuresPerIp ?? 1000,
      windowSeconds: options.failureWindowSeconds ?? 900,
      maxRegistrationsPerIp: options.maxRegistrationsPerIp ?? 10_000,
      registrationWindowSeconds: 3600,
    }),
    config: {
      issuer: ISSUER,
      audience: AUDIENCE,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 900,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
      refreshTokenReuseGraceSeconds: options.refreshTokenReuseGraceSeconds ?? 30,
      http: { trustProxy: true, maxBodyBytes: 100_000, graphiql: false },
    },
    clock: options.clock,
  });

  const client = (token?: string, headers: Record<string, string> = {}) =>
    createGraphQLClient({
      url: 'http://users.test/graphql',
      fetch: async (input, init) => yoga.fetch(input, init ?? {}),
      token,
      headers: { 'user-agent': 'vitest', 'x-forwarded-for': '203.0.113.7', ...headers },
    });

  /** A client calling as another service (`Authorization: Service <token>`), as the presence subgraph does. */
  const serviceClient = async (service = 'presence') =>
    client(undefined, {
      authorization: await createServiceAuth({ secret: SERVICE_TOKEN_SECRET, service }).authorization(),
    });

  /** Direct SQL on the service's database, for assertions about what is stored. */
  const sql = async <Row extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values: unknown[] = [],
  ) => {
    const connection = new pg.Client({ connectionString: database.url });
    await connection.connect();
    try {
      return (await connection.query<Row>(text, values)).rows;
    } finally {
      await connection.end();
    }
  };

  const server = {
    yoga,
    prisma,

    keyring,
    signingKeys,
    database,
    prefix,
    events,
    /** The realtime log `users.updated` is appended to. */
    log,
    /** The durable streams `users.updated` is appended to, as the conversations service reads them. */
    stream,
    queries,
    client,
    serviceClient,
    sql,
    /** Signs `user` in again (a new session); throws if the login is refused. */
    async login(user: { input: { email: string; password: string } }, headers: Record<string, string> = {}) {
      const response = await client(undefined, headers).request<{ login: SignedInResult }>(LOGIN, {
        input: { email: user.input.email, password: user.input.password },
      });
      if (!response.data) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
      return response.data.login;
    },
    /** Registers a new user with unique credentials and returns them signed in. */
    async register(label = 'user', extra: { displayName?: string } = {}) {
      const unique = `${label}_${Math.random().toString(36).slice(2, 10)}`;
      const input = {
        email: `${unique}@example.test`,
        username: unique,
        password: 'correct horse battery',
        ...extra,
      };
      const response = await client().request<{ register: SignedInResult }>(REGISTER, { input });
      if (!response.data) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
      return { ...response.data.register, input, api: client(response.data.register.accessToken) };
    },
    async stop() {
      await prisma.$disconnect();
      await revocations.close();
      await events.close();
      redis.disconnect();
      if (!reuse) await database.drop();
    },
  };
  return server;
}

export type UsersTestServer = Awaited<ReturnType<typeof startUsersTestServer>>;

export interface SignedInResult {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: { id: string; username: string; displayName: string };
  session: { id: string; ip: string | null; userAgent: string | null };
}

const SIGNED_IN_FIELDS = `accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt
  user { id username displayName } session { id ip userAgent }`;

export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { ${SIGNED_IN_FIELDS} } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${SIGNED_IN_FIELDS} } }`;
export const REFRESH = `mutation Refresh($input: RefreshSessionInput!) { refreshSession(input: $input) { ${SIGNED_IN_FIELDS} } }`;
export const ME = `query Me { me { id email user { id username displayName } sessions { id current ip userAgent } } }`;
