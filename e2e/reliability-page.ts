/**
 * In-page drivers for e2e/reliability.spec.ts, added to the harness page as a module script.
 * They use the public API as a page would, on a device of their own whose buffers, mappings
 * and dispatches are counted (`instrumentedDevice`), and send only reports to the test process.
 */
import * as lenet5 from '../src/index.js';
import * as reference from '../src/reference.js';
import { Prng } from '../src/model/prng.js';
import { compareClasses, compareFloats, type Comparison } from './compare.js';


type ModelName = 'seed' | 'classic-sigmoid' | 'classic-scaled-tanh';
type MapState = 'unmapped' | 'pending' | 'mapped';

function modelSpec(name: ModelName): lenet5.ModelSpec {
  if (name === 'seed') return lenet5.seedModel;
  return lenet5.classicModel(name === 'classic-sigmoid' ? 'sigmoid' : 'scaled-tanh');
}

/**
 * What happened on an instrumented device: buffers created and destroyed (live = the
 * difference), mapping misuse (a buffer mapped while already mapped or pending, or a copy
 * into a buffer that is mapped or pending when its commands are submitted), and dispatch
 * and buffer sizes against the device's limits.
 */
export interface Ledger {
  created: number;
  destroyed: number;
  submits: number;
  dispatches: number;
  largestDispatch: [number, number, number];
  largestStorageBuffer: number;
  violations: string[];
}

function newLedger(): Ledger {
  return { created: 0, destroyed: 0, submits: 0, dispatches: 0, largestDispatch: [0, 0, 0], largestStorageBuffer: 0, violations: [] };
}

/** A fresh device from navigator.gpu whose methods record into a Ledger. */
async function instrumentedDevice(): Promise<{ device: GPUDevice; ledger: Ledger }> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('requestAdapter() returned null');
  const device = await adapter.requestDevice({ label: 'reliability.device' });
  const ledger = newLedger();
  const states = new WeakMap<GPUBuffer, MapState>();
  const copyTargets = new WeakMap<GPUCommandBuffer, GPUBuffer[]>();

  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor) => {
    const buffer = createBuffer(descriptor);
    ledger.created++;
    if (descriptor.usage & GPUBufferUsage.STORAGE) ledger.largestStorageBuffer = Math.max(ledger.largestStorageBuffer, descriptor.size);
    states.set(buffer, descriptor.mappedAtCreation ? 'mapped' : 'unmapped');
    let destroyed = false;
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      if (!destroyed) ledger.destroyed++;
      destroyed = true;
      destroy();
    };
    const mapAsync = buffer.mapAsync.bind(buffer);
    buffer.mapAsync = (mode, offset, size) => {
      const state = states.get(buffer);
      if (state !== 'unmapped') ledger.violations.push(`${buffer.label}: mapAsync while ${state}`);
      states.set(buffer, 'pending');
      return mapAsync(mode, offset, size).then(
        () => void states.set(buffer, 'mapped'),
        (e: unknown) => {
          states.set(buffer, 'unmapped');
          throw e;
        },
      );
    };
    const unmap = buffer.unmap.bind(buffer);
    buffer.unmap = () => {
      states.set(buffer, 'unmapped');
      unmap();
    };
    return buffer;
  };

  const createCommandEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (descriptor) => {
    const encoder = createCommandEncoder(descriptor);
    const targets: GPUBuffer[] = [];
    const copy = encoder.copyBufferToBuffer.bind(encoder) as (...args: unknown[]) => void;
    (encoder as { copyBufferToBuffer: unknown }).copyBufferToBuffer = (...args: unknown[]) => {
      // (source, sourceOffset, destination, …) or the short (source, destination, size?).
      targets.push((typeof args[1] === 'number' ? args[2] : args[1]) as GPUBuffer);
      copy(...args);
    };
    const beginComputePass = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (passDescriptor) => {
      const pass = beginComputePass(passDescriptor);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x, y = 1, z = 1) => {
        ledger.dispatches++;
        const d = ledger.largestDispatch;
        ledger.largestDispatch = [Math.max(d[0], x), Math.max(d[1], y), Math.max(d[2], z)];
        dispatch(x, y, z);
      };
      return pass;
    };
    const finish = encoder.finish.bind(encoder);
    encoder.finish = (finishDescriptor) => {
      const commands = finish(finishDescriptor);
      copyTargets.set(commands, targets);
      return commands;
    };
    return encoder;
  };

  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (commandBuffers) => {
    ledger.submits++;
    for (const commands of commandBuffers) {
      for (const target of copyTargets.get(commands) ?? []) {
        const state = states.get(target);
        if (state !== 'unmapped') ledger.violations.push(`${target.label}: copied into while ${state}`);
      }
    }
    submit(commandBuffers);
  };
  return { device, ledger };
}

/** Seeded raw images, bytes 0..255 (floats in [0, 1) when `floats`). */
function randomPixels(rng: Prng, count: number, floats = false): Uint8Array | Float32Array {
  const n = count * 784;
  return floats ? Float32Array.from({ length: n }, () => rng.next()) : Uint8Array.from({ length: n }, () => rng.integer(256));
}

/** `result` against the CPU reference for `pixels`: scores within the kernel tolerance, classes equal. */
function checkResult(label: string, weights: lenet5.ModelWeights, pixels: lenet5.Pixels, count: number, result: lenet5.InferenceResult): Comparison[] {
  const scores = reference.referenceOutput(weights, reference.preprocess(pixels, count, weights.preprocessing), count);
  const countCheck: Comparison = {
    label: `${label} count`,
    checked: 1,
    mismatchCount: result.count === count ? 0 : 1,
    firstMismatches: [],
    worstRatio: 0,
    message: `${label}: expected count ${count}, found ${result.count}`,
  };
  return [
    countCheck,
    compareFloats(`${label} scores`, result.scores, scores, [10]),
    compareClasses(`${label} classes`, result.classes, reference.classify(scores, count, weights.spec.output), scores, 10),
  ];
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

const describeError = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : `non-Error ${String(e)}`);

interface StreamOutcome {
  resolved: number;
  /** `name: message` of each rejected call, in call order. */
  rejected: string[];
  /** Calls that resolved after an earlier call rejected (the stream must fail as a suffix). */
  resolvedAfterRejection: number;
  checks: Comparison[];
}

/**
 * Starts `inputs.length` overlapping infer calls and destroys `device` when call `lossAfter`
 * resolves. Resolved calls are checked against the reference.
 */
async function streamWithLoss(
  engine: lenet5.InferenceEngine,
  weights: lenet5.ModelWeights,
  inputs: { pixels: Uint8Array | Float32Array; count: number }[],
  device: GPUDevice,
  lossAfter: number,
): Promise<StreamOutcome> {
  const outcome: StreamOutcome = { resolved: 0, rejected: [], resolvedAfterRejection: 0, checks: [] };
  const calls = inputs.map((input, k) =>
    engine.infer(input.pixels, input.count).then(
      (result) => {
        outcome.resolved++;
        if (outcome.rejected.length) outcome.resolvedAfterRejection++;
        outcome.checks.push(...checkResult(`call ${k} (${input.count} images)`, weights, input.pixels, input.count, result));
      },
      (e: unknown) => void outcome.rejected.push(describeError(e)),
    ),
  );
  await calls[lossAfter];
  device.destroy();
  await Promise.all(calls);
  return outcome;
}

/**
 * Device loss and recovery. An engine on our device runs a stream of calls; the device is
 * destroyed mid-stream; pending calls must reject with DeviceLostError, and so must a call made
 * after the loss. `recover(device2)` moves it to a second device of ours, which is then lost
 * the same way; `recover()` (no argument) requests one itself. After each recovery the
 * engine must give bit-identical results to those before the first loss.
 */
async function deviceLoss(c: { model: ModelName; seed: number; calls: number; lossAfter: number }) {
  const weights = reference.randomWeights(modelSpec(c.model), c.seed);
  const rng = new Prng(c.seed + 1);
  const inputs = Array.from({ length: c.calls }, (_, k) => {
    const count = 1 + (k % 6);
    return { pixels: randomPixels(rng, count, k % 3 === 0), count };
  });
  const probe = { pixels: randomPixels(rng, 9), count: 9 };
  const first = await instrumentedDevice();
  const engine = await lenet5.createEngine(weights, { device: first.device, backend: 'webgpu', plan: 'layered', maxBatch: 4 });
  const before = await engine.infer(probe.pixels, probe.count);

  const loss1 = await streamWithLoss(engine, weights, inputs, first.device, c.lossAfter);
  const lostInfo = await first.device.lost;
  const afterLoss = await engine.infer(probe.pixels, probe.count).then(() => 'resolved', describeError);
  const activationsAfterLoss = await engine.activations(probe.pixels.subarray(0, 784)).then(() => 'resolved', describeError);

  const second = await instrumentedDevice();
  await engine.recover(second.device);
  const afterRecover1 = await engine.infer(probe.pixels, probe.count);
  const loss2 = await streamWithLoss(engine, weights, inputs, second.device, c.lossAfter);

  await engine.recover();
  const afterRecover2 = await engine.infer(probe.pixels, probe.count);
  const activations = await engine.activations(probe.pixels.subarray(0, 784));
  const recoverWhenHealthy = await engine.recover().then(() => 'resolved', describeError);
  const afterHealthyRecover = await engine.infer(probe.pixels, probe.count);
  engine.destroy();
  const recoverAfterDestroy = await engine.recover().then(() => 'resolved', describeError);

  return {
    lostReason: lostInfo.reason,
    loss1: { ...loss1, checks: undefined, failedChecks: loss1.checks.filter((r) => r.mismatchCount).map((r) => r.message), checked: loss1.checks.length },
    loss2: { ...loss2, checks: undefined, failedChecks: loss2.checks.filter((r) => r.mismatchCount).map((r) => r.message), checked: loss2.checks.length },
    afterLoss,
    activationsAfterLoss,
    beforeCheck: checkResult('before the loss', weights, probe.pixels, probe.count, before).filter((r) => r.mismatchCount).map((r) => r.message),
    sameAfterRecover1: sameBits(before.scores, afterRecover1.scores),
    sameAfterRecover2: sameBits(before.scores, afterRecover2.scores),
    sameAfterHealthyRecover: sameBits(before.scores, afterHealthyRecover.scores),
    activationLayers: activations.map((a) => `${a.name}:${a.data.length}`).join(' '),
    recoverWhenHealthy,
    recoverAfterDestroy,
    secondDeviceLive: second.ledger.created - second.ledger.destroyed,
    violations: [...first.ledger.violations, ...second.ledger.violations],
  };
}

/**
 * `calls` overlapping infer calls with distinct seeded inputs and mixed batch sizes (some over
 * maxBatch, so split), each checked against the reference; the ledger must show no mapping
 * misuse and, after destroy(), no live buffer.
 */
async function overlapping(c: { model: ModelName; seed: number; calls: number; maxBatch: number; sizes: number[] }) {
  const weights = reference.randomWeights(modelSpec(c.model), c.seed);
  const rng = new Prng(c.seed + 1);
  const { device, ledger } = await instrumentedDevice();
  const engine = await lenet5.createEngine(weights, { device, backend: 'webgpu', plan: 'layered', maxBatch: c.maxBatch });
  const liveAtStart = ledger.created - ledger.destroyed;
  const inputs = Array.from({ length: c.calls }, (_, k) => {
    const count = c.sizes[k % c.sizes.length]!;
    return { pixels: randomPixels(rng, count, k % 4 === 1), count };
  });
  const start = performance.now();
  const results = await Promise.all(inputs.map((input) => engine.infer(input.pixels, input.count)));
  const ms = performance.now() - start;
  const checks = results.flatMap((result, k) => checkResult(`call ${k} (${inputs[k]!.count} images)`, weights, inputs[k]!.pixels, inputs[k]!.count, result));
  engine.destroy();
  device.destroy();
  return {
    images: inputs.reduce((n, i) => n + i.count, 0),
    ms,
    checked: checks.length,
    failed: checks.filter((r) => r.mismatchCount).map((r) => r.message),
    liveAtStart,
    liveAfterDestroy: ledger.created - ledger.destroyed,
    submits: ledger.submits,
    violations: ledger.violations,
  };
}

/** A long run split over several evaluate calls, so the test can read the heap in between. */
let steady: { engine: lenet5.InferenceEngine; weights: lenet5.ModelWeights; device: GPUDevice; ledger: Ledger; inputs: Uint8Array[] } | undefined;

async function steadyStart(c: { model: ModelName; seed: number; warmup: number; plan: lenet5.PlanKind }) {
  const weights = reference.randomWeights(modelSpec(c.model), c.seed);
  const rng = new Prng(c.seed + 1);
  const { device, ledger } = await instrumentedDevice();
  const engine = await lenet5.createEngine(weights, { device, backend: 'webgpu', plan: c.plan, maxBatch: 16 });
  const inputs = Array.from({ length: 16 }, () => randomPixels(rng, 1) as Uint8Array);
  for (let k = 0; k < c.warmup; k++) await engine.infer(inputs[k % inputs.length]!, 1);
  steady = { engine, weights, device, ledger, inputs };
  return { live: ledger.created - ledger.destroyed, created: ledger.created };
}

/** `count` sequential single-image inferences; the last one is checked against the reference. */
async function steadyRun(c: { count: number }) {
  const { engine, weights, ledger, inputs } = steady!;
  const createdBefore = ledger.created;
  const start = performance.now();
  let last: lenet5.InferenceResult | undefined;
  for (let k = 0; k < c.count; k++) last = await engine.infer(inputs[k % inputs.length]!, 1);
  const ms = performance.now() - start;
  const input = inputs[(c.count - 1) % inputs.length]!;
  return {
    ms,
    live: ledger.created - ledger.destroyed,
    createdDuringRun: ledger.created - createdBefore,
    lastCheck: checkResult('last inference', weights, input, 1, last!).filter((r) => r.mismatchCount).map((r) => r.message),
    violations: ledger.violations,
  };
}

function steadyEnd() {
  const { engine, device, ledger } = steady!;
  engine.destroy();
  engine.destroy();
  const live = ledger.created - ledger.destroyed;
  device.destroy();
  steady = undefined;
  return { liveAfterDestroy: live };
}

/** destroy() while calls are pending, twice, then every method: all with EngineDestroyedError. */
async function destroyContract(c: { model: ModelName; seed: number }) {
  const weights = reference.randomWeights(modelSpec(c.model), c.seed);
  const { device, ledger } = await instrumentedDevice();
  const engine = await lenet5.createEngine(weights, { device, backend: 'webgpu', plan: 'layered', maxBatch: 8 });
  const pixels = randomPixels(new Prng(c.seed), 20);
  const settle = (p: Promise<unknown>) => p.then(() => 'resolved', describeError);
  const pending = [engine.infer(pixels, 20), engine.infer(pixels, 3), engine.activations(pixels.subarray(0, 784))].map(settle);
  engine.destroy();
  engine.destroy();
  const outcome = {
    pending: await Promise.all(pending),
    infer: await settle(engine.infer(pixels, 1)),
    activations: await settle(engine.activations(pixels.subarray(0, 784))),
    recover: await settle(engine.recover()),
    inferBadInput: await settle(engine.infer(new Uint8Array(3), 1)),
    liveAfterDestroy: ledger.created - ledger.destroyed,
    deviceStillUsable: device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST }) !== undefined,
  };
  device.destroy();
  return outcome;
}

/** Bad inputs, each given to infer (and some to activations and createEngine): what each did. */
async function inputLimits(c: { seed: number }) {
  const weights = reference.randomWeights(lenet5.classicModel('sigmoid'), c.seed);
  const engine = await lenet5.createEngine(weights, { backend: 'webgpu', plan: 'layered', maxBatch: 8 });
  const settle = (p: Promise<unknown>) => p.then(() => 'resolved', describeError);
  const one = () => new Uint8Array(784);
  const floats = (bad: number, at = 100) => {
    const f = new Float32Array(784).fill(0.5);
    f[at] = bad;
    return f;
  };
  const cast = (x: unknown) => x as Uint8Array;
  const infer: [string, unknown, unknown][] = [
    ['783 bytes for 1 image', new Uint8Array(783), 1],
    ['785 bytes for 1 image', new Uint8Array(785), 1],
    ['784 bytes for 2 images', one(), 2],
    ['no bytes for 1 image', new Uint8Array(0), 1],
    ['NaN pixel', floats(NaN), 1],
    ['+Infinity pixel', floats(Infinity), 1],
    ['-Infinity pixel', floats(-Infinity, 783), 1],
    ['pixel -0.01', floats(-0.01), 1],
    ['pixel 1.01', floats(1.01), 1],
    ['Float64Array NaN pixel', Float64Array.from(floats(NaN)), 1],
    ['count 0', new Uint8Array(0), 0],
    ['count -1', one(), -1],
    ['count 1.5', one(), 1.5],
    ['count NaN', one(), NaN],
    ['count Infinity', one(), Infinity],
    ["count '1' (a string)", one(), '1'],
    ['count 2^53 with 784 bytes', one(), 2 ** 53],
    ['count 1,000,000 with 784 bytes', one(), 1_000_000],
    ['pixels null', null, 1],
    ['pixels undefined', undefined, 1],
    ['pixels a plain array', new Array(784).fill(0), 1],
    ['pixels an Int16Array', new Int16Array(784).fill(1000), 1],
    ['pixels a Uint16Array', new Uint16Array(784), 1],
    ['pixels an ArrayBuffer', new ArrayBuffer(784), 1],
    ['pixels a string', 'x'.repeat(784), 1],
  ];
  const outcomes: { what: string; outcome: string }[] = [];
  for (const [what, pixels, count] of infer) {
    outcomes.push({ what: `infer: ${what}`, outcome: await settle(engine.infer(cast(pixels), count as number)) });
  }
  for (const [what, pixels] of [['783 bytes', new Uint8Array(783)], ['NaN pixel', floats(NaN)], ['pixels null', null], ['2 images', new Uint8Array(1568)]] as const) {
    outcomes.push({ what: `activations: ${what}`, outcome: await settle(engine.activations(cast(pixels))) });
  }
  for (const maxBatch of [0, -1, 2.5, NaN, 100_000_000]) {
    outcomes.push({ what: `createEngine maxBatch ${maxBatch}`, outcome: await settle(lenet5.createEngine(weights, { backend: 'webgpu', plan: 'layered', maxBatch })) });
  }
  const stillWorks = await engine.infer(one(), 1).then((r) => r.count);
  engine.destroy();
  return { outcomes, stillWorks };
}

/**
 * A batch larger than one run: `count` images with the default maxBatch, on an instrumented
 * device. Reports runs (submits), the largest dispatch and storage buffer against the
 * device's limits, and the comparison with the reference.
 */
async function chunked(c: { model: ModelName; seed: number; count: number; maxBatch?: number }) {
  const weights = reference.randomWeights(modelSpec(c.model), c.seed);
  const { device, ledger } = await instrumentedDevice();
  const engine = await lenet5.createEngine(weights, { device, backend: 'webgpu', plan: 'layered', ...(c.maxBatch ? { maxBatch: c.maxBatch } : {}) });
  const maxBatch = (engine as reference.WebGpuEngine).maxBatch;
  const pixels = randomPixels(new Prng(c.seed + 1), c.count);
  const submitsBefore = ledger.submits;
  const start = performance.now();
  const result = await engine.infer(pixels, c.count);
  const ms = performance.now() - start;
  const failed = checkResult(`${c.count} images`, weights, pixels, c.count, result).filter((r) => r.mismatchCount).map((r) => r.message);
  engine.destroy();
  device.destroy();
  return {
    maxBatch,
    runs: ledger.submits - submitsBefore,
    ms,
    failed,
    largestDispatch: ledger.largestDispatch,
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    largestStorageBuffer: ledger.largestStorageBuffer,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    violations: ledger.violations,
  };
}

const reliability = { deviceLoss, overlapping, steadyStart, steadyRun, steadyEnd, destroyContract, inputLimits, chunked };
export type Reliability = typeof reliability;

declare global {
  interface Window {
    reliability: Reliability;
  }
}
window.reliability = reliability;
document.body.dataset['reliability'] = 'ready';
