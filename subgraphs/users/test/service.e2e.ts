import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRedisSessionRevocations,
  createTokenVerifier,
  verificationKeysFromEnv,
  type RunningService,
  type TokenVerifier,
} from '@parley/kit';
import {
  createGraphQLClient,
  createTestDatabase,
  reasonOf,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@parley/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { readUsersEnv } from '../src/env.js';
import { startUsersService } from '../src/service.js';

let database: TestDatabase;
let service: RunningService;
let redis: Redis;
let prefix: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'parley-users-e2e-'));
  database = await createTestDatabase('users_e2e');
  prefix = testRedisPrefix('users-e2e');
  redis = new Redis(testRedisUrl());
  service = await startUsersService(
    readUsersEnv({
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
      EMBEDDED_DATA_DIR: dataDir,
    }),
  );
});

afterAll(async () => {
  await service?.stop();
  redis?.disconnect();
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the users service on a real socket, PostgreSQL and Redis', () => {
  it('another service verifies its tokens from the JWKS URL alone, and sees its revocations through Redis', async () => {
    const api = createGraphQLClient({ url: `${service.url}/graphql` });
    const registered = await api.request<{
      register: { accessToken: string; user: { id: string }; session: { id: string } };
    }>(
      `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } session { id } } }`,
      { input: { email: 'e2e@example.test', username: 'e2e_user', password: 'a long password' } },
    );
    const { accessToken, user, session } = registered.data!.register;

    // What a conversations or messages service does: only the URL and the shared Redis, no secret.
    const revocations = createRedisSessionRevocations({ redis, subscriber: redis.duplicate(), prefix });
    onTestFinished(() => revocations.close());
    const verify: TokenVerifier = createTokenVerifier({
      issuer: 'parley',
      audience: 'parley',
      keys: verificationKeysFromEnv({ AUTH_JWKS_URL: `${service.url}/.well-known/jwks.json` }),
      revocations,
    });
    await expect(verify(accessToken)).resolves.toMatchObject({ userId: user.id, sessionId: session.id });

    const authed = createGraphQLClient({ url: `${service.url}/graphql`, token: accessToken });
    expect((await authed.request<{ logout: boolean }>('mutation { logout }')).data?.logout).toBe(true);
    // Another process hears of the revocation by push (or reads it within a second).
    await expect.poll(() => revocations.isRevoked(session.id), { timeout: 2_000, interval: 10 }).toBe(true);
    await expect(verify(accessToken)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' },
    });
    expect(reasonOf(await authed.request('{ me { id } }'))).toBe('SESSION_REVOKED');
  });

  it('answers /health and /ready, serves /metrics on its metrics port only, and echoes the request id', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    expect((await fetch(`${service.url}/ready`)).status).toBe(200);
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'e2e-request-1' },
      body: JSON.stringify({ query: 'query Probe { me { id } }', operationName: 'Probe' }),
    });
    expect(response.headers.get('x-request-id')).toBe('e2e-request-1');
    expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
    const metrics = await (await fetch(service.metricsUrl)).text();
    expect(metrics).toMatch(/graphql_errors_total\{code="UNAUTHENTICATED",service="users"\} \d+/);
    expect(metrics).toMatch(/graphql_envelop_request_duration_bucket\{.*operationName="Probe"/);
  });
});
