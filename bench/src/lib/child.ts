import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** A benchmark server in its own process, so that it has a core to itself and its memory is its own. */
export interface Child<Ready> {
  pid: number;
  /** What the child sent when it was ready (its URLs, tokens, ...). */
  ready: Ready;
  /** Resident memory now, in bytes (VmRSS). */
  rss(): Promise<number>;
  /** The most resident memory the process ever had, in bytes (VmHWM). */
  peakRss(): Promise<number>;
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

/**
 * Forks `script` (TypeScript, through tsx) with `env` on top of this process's, and waits until it sends
 * `{ ready }`. A child that exits or takes longer than `timeoutMs` first fails the benchmark with its output.
 */
export function startChild<Ready>(
  script: URL,
  env: Record<string, string | undefined>,
  { timeoutMs = 120_000, execArgv = [] as string[] } = {},
): Promise<Child<Ready>> {
  const child: ChildProcess = fork(script.pathname, [], {
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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
    // `{ gc: true }`: a full collection first (the child runs with --expose-gc), so memory reads settle.
    if (request['gc'] === true) {
      collect?.();
      process.send!({ answer: request.question, value: collect !== undefined });
      return;
    }
    void answer(request).then((value) => process.send!({ answer: request.question, value }));
  });
  process.once('SIGTERM', () => {
    void stop().finally(() => process.exit(0));
  });
  process.send!({ ready });
}
