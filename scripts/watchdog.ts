/**
 * A watchdog in a separate process. A timer inside the process cannot catch a hang in native
 * code (Dawn blocked in a driver call stops Node's event loop, timers included), so a tiny
 * child process waits for heartbeats on its stdin and, after `stallMs` without one, prints one
 * line on stderr and kills this process. When this process exits, the child's stdin closes and
 * it exits too: it never outlives its parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const kWatchdogSource = `
const [stallMs, parentPid, name] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
let timer;
const arm = () => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    process.stderr.write(name + ': no progress for ' + stallMs / 1000 + ' s (the GPU stopped responding); killed\\n');
    try { process.kill(parentPid, 'SIGKILL'); } catch {}
    process.exit(1);
  }, stallMs);
};
arm();
process.stdin.on('data', arm);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
`;

export interface Watchdog {
  /** Call whenever work progresses: restarts the stall timer. */
  beat(): void;
  /** Stops the watchdog (also happens when this process exits). */
  stop(): void;
}

/**
 * @example
 * const watchdog = startWatchdog(120_000, 'eval');
 * for (const batch of batches) { await run(batch); watchdog.beat(); }
 * watchdog.stop();
 */
export function startWatchdog(stallMs: number, name: string): Watchdog {
  const child: ChildProcess = spawn(process.execPath, ['-e', kWatchdogSource, String(stallMs), String(process.pid), name], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  child.on('error', () => {}); // no watchdog is better than a crash
  child.stdin?.on('error', () => {});
  // Neither the child nor its pipe may keep this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    beat: () => {
      child.stdin?.write('.');
    },
    stop: () => {
      child.stdin?.end();
      child.kill();
    },
  };
}
