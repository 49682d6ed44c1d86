import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const fixture = new URL('../test/fixtures/graceful-shutdown.ts', import.meta.url).pathname;

describe('registerGracefulShutdown', () => {
  it('treats one Ctrl-C relayed several times (terminal, npm, tsx) as one: closes, logs stopped, exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    const printed = (line: string) =>
      new Promise<void>((resolve) => {
        const check = () => output.includes(line) && resolve();
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<unknown>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal)),
    );
    await printed('"msg":"ready"');
    child.kill('SIGINT');
    // The relayed copies arrive while the closers run.
    await printed('"msg":"shutting down"');
    child.kill('SIGINT');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain('second signal');
  });
});
