import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';

/** A benchmark server in its own process, so that it has a core to itself and its memory is its own. */
export interface Child<Ready> {
  pid: number;
  /** What the child sent when it was ready (its URLs, tokens, ...). */
  ready: Ready;
  /** Resident memory now, in bytes (VmRSS). */
  rss(): Promise<number>;
  /** The most resident memory the process ever had, in bytes (VmHWM). */
  peakRss(): Promise<number>;
  /** CPU time the process has used so far (user and system), in milliseconds. */
  cpuMs(): Promise<number>;
  /** Asks the child something over IPC and waits for its answer. */
  ask<Answer>(request: Record<string, unknown>): Promise<Answer>;
  stop(): Promise<void>;
}

async function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
let ticksPerSecond: number | undefined;

/** CPU time of `pid` so far, user and system, in milliseconds (from /proc, not disturbing the process). */
async function cpuMsOf(pid: number): Promise<number> {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": state is field 3, utime 14 and stime 15 (comm may hold spaces, not ")").
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/**
 * Forks `script` (TypeScript, through tsx, with workspace packages from their sources) with `env` on top of
 * this process's, and waits until it sends `{ ready }`. A child that exits or takes longer than `timeoutMs`
 * first fails the benchmark with its output.
 */
export function startChild<Ready>(
  script: URL,
  env: Record<string, string | undefined>,
  { timeoutMs = 120_000, execArgv = [] as string[] } = {},
): Promise<Child<Ready>> {
  const child: ChildProcess = fork(script.pathname, [], {
    env: { ...process.env, ...env },
    execArgv: ['--conditions=@parley/source', '--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A benchmark that fails leaves no server running behind it.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  void exited.then(() => process.off('exit', orphaned));
  let nextQuestion = 0;
  const answers = new Map<number, (answer: unknown) => void>();
  child.on('message', (message: { answer?: number; value?: unknown }) => {
    if (typeof message.answer === 'number') answers.get(message.answer)?.(message.value);
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script.pathname} was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script.pathname} exited with ${code} before it was ready`));
    });
    child.once('message', (message: { ready?: Ready }) => {
      if (!message.ready) return;
      clearTimeout(timer);
      const pid = child.pid!;
      resolve({
        pid,
        ready: message.ready,
        rss: () => statusBytes(pid, 'VmRSS'),
        peakRss: () => statusBytes(pid, 'VmHWM'),
        cpuMs: () => cpuMsOf(pid),
        ask<Answer>(request: Record<string, unknown>) {
          const id = nextQuestion++;
          return new Promise<Answer>((answered) => {
            answers.set(id, (value) => {
              answers.delete(id);
              answered(value as Answer);
            });
            child.send({ ...request, question: id });
          });
        },
        async stop() {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          const stopped = await Promise.race([
            exited.then(() => true),
            new Promise<false>((done) => setTimeout(() => done(false), 15_000).unref()),
          ]);
          if (!stopped) {
            child.kill('SIGKILL');
            await exited;
          }
        },
      });
    });
  });
}

/**
 * The child's side: announces it is ready, answers questions with `answer`, and runs `stop` on SIGTERM
 * before exiting.
 */
export function serveParent<Ready>(
  ready: Ready,
  stop: () => Promise<void>,
  answer: (request: Record<string, unknown>) => Promise<unknown> = async () => null,
) {
  const collect = (globalThis as { gc?: () => void }).gc;
  process.on('message', (request: Record<string, unknown> & { question: number }) => {
    // `{ memory: true }`: the V8 heap in use plus memory outside it (buffers), after a full collection (the
    // child runs with --expose-gc), so memory reads settle.
    if (request['memory'] === true) {
      // Twice, a turn of the event loop apart: buffers freed by the first one's weak callbacks go in the second.
      collect?.();
      setImmediate(() => {
        collect?.();
        const usage = process.memoryUsage();
        process.send!({ answer: request.question, value: usage.heapUsed + usage.external });
      });
      return;
    }
    // `{ profile: 'start' }` … `{ profile: 'stop', path }`: a CPU profile of just that span, for BENCH_PROFILE.
    if (request['profile'] === 'start' || request['profile'] === 'stop') {
      void cpuProfile(request['profile'], request['path'] as string | undefined).then(() =>
        process.send!({ answer: request.question, value: true }),
      );
      return;
    }
    void answer(request).then((value) => process.send!({ answer: request.question, value }));
  });
  process.once('SIGTERM', () => {
    void stop().finally(() => process.exit(0));
  });
  process.send!({ ready });
}

let profiler: Session | undefined;

/** Starts or stops (writing it to `path`) a CPU profile of this process, through the inspector. */
async function cpuProfile(action: 'start' | 'stop', path?: string) {
  if (action === 'start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    return;
  }
  if (!profiler) return;
  const { profile } = await profiler.post('Profiler.stop');
  if (path) await writeFile(path, JSON.stringify(profile));
  profiler.disconnect();
  profiler = undefined;
}

/**
 * Runs `measure` with CPU profiles of `children` when BENCH_PROFILE names a directory (written there as
 * `<label>.cpuprofile`, for Chrome DevTools or speedscope); without it, just runs it.
 */
export async function withProfiles<Result>(
  children: Record<string, Child<unknown>>,
  measure: () => Promise<Result>,
): Promise<Result> {
  const dir = process.env['BENCH_PROFILE'];
  if (!dir) return measure();
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.values(children).map((child) => child.ask({ profile: 'start' })));
  try {
    return await measure();
  } finally {
    await Promise.all(
      Object.entries(children).map(([label, child]) =>
        child.ask({ profile: 'stop', path: join(dir, `${label}.cpuprofile`) }),
      ),
    );
  }
}
