import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConversationsEnv, type ConversationsEnv } from '@parley/conversations/env';
import { fellowMemberEvents } from '@parley/conversations/events';
import { startConversationsService } from '@parley/conversations/service';
import {
  createLogger,
  createRedisEventStream,
  createRedisRealtimeLog,
  type EventStream,
  type RealtimeLog,
  type RunningService,
} from '@parley/kit';
import {
  createGraphQLClient,
  createTestDatabase,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@parley/testkit';
import { readUsersEnv } from '@parley/users/env';
import { userEvents } from '@parley/users/events';
import { startUsersService } from '@parley/users/service';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The users and conversations services, each on a database of its own, sharing a Redis prefix (as deployed),
 * with no router: the conversations service is stopped and started again while users goes on. What it tells
 * fellow members is read from the realtime log the router follows.
 */
const logger = createLogger({ service: 'test', level: 'silent' });
const SERVICE_TOKEN_SECRET = 'fellow-member-updates-test-service-token-secret';
const databases: TestDatabase[] = [];
let dataDir: string;
let redis: Redis;
let log: RealtimeLog;
let stream: EventStream;
let users: RunningService | undefined;
let conversations: RunningService | undefined;
let conversationsEnv: ConversationsEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fellow-member-updates-'));
  const prefix = testRedisPrefix('fellow-member-updates');
  const [usersDatabase, conversationsDatabase] = await Promise.all([
    createTestDatabase('fellow_updates_users'),
    createTestDatabase('fellow_updates_conversations'),
  ]);
  databases.push(usersDatabase, conversationsDatabase);
  const shared = {
    NODE_ENV: 'test',
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    PORT: '0',
    METRICS_PORT: '0',
    EMBEDDED_DATA_DIR: dataDir,
    SERVICE_TOKEN_SECRET,
  };
  users = await startUsersService(readUsersEnv({ ...shared, DATABASE_URL: usersDatabase.url }), logger);
  conversationsEnv = readConversationsEnv({
    ...shared,
    DATABASE_URL: conversationsDatabase.url,
    USERS_SUBGRAPH_URL: `${users.url}/graphql`,
  });
  conversations = await startConversationsService(conversationsEnv, logger);
  redis = new Redis(testRedisUrl());
  log = createRedisRealtimeLog({ redis, prefix });
  stream = createRedisEventStream({ redis, prefix });
});

afterAll(async () => {
  await conversations?.stop();
  await users?.stop();
  redis?.disconnect();
  await Promise.all(databases.map((database) => database.drop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface User {
  id: string;
  request: <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;
}

const call =
  (url: () => string, token: string) =>
  async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const { data, errors } = await createGraphQLClient({ url: url(), token }).request<T>(query, variables);
    expect(errors, JSON.stringify(errors)).toBeUndefined();
    return data!;
  };

async function register(name: string): Promise<User & { toConversations: User['request'] }> {
  const unique = `${name}_${Math.random().toString(36).slice(2, 10)}`;
  const { data, errors } = await createGraphQLClient({ url: `${users!.url}/graphql` }).request<{
    register: { accessToken: string; user: { id: string } };
  }>(`mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`, {
    input: { email: `${unique}@example.test`, username: unique, password: 'correct horse battery' },
  });
  expect(errors, JSON.stringify(errors)).toBeUndefined();
  const { accessToken, user } = data!.register;
  return {
    id: user.id,
    request: call(() => `${users!.url}/graphql`, accessToken),
    // The conversations service gets a new port each time it starts.
    toConversations: call(() => `${conversations!.url}/graphql`, accessToken),
  };
}

const updateProfile = (user: User, bio: string) =>
  user.request(`mutation ($bio: String) { updateProfile(input: { bio: $bio }) { id } }`, { bio });

/** The `conversations.fellow-member-updated` events the realtime log has after `cursor`. */
async function fellowUpdatesAfter(cursor: string) {
  const read = await log.readAfter(cursor, 1_000);
  if (read.expired) throw new Error('the realtime log lost its entries');
  return read.events
    .filter((event) => event.topic === fellowMemberEvents.updated.name)
    .map((event) => event.payload as { userId: string; audience: string[] });
}

describe('conversations.fellow-member-updated', () => {
  it('is delivered, once each, for users.updated events appended while the conversations service was stopped, a redelivery stored once', async () => {
    const [ann, bob, cy] = await Promise.all([register('ann'), register('bob'), register('cy')]);
    await cy.toConversations(`mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, {
      input: { title: 'Stopped', memberIds: [ann.id, bob.id] },
    });
    const cursor = await log.head();

    await conversations!.stop();
    conversations = undefined;
    // Users goes on: two changes of ann's, appended to the stream with no consumer reading it.
    await updateProfile(ann, 'while conversations was down');
    await updateProfile(ann, 'still down');
    expect(await fellowUpdatesAfter(cursor)).toEqual([]);

    conversations = await startConversationsService(conversationsEnv, logger);
    // The first of them again, as a users relay that appended it and then failed would deliver it again.
    const read = await log.readAfter(cursor, 1_000);
    if (read.expired) throw new Error('the realtime log lost its entries');
    const [annsFirst] = read.events.filter((event) => event.topic === userEvents.updated.name);
    expect(annsFirst?.payload).toMatchObject({ userId: ann.id, eventId: annsFirst?.id });
    await stream.append(userEvents.updated, userEvents.updated.payload.parse(annsFirst!.payload));
    // Then one of bob's, whose event comes after ann's in the stream, handled in order: when it is in the log,
    // so is every event of ann's the conversations service will ever deliver.
    await updateProfile(bob, 'after the restart');
    await expect
      .poll(async () => (await fellowUpdatesAfter(cursor)).some((event) => event.userId === bob.id), {
        timeout: 10_000,
        interval: 20,
      })
      .toBe(true);
    const sorted = (ids: string[]) => [...ids].sort();
    expect(
      (await fellowUpdatesAfter(cursor)).map((event) => ({ ...event, audience: sorted(event.audience) })),
    ).toEqual([
      { userId: ann.id, audience: sorted([bob.id, cy.id]) },
      { userId: ann.id, audience: sorted([bob.id, cy.id]) },
      { userId: bob.id, audience: sorted([ann.id, cy.id]) },
    ]);
  });
});
