import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  createLogger,
  createMemoryPubSub,
  createMemoryRealtimeLog,
  createMemorySessionRevocations,
  createMetricsRegistry,
  createServiceAuth,
  jwksFromJson,
} from '@parley/kit';
import { createMemoryMembershipProjection } from '@parley/membership';
import type { UserRelationsClient } from '@parley/users/client';
import { createGraphQLClient, createTestDatabase, testRedisPrefix } from '@parley/kit/testing';
import { expect } from 'vitest';
import { createConversationStore } from '../src/data/conversation-store.js';
import { createPrismaClient } from '../src/data/database.js';
import { createConversationsServer } from '../src/server.js';
import { migrationsDir } from '../src/service.js';

const ISSUER = 'parley-test';
const AUDIENCE = 'parley-test';
const KID = 'conversations-test-key';
export const SERVICE_TOKEN_SECRET = 'conversations-test-service-token-secret-0123';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An access token as the users subgraph signs it (EdDSA, `kid`, `at+jwt`), with node:crypto alone. */
function accessToken(privateKey: KeyObject, userId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url({ alg: ACCESS_TOKEN_ALGORITHM, kid: KID, typ: ACCESS_TOKEN_TYPE });
  const payload = base64url({
    sub: userId,
    sid: randomUUID(),
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
  });
  const signature = sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Every user exists and nobody blocked anybody: what these tests look at starts after that check. */
const everyoneReachable: UserRelationsClient = async (userIds) =>
  new Map(
    userIds.map((id) => [
      id,
      { exists: true, blockedByViewer: false, hasBlockedViewer: false, listsViewerAsContact: false },
    ]),
  );

/**
 * The conversations subgraph in-process (requests through `yoga.fetch`, no socket) on its own new database
 * on the real PostgreSQL server, with in-memory events and projection, users who all exist, and access
 * tokens it signs itself (the users subgraph is not involved).
 */
/** The data of a response that must have no errors. */
export async function ok<T>(response: Promise<{ data?: T | null; errors?: unknown }>): Promise<T> {
  const { data, errors } = await response;
  expect(errors).toBeUndefined();
  return data!;
}

export async function startConversationsTestServer(label: string) {
  const database = await createTestDatabase(label, { migrationsDir });
  const queries: { sql: string; params: string }[] = [];
  const prisma = createPrismaClient({
    connectionString: database.url,
    schema: 'public',
    poolMax: 4,
    onQuery: (sql, params) => queries.push({ sql, params }),
  });
  const prefix = testRedisPrefix(label);
  const events = createMemoryPubSub({ prefix });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: ACCESS_TOKEN_ALGORITHM };

  const { yoga } = createConversationsServer({
    prisma,
    events,
    log: createMemoryRealtimeLog({ prefix }),
    projection: createMemoryMembershipProjection({ prefix }),
    users: everyoneReachable,
    revocations: createMemorySessionRevocations(),
    serviceAuth: createServiceAuth({ secret: SERVICE_TOKEN_SECRET, service: 'conversations' }),
    logger: createLogger({ service: 'conversations-test', level: 'silent' }),
    metrics: createMetricsRegistry('conversations'),
    config: {
      token: { keys: jwksFromJson({ keys: [jwk] }), issuer: ISSUER, audience: AUDIENCE },
      http: { trustProxy: false, maxBodyBytes: 1_000_000, graphiql: false },
      maxGroupMembers: 1_000,
      listCursorTtlSeconds: 3_600,
      receiptsMaxMembers: 100,
    },
  });

  const client = (headers: Record<string, string> = {}) =>
    createGraphQLClient({
      url: 'http://conversations.test/graphql',
      fetch: async (input, init) => yoga.fetch(input, init ?? {}),
      headers,
    });

  return {
    yoga,
    queries,
    client,
    /** A new user (a fresh id) and a client carrying an access token of theirs. */
    async user() {
      const id = randomUUID();
      const token = accessToken(privateKey, id);
      return { id, token, api: client({ authorization: `Bearer ${token}` }) };
    },
    /** Records a message `userId` sent in the conversation, as the messages subgraph's event would. */
    async sent(conversationId: string, userId: string) {
      const { lastSeq } = await prisma.conversation.findUniqueOrThrow({ where: { id: conversationId } });
      await createConversationStore(prisma).applyMessageAdded({
        conversationId,
        messageId: randomUUID(),
        seq: lastSeq + 1,
        senderId: userId,
        mentionedUserIds: [],
      });
    },
    /** A client calling as another service (`Authorization: Service <token>`), as the presence subgraph does. */
    async serviceClient(service = 'presence') {
      const auth = createServiceAuth({ secret: SERVICE_TOKEN_SECRET, service });
      return client({ authorization: await auth.authorization() });
    },
    async stop() {
      await prisma.$disconnect();
      await events.close();
      await database.drop();
    },
  };
}

export type ConversationsTestServer = Awaited<ReturnType<typeof startConversationsTestServer>>;
export type TestUser = Awaited<ReturnType<ConversationsTestServer['user']>>;
