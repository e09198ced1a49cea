/**
 * What the fuzz tests (safetensors, .pth, ONNX) measure a case with: the live heap after
 * garbage collection, and a blocking sleep for re-timing a case when another job took the CPU.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Live heap + ArrayBuffer bytes. Two collections: one alone sometimes leaves ~20 MB of garbage counted. */
export function heapBytes(): number {
  collectGarbage();
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (lets a busy machine settle before a case is timed again). */
export function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
