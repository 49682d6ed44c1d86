/**
 * `npm start` as a new user meets it: time from the command to the banner (cold: every build step forced and
 * a new data directory; warm: again, web built and database created), the memory of the whole process tree
 * once ready and after 100 messages, idle CPU, the time from Ctrl-C until every process ended, and the log
 * lines at warn or above meanwhile. Runs the real command, on free ports and a data directory of its own.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createGraphQLClient,
  isRunning,
  processTree,
  registerUserAt,
  spawnNpmStart,
  warningLines,
} from '@parley/testkit';
import { fixed, table, verdict } from '../lib/format.js';

const CLOCK_TICKS_PER_SECOND = 100;
/** Between the last message and the idle measurement. */
const SETTLE_MS = 15_000;

/** `npm start` with `env`; `banner` resolves with the milliseconds from the command to its banner. */
function npmStart(env: Record<string, string>, timeoutMs: number) {
  const startedAt = performance.now();
  const run = spawnNpmStart(env);
  const banner = Promise.race([
    run.waitFor(/Press Ctrl-C to stop\./, timeoutMs).then(() => performance.now() - startedAt),
    run.exited.then((code) => {
      throw new Error(`npm start exited (${code}):\n${run.output().slice(-4000)}`);
    }),
  ]);
  banner.catch(() => {});
  return { ...run, banner };
}

/** A process's state letter, CPU ticks (user + system) and resident set, from /proc; null once gone. */
async function sample(pid: number) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  if (!stat || !status) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const kb = (text: string, name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    state: fields[0]!,
    ticks: Number(fields[11]) + Number(fields[12]),
    rssBytes: kb(status, 'VmRSS') * 1024,
    pssBytes: kb(rollup, 'Pss') * 1024,
  };
}

/**
 * Resident memory of the tree: RSS summed (shared pages counted in each process) and PSS (shared split), and
 * the RSS of each kind of process (by command name) for the breakdown.
 */
async function memoryOf(pid: number) {
  const pids = await processTree(pid);
  const samples = (await Promise.all(pids.map(async (p) => ({ pid: p, sampled: await sample(p) })))).filter(
    (s) => s.sampled !== null,
  );
  const byCommand = new Map<string, number>();
  for (const { pid: p, sampled } of samples) {
    const command = (await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '?')).trim();
    byCommand.set(command, (byCommand.get(command) ?? 0) + sampled!.rssBytes);
  }
  return {
    processes: samples.length,
    rssBytes: samples.reduce((sum, s) => sum + s.sampled!.rssBytes, 0),
    pssBytes: samples.reduce((sum, s) => sum + s.sampled!.pssBytes, 0),
    breakdown: [...byCommand]
      .sort((a, b) => b[1] - a[1])
      .map(([command, bytes]) => `${command} ${(bytes / 1e6).toFixed(0)}`)
      .join(', '),
  };
}

/** CPU ticks of each process, by pid. */
async function ticksOf(pids: number[]) {
  const samples = await Promise.all(pids.map(async (pid) => [pid, (await sample(pid))?.ticks] as const));
  return new Map(samples.filter((entry): entry is readonly [number, number] => entry[1] !== undefined));
}

/** Ticks spent between two readings: by the processes of both (one gone meanwhile took an unknown share). */
function ticksBetween(before: Map<number, number>, after: Map<number, number>) {
  let ticks = 0;
  for (const [pid, now] of after) ticks += now - (before.get(pid) ?? 0);
  return ticks;
}

/** Registers two people, opens a DM and sends `count` messages through the router, one after another. */
async function chat(graphUrl: string, count: number) {
  const [ann, bob] = [await registerUserAt(graphUrl, 'ann'), await registerUserAt(graphUrl, 'bob')];
  const created = await ann.client.request<{ createDirectConversation: { id: string } }>(
    'mutation ($userId: ID!) { createDirectConversation(userId: $userId) { id } }',
    { userId: bob.id },
  );
  const conversationId = created.data!.createDirectConversation.id;
  for (let i = 0; i < count; i++) {
    const sender = i % 2 === 0 ? ann : bob;
    const sent = await sender.client.request(
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { seq } }',
      { input: { conversationId, body: `message ${i}`, clientMutationId: `bench-${i}` } },
    );
    if (sent.errors) throw new Error(`send ${i}: ${JSON.stringify(sent.errors)}`);
  }
  const read = await createGraphQLClient({ url: graphUrl, token: bob.accessToken }).request<{
    conversation: { lastSeq: number };
  }>('query ($id: ID!) { conversation(id: $id) { lastSeq } }', { id: conversationId });
  if (read.data?.conversation.lastSeq !== count)
    throw new Error(`expected ${count} messages: ${JSON.stringify(read)}`);
}

export async function startAndFootprint(options: { idleSeconds: number }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-start-'));
  // As root the embedded server runs as the `postgres` user, which must reach its directory.
  await chmod(dataDir, 0o755);
  const rows: (string | number)[][] = [];
  try {
    // Cold: every build step forced (as after `npm install` on a fresh clone), a new data directory.
    const cold = npmStart({ EMBEDDED_DATA_DIR: dataDir, TURBO_FORCE: 'true' }, 10 * 60_000);
    const coldMs = await cold.banner;
    console.log(`start: cold ${Math.round(coldMs)} ms`);
    process.kill(-cold.child.pid!, 'SIGINT');
    await cold.exited;

    // Warm: the same command again.
    const warm = npmStart({ EMBEDDED_DATA_DIR: dataDir }, 5 * 60_000);
    const warmMs = await warm.banner;
    console.log(`start: warm ${Math.round(warmMs)} ms`);
    const pid = warm.child.pid!;
    const ready = await memoryOf(pid);
    const graphUrl = /graph \(router\)\s+(\S+)/.exec(warm.output())![1]!;
    await chat(graphUrl, 100);
    const afterChat = await memoryOf(pid);
    // Idle: once what the messages left behind (garbage, connections closing) has settled.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const tree = await processTree(pid);
    const ticksBefore = await ticksOf(tree);
    const idleFrom = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    const idleCpu =
      ticksBetween(ticksBefore, await ticksOf(await processTree(pid))) /
      CLOCK_TICKS_PER_SECOND /
      ((performance.now() - idleFrom) / 1000);
    const processes = await processTree(pid);
    const stopping = performance.now();
    process.kill(-pid, 'SIGINT');
    await warm.exited;
    while ((await Promise.all(processes.map(isRunning))).some(Boolean)) {
      if (performance.now() - stopping > 30_000) throw new Error('processes left 30 s after Ctrl-C');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stopMs = performance.now() - stopping;
    const logged = [...warningLines(cold.output()), ...warningLines(warm.output())];
    for (const line of logged) console.log(`start: logged ${JSON.stringify(line).slice(0, 2000)}`);
    console.log(`start: RSS MB once ready: ${ready.breakdown}; after 100 messages: ${afterChat.breakdown}`);

    const mb = (bytes: number) => fixed(bytes / 1e6, 0);
    rows.push(
      [
        'cold start (web build forced, new data) → banner',
        `${fixed(coldMs / 1000)} s`,
        '≤ 45 s',
        verdict(coldMs <= 45_000),
      ],
      ['warm start → banner', `${fixed(warmMs / 1000)} s`, '≤ 15 s', verdict(warmMs <= 15_000)],
      [
        `RSS of the process tree once ready (${ready.processes} processes: ${ready.breakdown} MB; PSS ${mb(ready.pssBytes)} MB)`,
        `${mb(ready.rssBytes)} MB`,
        '≤ 600 MB',
        verdict(ready.rssBytes <= 600e6),
      ],
      [
        `RSS after 100 messages (${afterChat.processes} processes: ${afterChat.breakdown} MB; PSS ${mb(afterChat.pssBytes)} MB)`,
        `${mb(afterChat.rssBytes)} MB`,
        '≤ 600 MB',
        verdict(afterChat.rssBytes <= 600e6),
      ],
      [
        `idle CPU over ${options.idleSeconds} s, ${SETTLE_MS / 1000} s after the last message (share of one core)`,
        `${fixed(idleCpu * 100, 2)} %`,
        '≤ 2 %',
        verdict(idleCpu <= 0.02),
      ],
      [
        'Ctrl-C → every process ended (database included)',
        `${fixed(stopMs / 1000, 2)} s`,
        '≤ 3 s',
        verdict(stopMs <= 3_000),
      ],
      [
        'log lines at warn or above (both starts, 100 messages, stop)',
        logged.length,
        '0',
        verdict(logged.length === 0),
      ],
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    markdown: [
      '`npm start` itself, as a new user runs it (free ports, a data directory of its own, embedded PostgreSQL and',
      'in-process broker): cold with every build step forced (`TURBO_FORCE=true`: code generation and the web',
      'build, as after `npm install` on a fresh clone) and a new data directory (the database cluster created);',
      'warm is the same command again. Memory is summed over the whole process tree (npm, node, the PostgreSQL',
      'server and its backends) from /proc: RSS counts shared pages once per process, PSS splits them. The',
      '100 messages are sent one after another over HTTP through the router in a direct conversation.',
      '',
      table(['measure', 'value', 'target', ''], rows),
    ].join('\n'),
  };
}
