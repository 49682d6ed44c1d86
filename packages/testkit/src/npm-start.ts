import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

const repoRoot = new URL('../../../', import.meta.url).pathname;

/** Every port `npm start` opens, on 0 (a free one), so a run shares the machine with others. */
export const freeStartPorts: Record<string, string> = Object.fromEntries(
  [
    'ROUTER_PORT',
    'USERS_PORT',
    'CONVERSATIONS_PORT',
    'MESSAGES_PORT',
    'PRESENCE_PORT',
    'FILES_PORT',
    'FILES_BLOB_PORT',
    'WEB_PORT',
    ...['ROUTER', 'USERS', 'CONVERSATIONS', 'MESSAGES', 'PRESENCE', 'FILES'].map((s) => `${s}_METRICS_PORT`),
  ].map((name) => [name, '0']),
);

/** A running `npm start`: its output so far, a wait for a line of it, and its exit code. */
export interface NpmStart {
  child: ChildProcess;
  output(): string;
  /**
   * Resolves with the first match of `pattern` in the output (waits for the line; no sleeps); rejects when
   * the run ended (its output closed) without printing it.
   */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/**
 * The README's start command from the repository root, in a process group of its own (as a terminal runs
 * it: `process.kill(-child.pid, 'SIGINT')` is a Ctrl-C), on free ports with JSON logs, with no DATABASE_URL
 * or REDIS_URL unless `env` gives them.
 */
export function spawnNpmStart(env: Record<string, string>): NpmStart {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: { ...inherited, ...freeStartPorts, NODE_ENV: 'development', LOG_FORMAT: 'json', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // After 'exit' the pipes may still hold output: 'close' comes once they are drained.
  let closed: number | null | undefined;
  child.once('close', (code) => (closed = code));
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      let settled = false;
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('close', onClose);
      };
      const fail = (why: string) => {
        cleanup();
        reject(new Error(`no ${pattern} ${why}; the output's end:\n${output.slice(-6_000)}`));
      };
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const onClose = (code: number | null) => {
        check();
        if (!settled) fail(`before npm start ended (exit code ${code})`);
      };
      const timer = setTimeout(() => fail(`within ${timeoutMs} ms`), timeoutMs);
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('close', onClose);
      check();
      if (!settled && closed !== undefined) onClose(closed);
    });
  return { child, output: () => output, waitFor, exited };
}

/** `pid` and every process below it, read from /proc (the embedded database and its backends included). */
export async function processTree(pid: number): Promise<number[]> {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const task of await readdir(`/proc/${tree[i]}/task`).catch(() => [])) {
      const children = await readFile(`/proc/${tree[i]}/task/${task}/children`, 'utf8').catch(() => '');
      tree.push(...children.split(' ').filter(Boolean).map(Number));
    }
  }
  return tree;
}

/** Whether `pid` still runs (an exited process nobody reaped yet does not): the kit's own check. */
export { isProcessRunning as isRunning } from '@parley/kit';

/** The JSON log lines of `output` at warn (40) or above. */
export const warningLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; service?: string })
    .filter((line) => line.level >= 40);
