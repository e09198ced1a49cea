/**
 * Runs a Node child process that reports one result as the last JSON line of its stdout (the
 * benchmarks' solo runs: one engine alone in a fresh process), killed after `timeoutMs`.
 */
import { spawn } from 'node:child_process';

/**
 * The child's last stdout line parsed as JSON, or `failed(why)` when it is not JSON (the exit
 * code and the last three lines of stderr, Dawn's XDG_RUNTIME_DIR warnings left out).
 *
 * @example
 * const outcome = await runJsonChild<SoloOutcome>(argv, 600_000, (why) => ({ engine, error: why }));
 */
export function runJsonChild<T>(argv: readonly string[], timeoutMs: number, failed: (why: string) => T): Promise<T> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        const why = err.trim().split('\n').filter((l) => !/XDG_RUNTIME_DIR/.test(l)).slice(-3).join(' / ');
        resolve(failed(`the process exited with ${code}: ${why || 'no output'}`));
      }
    });
  });
}
