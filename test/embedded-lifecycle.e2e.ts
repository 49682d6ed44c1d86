import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, EmbeddedDataInUseError, startEmbeddedPostgres } from '@parley/kit';
import { isRunning } from '@parley/testkit';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repoRoot = new URL('..', import.meta.url).pathname;
const logger = createLogger({ service: 'embedded-lifecycle-test', level: 'silent' });

let dataDir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'parley-lifecycle-'));
  // As root the server runs as the `postgres` user, which must reach its directory.
  await chmod(dataDir, 0o755);
});

afterEach(async () => {
  // SIGTERM: a holder stops its server before it exits, so none is left running on a deleted directory.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

/**
 * Runs `node --conditions=@parley/source --import tsx <args>` (as `npm start` does) from the repository root;
 * resolves with its output once `until` matches.
 */
function run(args: string[], until: RegExp, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=@parley/source', '--import', 'tsx', ...args], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const matched = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(until);
      if (match) resolve(match);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`exited (${code}) before ${until}:\n${output}`)));
  });
  matched.catch(() => {});
  return { child, matched, exited, output: () => output };
}

describe('the embedded PostgreSQL server', () => {
  it('is refused to a second owner of its data while the first runs, and a run killed with SIGKILL stops nothing: the next start stops the server it left', async () => {
    const holder = run(['test/fixtures/hold-embedded-postgres.ts', dataDir], /READY (\d+) (\d+)/);
    const [, holderPid, leftPid] = (await holder.matched).map(Number) as [number, number, number];

    const refused = await startEmbeddedPostgres({ dataDir, logger }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EmbeddedDataInUseError);
    expect(refused).toMatchObject({ pid: holderPid });

    holder.child.kill('SIGKILL');
    await holder.exited;
    // Nothing stopped it: the server the killed run started still runs, holding its pid file.
    expect(await isRunning(leftPid)).toBe(true);

    const server = await startEmbeddedPostgres({ dataDir, logger });
    try {
      expect(await isRunning(leftPid)).toBe(false);
      expect(server.pid).not.toBe(leftPid);
      await server.ensureDatabase('parley_lifecycle');
      const client = new pg.Client({ connectionString: server.urlFor('parley_lifecycle') });
      await client.connect();
      expect((await client.query<{ one: number }>('SELECT 1::int AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await server.stop();
    }
    expect(await isRunning(server.pid)).toBe(false);
  }, 60_000);

  it('npm start -- --reset deletes nothing without a confirmation, and nothing while Parley runs on the data', async () => {
    await writeFile(join(dataDir, 'keep.txt'), 'data');
    const unconfirmed = run(['scripts/start.ts', '--reset'], /$^/, { EMBEDDED_DATA_DIR: dataDir });
    expect(await unconfirmed.exited).toBe(1);
    expect(unconfirmed.output()).toContain('add --yes to confirm without a terminal');
    expect(unconfirmed.output()).not.toMatch(/^\s+at /m);
    expect(await readFile(join(dataDir, 'keep.txt'), 'utf8')).toBe('data');

    const holder = run(['test/fixtures/hold-embedded-postgres.ts', dataDir], /READY (\d+) (\d+)/);
    await holder.matched;
    const whileRunning = run(['scripts/start.ts', '--reset', '--yes'], /$^/, { EMBEDDED_DATA_DIR: dataDir });
    expect(await whileRunning.exited).toBe(1);
    expect(whileRunning.output()).toMatch(/Parley is already running on \S+ \(process \d+\)/);
    expect(await readFile(join(dataDir, 'keep.txt'), 'utf8')).toBe('data');
  }, 60_000);
});
