import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  testDatabaseServers,
  withServerClient,
  type TestDatabase,
} from '@parley/kit/testing';
import {
  connectRealtime,
  createGraphQLClient,
  deleteRedisKeys,
  isRunning,
  processTree,
  registerUserAt,
  spawnNpmStart,
  testRedisPrefix,
  testRedisUrl,
  warningLines,
  type NpmStart,
} from '@parley/testkit';
import { Redis } from 'ioredis';
import { launchChromium } from './web/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Waits for `npm start`'s banner, every line of it up to "Press Ctrl-C to stop.", and returns the URLs it
 * printed: the router's, its GraphQL endpoint, the web app's and the router's metrics.
 */
async function serving({ waitFor }: NpmStart) {
  const [, baseUrl] = await waitFor(/graph \(router\)\s+(http:\/\/\S+)\/graphql/, 90_000);
  await waitFor(/messages\s+http:\/\/\S+\/graphql/, 5_000);
  await waitFor(/presence\s+http:\/\/\S+\/graphql/, 5_000);
  const [, webUrl] = await waitFor(/web app\s+(http:\/\/\S+)/, 5_000);
  // Each service's metrics on a port of its own, printed after the graph's URLs.
  const [, metricsUrl] = await waitFor(/^ +router +(http:\/\/\S+\/metrics)$/m, 5_000);
  await waitFor(/^ +files +http:\/\/\S+\/metrics$/m, 5_000);
  await waitFor(/Press Ctrl-C to stop\./, 5_000);
  return { baseUrl: baseUrl!, url: `${baseUrl}/graphql`, webUrl: webUrl!, metricsUrl: metricsUrl! };
}

/**
 * Ctrl-C: the whole process group gets SIGINT, as from a terminal. Resolves once the run logged its stop and
 * exited and every one of `processes` (read before, with processTree) has ended; returns how long it took.
 */
async function stopWithCtrlC({ child, waitFor, exited }: NpmStart, processes: number[]) {
  const stopping = performance.now();
  process.kill(-child.pid!, 'SIGINT');
  await waitFor(/"msg":"stopped"/, 60_000);
  await exited;
  await expect.poll(async () => (await Promise.all(processes.map(isRunning))).some(Boolean)).toBe(false);
  return Math.round(performance.now() - stopping);
}

/** Signs in through the router at `url` (the login mutation) and returns a client carrying the access token. */
async function signIn(url: string, { email, password }: { email: string; password: string }) {
  const login = await createGraphQLClient({ url }).request<{ login: { accessToken: string } }>(
    'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
    { input: { email, password } },
  );
  expect(login.errors).toBeUndefined();
  return createGraphQLClient({ url, token: login.data!.login.accessToken });
}

describe.each(testDatabaseServers)('npm start on %s', (label, server) => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  /** On the system server, Redis too: the test server's, under a prefix of this run's own. */
  let redis: { url: string; prefix: string } | undefined;
  /** The environment of every `npm start` here: a restart gets the same. */
  let env: Record<string, string>;
  /** Every `npm start` run here, so afterAll ends any a failed test left running. */
  const runs: NpmStart[] = [];
  const npmStart = () => {
    const run = spawnNpmStart(env);
    runs.push(run);
    return run;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'parley-start-'));
    // As root the embedded server runs as the `postgres` user, which must reach its directory.
    await chmod(dataDir, 0o755);
    // The system server: DATABASE_URL names it, each service gets a database named after this one; and
    // REDIS_URL with a REDIS_PREFIX of its own replaces the in-process broker.
    if (server === 'system') {
      database = await createTestDatabase('start');
      redis = { url: testRedisUrl(), prefix: testRedisPrefix('start') };
    }
    env = {
      EMBEDDED_DATA_DIR: dataDir,
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...(redis ? { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix } : {}),
    };
  });

  afterAll(async () => {
    for (const { child } of runs) {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    if (database) {
      for (const service of ['users', 'conversations', 'messages', 'presence', 'files']) {
        await withServerClient((admin) =>
          admin.query(`DROP DATABASE IF EXISTS "${database!.name}_${service}" WITH (FORCE)`),
        );
      }
      await database.drop();
    }
    if (redis) {
      const client = new Redis(redis.url);
      try {
        await deleteRedisKeys(client, redis.prefix);
      } finally {
        client.disconnect();
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the graph through the router: register → login → me → a DM → refresh → logout, warns of nothing, refuses a second start on embedded data, Ctrl-C ends every process, and a restart keeps the accounts and the DM', async () => {
    const spawnedAt = performance.now();
    const started = npmStart();
    const { baseUrl, url, webUrl, metricsUrl } = await serving(started);
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(404);
    // Router, every subgraph and the web app answer within a minute of the command (its build step cached).
    const startedInMs = performance.now() - spawnedAt;
    console.info(`npm start (${label}) served everything ${Math.round(startedInMs)} ms after it was run`);
    expect(startedInMs).toBeLessThan(60_000);
    expect(started.output()).toMatch(
      server === 'embedded'
        ? /Parley is running \(embedded PostgreSQL on 127\.0\.0\.1:\d+, data in \S+; in-process broker\)/
        : 'Parley is running (PostgreSQL from DATABASE_URL; Redis from REDIS_URL)',
    );
    const api = createGraphQLClient({ url });
    const fields = 'accessToken refreshToken user { id username } session { id }';
    const credentials = { email: 'starter@example.test', password: 'a long password' };

    const registered = await api.request<{ register: { user: { id: string } } }>(
      `mutation($input: RegisterInput!) { register(input: $input) { ${fields} } }`,
      { input: { ...credentials, username: 'starter' } },
    );
    expect(registered.errors).toBeUndefined();
    const userId = registered.data!.register.user.id;

    const login = await api.request<{ login: { accessToken: string; refreshToken: string } }>(
      `mutation($input: LoginInput!) { login(input: $input) { ${fields} } }`,
      { input: credentials },
    );
    expect(login.errors).toBeUndefined();

    const me = await createGraphQLClient({ url, token: login.data!.login.accessToken }).request<{
      me: { id: string };
    }>('{ me { id email } }');
    expect(me.data?.me).toEqual({ id: userId, email: credentials.email });

    // The services share one broker, stream and membership projection (in-process, or on Redis): a message
    // sent to a new group is readable at once, and conversations learns of it from the stream.
    const member = createGraphQLClient({ url, token: login.data!.login.accessToken });
    const group = await member.request<{ createGroup: { id: string } }>(
      'mutation { createGroup(input: { title: "Notes", memberIds: [] }) { id } }',
    );
    expect(group.errors).toBeUndefined();
    const conversationId = group.data!.createGroup.id;
    // Subscriptions run on the realtime log: the message arrives over graphql-ws.
    const socket = await connectRealtime(url.replace(/^http/, 'ws'), {
      token: login.data!.login.accessToken,
    });
    const events = socket.subscribe<{ events: { __typename: string; message: { body: string } } }>(
      `subscription { events { __typename ... on MessageAdded { message { body } } } }`,
    );
    await expect
      .poll(
        async () =>
          (await (await fetch(metricsUrl!)).text()).match(/^router_active_subscriptions\S* (\d+)/m)?.[1],
      )
      .toBe('1');
    const sent = await member.request<{ sendMessage: { seq: number } }>(
      `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { seq } }`,
      { input: { conversationId, body: 'first note', clientMutationId: 'note-1' } },
    );
    expect(sent.data?.sendMessage).toEqual({ seq: 1 });
    expect((await events.next()).data).toEqual({
      events: { __typename: 'MessageAdded', message: { body: 'first note' } },
    });

    // A direct conversation with a second account: the message reaches the other side, and is still there
    // after a restart (below). (registerUserAt throws if the registration is refused.)
    const friend = await registerUserAt(url, 'friend');
    const direct = await member.request<{ createDirectConversation: { id: string } }>(
      'mutation ($userId: ID!) { createDirectConversation(userId: $userId) { id } }',
      { userId: friend.id },
    );
    expect(direct.errors).toBeUndefined();
    const directId = direct.data!.createDirectConversation.id;
    const hello = await member.request<{ sendMessage: { seq: number } }>(
      `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { seq } }`,
      { input: { conversationId: directId, body: 'hello friend', clientMutationId: 'dm-1' } },
    );
    expect(hello.data?.sendMessage).toEqual({ seq: 1 });
    // The unread count follows the message through the stream: it may take a moment.
    await expect
      .poll(
        async () =>
          (
            await friend.client.request<{ conversation: unknown }>(
              'query ($id: ID!) { conversation(id: $id) { unreadCount messages(last: 10) { edges { node { body } } } } }',
              { id: directId },
            )
          ).data?.conversation,
      )
      .toEqual({ unreadCount: 1, messages: { edges: [{ node: { body: 'hello friend' } }] } });
    await expect
      .poll(async () => {
        const read = await member.request<{
          conversation: { lastSeq: number; messages: { edges: { node: { body: string } }[] } };
        }>('query ($id: ID!) { conversation(id: $id) { lastSeq messages { edges { node { body } } } } }', {
          id: conversationId,
        });
        return read.data?.conversation;
      })
      .toEqual({ lastSeq: 1, messages: { edges: [{ node: { body: 'first note' } }] } });

    // Files on local storage under EMBEDDED_DATA_DIR: upload, attach, download the same bytes.
    const bytes = Buffer.from('a note kept as a file\n');
    const upload = await member.request<{
      createUpload: {
        file: { id: string };
        upload: { url: string; headers: { name: string; value: string }[] };
      };
    }>(
      `mutation ($input: CreateUploadInput!) {
        createUpload(input: $input) { file { id } upload { url headers { name value } } }
      }`,
      {
        input: {
          name: 'note.txt',
          size: bytes.length,
          contentType: 'text/plain',
          sha256: createHash('sha256').update(bytes).digest('hex'),
        },
      },
    );
    expect(upload.errors).toBeUndefined();
    const { file, upload: put } = upload.data!.createUpload;
    const headers = Object.fromEntries(put.headers.map(({ name, value }) => [name, value]));
    expect((await fetch(put.url, { method: 'PUT', headers, body: bytes })).status).toBe(200);
    const completed = await member.request<{ completeUpload: { url: string } }>(
      `mutation ($id: ID!) { completeUpload(fileId: $id) { url } }`,
      { id: file.id },
    );
    expect(completed.errors).toBeUndefined();
    const attached = await member.request(
      `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { seq } }`,
      { input: { conversationId, body: '', clientMutationId: 'note-2', attachmentIds: [file.id] } },
    );
    expect(attached.errors).toBeUndefined();
    const downloaded = await fetch(completed.data!.completeUpload.url);
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(bytes)).toBe(true);

    const refreshed = await api.request<{ refreshSession: { accessToken: string; refreshToken: string } }>(
      `mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { ${fields} } }`,
      { input: { refreshToken: login.data!.login.refreshToken } },
    );
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data!.refreshSession.refreshToken).not.toBe(login.data!.login.refreshToken);

    const authed = createGraphQLClient({ url, token: refreshed.data!.refreshSession.accessToken });
    expect((await authed.request<{ logout: boolean }>('mutation { logout }')).data?.logout).toBe(true);
    // The revocation reaches the router through the bus: the session's socket is closed.
    expect((await socket.closed).code).toBe(4403);
    const afterLogout = await authed.request('{ me { id } }');
    expect(afterLogout.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    // The web app, built by prestart, against this router: a person signs up in a browser and sees their list.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ baseURL: webUrl });
      await page.goto('/register');
      await page.getByLabel('Email').fill('browser@example.test');
      await page.getByLabel('Username').fill('browser_user');
      await page.getByLabel('Password').fill('a long password');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByText('No conversations yet.').waitFor({ timeout: 20_000 });
    } finally {
      await browser.close();
    }

    const health = await fetch(`${baseUrl}/health`);
    expect(health.status).toBe(200);
    expect((await fetch(`${baseUrl}/ready`)).status).toBe(200);

    // Nothing at warn or above while starting and using it.
    expect(warningLines(started.output())).toEqual([]);

    if (database) {
      // A database per service on the server DATABASE_URL names, named after its database.
      const names = await withServerClient(async (admin) =>
        (
          await admin.query<{ datname: string }>(
            'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
            [`${database!.name}_%`],
          )
        ).rows.map((row) => row.datname),
      );
      expect(names).toEqual(
        ['conversations', 'files', 'messages', 'presence', 'users'].map((s) => `${database!.name}_${s}`),
      );
    }
    if (redis) {
      // The services keep their streams and projections on the Redis REDIS_URL names, under REDIS_PREFIX.
      const client = new Redis(redis.url);
      try {
        expect(await client.keys(`${redis.prefix}*`)).not.toEqual([]);
      } finally {
        client.disconnect();
      }
    }

    if (server === 'embedded') {
      // A second start on the same data is refused in one clear line, without a stack.
      const second = npmStart();
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/Parley is already running on \S+ \(process \d+\)/);
      expect(second.output()).not.toMatch(/^\s+at /m);
      expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    }

    // Ctrl-C: every process of the run ends, the embedded database (in a process group of its own, stopped
    // last) included.
    const processes = await processTree(started.child.pid!);
    if (server === 'embedded') {
      expect(processes.length).toBeGreaterThan(3);
      const postmaster = Number(
        (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0],
      );
      expect(processes).toContain(postmaster);
    }
    console.info(
      `npm start (${label}) ended every process ${await stopWithCtrlC(started, processes)} ms after Ctrl-C`,
    );
    await expect(fetch(`${baseUrl}/health`)).rejects.toThrow();
    expect(existsSync(join(dataDir, 'parley.pid'))).toBe(false);
    expect(warningLines(started.output())).toEqual([]);

    // Started again with the same environment: the accounts, the direct conversation and its message are
    // still there; the recipient, signed in anew, finds the DM in their list with the message unread.
    const restartedAt = performance.now();
    const restarted = npmStart();
    const again = await serving(restarted);
    console.info(
      `npm start (${label}) served everything again ${Math.round(performance.now() - restartedAt)} ms after a restart`,
    );
    const recipient = await signIn(again.url, friend);
    const list = await recipient.request<{ me: { conversations: { edges: unknown[] } } }>(
      '{ me { conversations(first: 10) { edges { node { id kind unreadCount } } } } }',
    );
    expect(list.errors).toBeUndefined();
    expect(list.data?.me.conversations.edges).toEqual([
      { node: { id: directId, kind: 'DIRECT', unreadCount: 1 } },
    ]);
    const kept = await recipient.request<{ conversation: unknown }>(
      'query ($id: ID!) { conversation(id: $id) { messages(last: 10) { edges { node { body sender { username } } } } } }',
      { id: directId },
    );
    expect(kept.errors).toBeUndefined();
    expect(kept.data?.conversation).toEqual({
      messages: { edges: [{ node: { body: 'hello friend', sender: { username: 'starter' } } }] },
    });
    const restartedProcesses = await processTree(restarted.child.pid!);
    console.info(
      `npm start (${label}) ended every process ${await stopWithCtrlC(restarted, restartedProcesses)} ms after Ctrl-C, restarted`,
    );
    await expect(fetch(`${again.baseUrl}/health`)).rejects.toThrow();
    expect(warningLines(restarted.output())).toEqual([]);
  }, 240_000);
});
