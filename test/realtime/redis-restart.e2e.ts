import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup } from '../conversations/operations.js';
import { send, SEND, type MessageFields } from '../messages/operations.js';
import { nextMessage, subscribeEvents, summaryOf, takeMessages, useRealtime } from './operations.js';

/** Our own redis-server, persisting every write (AOF, fsync always) so a restart loses nothing. */
let redisServer: ChildProcess | undefined;
let redisDir: string;
let redisPort: number;
let parley: Parley;
let ann: SignedInUser;
let bob: SignedInUser;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts redis-server on `redisPort` and `redisDir`; resolves once it accepts connections and answers PING. */
async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir],
      ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  const client = new Redis(redisPort, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
  try {
    await client.connect();
    expect(await client.ping()).toBe('PONG');
  } finally {
    client.disconnect();
  }
  return child;
}

/** SHUTDOWN (the AOF keeps every write), then the same server again on the same port and directory. */
async function restartRedis() {
  const exited = once(redisServer!, 'exit');
  const client = new Redis(redisPort, '127.0.0.1', { retryStrategy: () => null, maxRetriesPerRequest: 0 });
  // The server closes the connection instead of answering.
  await client.call('SHUTDOWN').catch(() => {});
  client.disconnect();
  await exited;
  redisServer = await startRedis();
}

/**
 * Sends, retrying (same clientMutationId, so at most one message) while the platform reconnects to Redis:
 * the only failure allowed meanwhile is SERVICE_UNAVAILABLE.
 */
async function sendWhileRedisReturns(user: SignedInUser, conversationId: string, body: string) {
  const input = { conversationId, body, clientMutationId: randomUUID() };
  const failures: unknown[] = [];
  let sent: MessageFields | undefined;
  await expect
    .poll(
      async () => {
        const response = await user.client.request(SEND, { input });
        if (response.data?.sendMessage) sent = response.data.sendMessage;
        else failures.push(codeOf(response));
        return sent?.body;
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(body);
  expect(failures.filter((code) => code !== 'SERVICE_UNAVAILABLE')).toEqual([]);
  return sent!;
}

beforeAll(async () => {
  redisDir = await mkdtemp(join(tmpdir(), 'realtime-redis-'));
  redisPort = await freePort();
  redisServer = await startRedis();
  parley = await startParley({ label: 'realtime_redis', redisUrl: `redis://127.0.0.1:${redisPort}` });
  [ann, bob] = await parley.registerUsers('ann', 'bob');
});

afterAll(async () => {
  await parley?.stop();
  if (redisServer?.pid !== undefined && redisServer.exitCode === null) {
    const exited = once(redisServer, 'exit');
    process.kill(redisServer.pid, 'SIGTERM');
    await exited;
  }
  if (redisDir) await rm(redisDir, { recursive: true, force: true });
});

const realtime = useRealtime(() => parley);

describe('Redis restarting', () => {
  it('keeps delivering to a live subscription, and resumes across the restart exactly once', async () => {
    const group = await createGroup(ann, [bob], 'Restart');
    const live = subscribeEvents(await realtime.connect(bob));
    await realtime.live(1);
    await send(ann, group.id, 'm0');
    const { cursor: beforeM1 } = await nextMessage(live);
    await send(ann, group.id, 'm1');
    expect(summaryOf([await nextMessage(live)])).toEqual(['MessageAdded m1']);

    await restartRedis();
    await sendWhileRedisReturns(ann, group.id, 'm2');
    await sendWhileRedisReturns(ann, group.id, 'm3');

    expect(summaryOf(await takeMessages(live, 2, 30_000))).toEqual(['MessageAdded m2', 'MessageAdded m3']);
    const resumed = subscribeEvents(await realtime.connect(bob), beforeM1);
    expect(summaryOf(await takeMessages(resumed, 3))).toEqual([
      'MessageAdded m1',
      'MessageAdded m2',
      'MessageAdded m3',
    ]);
    await send(ann, group.id, 'm4');
    expect(summaryOf([await nextMessage(resumed)])).toEqual(['MessageAdded m4']);
    expect(summaryOf([await nextMessage(live)])).toEqual(['MessageAdded m4']);
  }, 90_000);
});
