import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRealtime, createGraphQLClient, registerUserAt } from '@parley/testkit';
import { launchChromium } from './web/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = new URL('..', import.meta.url).pathname;

let child: ChildProcess;
let output = '';
let dataDir: string;
let exited: Promise<number | null>;
let spawnedAt: number;

/** Resolves with the first match of `pattern` in the child's output (no sleeps: waits for the line). */
function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = output.match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; the output's end:\n${output.slice(-6_000)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'parley-start-'));
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...env } = process.env;
  // The README's start command, on a machine with no database or Redis configured.
  spawnedAt = performance.now();
  child = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: {
      ...env,
      USERS_PORT: '0',
      CONVERSATIONS_PORT: '0',
      MESSAGES_PORT: '0',
      PRESENCE_PORT: '0',
      FILES_PORT: '0',
      FILES_BLOB_PORT: '0',
      ROUTER_PORT: '0',
      WEB_PORT: '0',
      ...Object.fromEntries(
        ['ROUTER', 'USERS', 'CONVERSATIONS', 'MESSAGES', 'PRESENCE', 'FILES'].map((service) => [
          `${service}_METRICS_PORT`,
          '0',
        ]),
      ),
      EMBEDDED_DATA_DIR: dataDir,
      NODE_ENV: 'development',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
});

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start on embedded defaults', () => {
  it('serves the graph through the router on embedded PostgreSQL: register → login → me → refresh → logout, then stops cleanly', async () => {
    const [, baseUrl] = await waitForOutput(/graph \(router\)\s+(http:\/\/\S+)\/graphql/, 90_000);
    await waitForOutput(/messages\s+http:\/\/\S+\/graphql/, 5_000);
    await waitForOutput(/presence\s+http:\/\/\S+\/graphql/, 5_000);
    await waitForOutput(/web app\s+http:\/\/\S+/, 5_000);
    // Each service's metrics on a port of its own, printed after the graph's URLs.
    const [, metricsUrl] = await waitForOutput(/^ +router +(http:\/\/\S+\/metrics)$/m, 5_000);
    await waitForOutput(/^ +files +http:\/\/\S+\/metrics$/m, 5_000);
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(404);
    // Router, every subgraph and the web app answer within a minute of the command (its build step cached).
    const startedInMs = performance.now() - spawnedAt;
    console.info(`npm start served everything ${Math.round(startedInMs)} ms after it was run`);
    expect(startedInMs).toBeLessThan(60_000);
    expect(output).toContain('embedded PostgreSQL (PGlite)');
    const url = `${baseUrl}/graphql`;
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

    // The services share the in-process broker, stream and membership projection: a message sent to a new
    // group is readable at once, and conversations learns of it from the stream.
    const member = createGraphQLClient({ url, token: login.data!.login.accessToken });
    const group = await member.request<{ createGroup: { id: string } }>(
      'mutation { createGroup(input: { title: "Notes", memberIds: [] }) { id } }',
    );
    expect(group.errors).toBeUndefined();
    const conversationId = group.data!.createGroup.id;
    // Subscriptions run on the in-process realtime log: the message arrives over graphql-ws.
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

    // A direct conversation with a second account: the message reaches the other side.
    // (registerUserAt throws if the registration is refused.)
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
    // The revocation reaches the router through the in-process bus: the session's socket is closed.
    expect((await socket.closed).code).toBe(4403);
    const afterLogout = await authed.request('{ me { id } }');
    expect(afterLogout.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');

    // The web app, built by prestart, against this router: a person signs up in a browser and sees their list.
    const [, webUrl] = await waitForOutput(/web app\s+(http:\/\/\S+)/, 5_000);
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

    // Ctrl-C: the whole process group gets SIGINT, as from a terminal.
    // Stopping closes five embedded databases; other test files (the scale-out test's twelve processes)
    // may be sharing the two cores, so it gets a minute, and says how long it took.
    const stopping = performance.now();
    process.kill(-child.pid!, 'SIGINT');
    await waitForOutput(/"msg":"stopped"/, 60_000);
    await exited;
    console.info(`npm start stopped ${Math.round(performance.now() - stopping)} ms after Ctrl-C`);
    await expect(fetch(`${baseUrl}/health`)).rejects.toThrow();
  }, 180_000);
});
