import { randomBytes } from 'node:crypto';
import { createLogger, createRedisRealtimeLog, createServiceAuth, type RealtimeLog } from '@parley/kit';
import {
  createTestClock,
  createTestDatabase,
  openTestRedis,
  testRedisPrefix,
  type TestDatabase,
} from '@parley/kit/testing';
import { startParley, type Parley } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm } from '../conversations/operations.js';
import { createPrismaClient } from '../../subgraphs/presence/src/data/database.js';
import { createPostgresPresenceRecordStore } from '../../subgraphs/presence/src/data/presence-record-store.js';
import { createPresencePublisher } from '../../subgraphs/presence/src/publisher.js';
import { createRelationsClient } from '../../subgraphs/presence/src/relations.js';
import { migrationsDir } from '../../subgraphs/presence/src/service.js';
import {
  createRedisPresenceStore,
  type PresenceStore,
} from '../../subgraphs/presence/src/store/presence-store.js';

/**
 * The presence publisher on its own Redis prefix and database (so the platform's own publisher does not
 * claim its changes), asking the platform's real users and conversations subgraphs. Its store and it read
 * the time from the test's clock: changes settle when the test moves it on.
 */
const SECRET = randomBytes(32).toString('base64url');
const SETTLE_MS = 50;
const clock = createTestClock();
let parley: Parley;
let database: TestDatabase;
let prisma: ReturnType<typeof createPrismaClient>;
const prefix = testRedisPrefix('presence-publisher');
const redis = openTestRedis(prefix, (connection) => ({
  store: createRedisPresenceStore({ redis: connection, prefix, timings: { settleMs: SETTLE_MS }, clock }),
  log: createRedisRealtimeLog({ redis: connection, prefix }),
}));

beforeAll(async () => {
  parley = await startParley({
    label: 'presence_publisher',
    usersEnv: { SERVICE_TOKEN_SECRET: SECRET },
    conversationsEnv: { SERVICE_TOKEN_SECRET: SECRET },
  });
  database = await createTestDatabase('presence_publisher', { migrationsDir });
  prisma = createPrismaClient({ connectionString: database.url, schema: 'public', poolMax: 2 });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
  await redis.cleanup();
  await parley?.stop();
});

function publisher(store: PresenceStore, log: RealtimeLog, usersUrl: string) {
  return createPresencePublisher({
    store,
    log,
    records: createPostgresPresenceRecordStore(prisma),
    relations: createRelationsClient({
      usersUrl,
      conversationsUrl: parley.subgraphUrls.conversations,
      timeoutMs: 2_000,
      serviceAuth: createServiceAuth({ secret: SECRET, service: 'presence' }),
    }),
    logger: createLogger({ service: 'test', level: 'silent' }),
    clock,
  });
}

describe('presence publisher', () => {
  it('hands a change it could not publish (users unreachable) to the next tick, which publishes it once', async () => {
    const { store, log } = redis.built;
    const [ann, bob] = await parley.registerUsers('ann', 'bob');
    await createDm(ann!, bob!);
    const start = await log.head();
    await store.touch([{ userId: ann!.id, deviceId: 'ws:1', active: true }]);
    clock.advance(SETTLE_MS); // settled

    // Nothing listens on port 1: the audience cannot be asked, the claim is released, nothing appended.
    await publisher(store, log, 'http://127.0.0.1:1/graphql').tick();
    const read = await log.readAfter(start, 10);
    expect(read.expired ? 'expired' : read.events).toEqual([]);

    clock.advance(SETTLE_MS); // released changes settle again
    await publisher(store, log, parley.subgraphUrls.users).tick();
    const published = await log.readAfter(start, 10);
    if (published.expired) throw new Error('fresh log expired');
    expect(published.events.map((event) => [event.topic, event.payload])).toEqual([
      [
        'presence.changed',
        {
          userId: ann!.id,
          status: 'ONLINE',
          lastSeenAt: null,
          audience: expect.arrayContaining([ann!.id, bob!.id]),
        },
      ],
    ]);
    // Acknowledged: no claim left to lapse and be published again.
    expect(await redis.redis.zcard(`${prefix}presence:claimed`)).toBe(0);
    expect(await redis.redis.hget(`${prefix}presence:u:${ann!.id}`, 'pp')).toBeNull();
  });
});
