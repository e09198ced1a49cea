/**
 * Paces the event pump of Dawn's Node bindings.
 *
 * While any WebGPU operation is pending (a mapAsync, onSubmittedWorkDone, an async pipeline
 * compile), dawn.node calls `wgpuInstanceProcessEvents` from a `setImmediate` callback that
 * schedules itself again at once (AsyncRunner::ScheduleProcessEvents): a busy loop that keeps the
 * main thread at 100% for as long as the GPU works. On a real GPU that costs a CPU core; on
 * SwiftShader, whose threads run the shaders on the same cores, it takes their time: seed
 * model, fused plan, batch 1024, on the 2-core VM: 3,146–4,419 images/s with the busy pump,
 * 4,612–5,975 paced (docs/performance.md, "Node: Dawn's event pump").
 *
 * The pump is the only caller that hands the global `setImmediate` a native function (an
 * anonymous `[native code]` callback made by the bindings); JavaScript callbacks are passed
 * straight through. A pump callback runs after a sleep that grows with how long the pump has been
 * spinning without a pause: none for its first 0.2 ms, then a tenth of the time waited so far, at
 * most 1 ms (Atomics.wait, which Node allows on its main thread). A wait of t therefore ends
 * within ~t/10 (at most 1 ms) of its completion, and the main thread sleeps instead of spinning.
 */

/** The pump spins freely for this long before it is paced (ms). */
const kFreeSpinMs = 0.2;
/** The sleep before a paced pump is this fraction of the time the pump has been spinning. */
const kSleepFraction = 0.1;
/** The longest sleep before one pump (ms). */
const kMaxSleepMs = 1;

let installed = false;

/**
 * Installs the pacing once per process: wraps `globalThis.setImmediate` so that native callbacks
 * (Dawn's event pump) run after a short sleep; every other callback is scheduled unchanged.
 */
export function paceDawnEventPump(): void {
  if (installed || typeof globalThis.setImmediate !== 'function') return;
  installed = true;
  const immediate = globalThis.setImmediate;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let spinStart = 0;
  let pumping = false;
  const paced = function setImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (!isNativeCallback(callback)) return immediate(callback, ...args);
    // A pump scheduled from inside a pump continues a spin; any other starts one.
    if (!pumping) spinStart = performance.now();
    return immediate(() => {
      const spinning = performance.now() - spinStart;
      if (spinning > kFreeSpinMs) Atomics.wait(sleeper, 0, 0, Math.min(kMaxSleepMs, spinning * kSleepFraction));
      pumping = true;
      try {
        callback(...args);
      } finally {
        pumping = false;
      }
    });
  };
  Object.assign(paced, immediate);
  globalThis.setImmediate = paced as typeof globalThis.setImmediate;
}

function isNativeCallback(callback: unknown): boolean {
  return typeof callback === 'function' && callback.name === '' && Function.prototype.toString.call(callback).includes('[native code]');
}
