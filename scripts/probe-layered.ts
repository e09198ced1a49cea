/**
 * npm run probe:layered [-- --model NAME] [--batch N] [--rounds N] [--baseline REF]
 *
 * Where the layered plan's time goes (src/gpu/layered-plan.ts, the plan every engine answers
 * with first and the only plan for members the fused kernel declines), on this machine's WebGPU
 * adapter in Node (Dawn; SwiftShader where there is no GPU). For one preset with seeded random
 * weights, it builds each layer's kernel twice: as this checkout's layered plan builds it, and
 * from the shader generators at git revision REF (the baseline, one invocation per output
 * with the grid that revision used). Each layer is timed alone (one dispatch per submission,
 * waited for: Dawn in Node offers no timestamp queries on SwiftShader), then the whole chain
 * of layers in one submission; current and baseline alternate round by round in one process,
 * so that a loaded machine slows both alike. Printed: medians and the median of the per-round
 * ratios baseline / current.
 *
 * @example
 * npm run probe:layered -- --model caffe-lenet --batch 1024 --rounds 7
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dispatchSize } from '../shaders/common.js';
import { percentile } from '../pages/bench/measure.js';
import { layerStep, type PendingStep } from '../src/gpu/layered-plan.js';
import { isPresetName, kPresetNames, presetModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { layerActivation, layerInputSize, layerOutputSize, layerTensorNames, type LayerSpec } from '../src/model/spec.js';
import { kernelTargetOf } from '../src/gpu/device.js';
import type { KernelTarget } from '../shaders/conv5x5.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { parseCommandLine, positiveInteger, runMain, UsageError } from './cli.js';

const kHelp = `Times the layered plan per layer and whole on this machine's WebGPU adapter (Node, Dawn;
SwiftShader where there is no GPU), this checkout's kernels against those of git revision REF,
alternated round by round; medians and ratios printed.

usage: npm run probe:layered [-- --model NAME] [--batch N] [--rounds N] [--baseline REF]

  --model NAME     a preset (${kPresetNames.join(', ')}); default caffe-lenet
  --batch N        images per run (default 1024)
  --rounds N       rounds (default 7)
  --baseline REF   the git revision whose shaders are the baseline (default main)
  --target T       cpu or gpu: the block sizes to build (default: this device's, kernelTargetOf)
  -h, --help       this text`;

const kRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The shader files a baseline generator may need, and each kernel's generator by name. */
const kShaderFiles = ['common', 'wgsl', 'conv5x5', 'dense', 'subsample2x2', 'activation', 'rbf', 'softmax', 'scale-shift'];
const kGenerator: Record<string, { file: string; fn: string; workgroupSize: string }> = {
  conv5x5: { file: 'conv5x5', fn: 'conv5x5', workgroupSize: 'kConv5x5WorkgroupSize' },
  dense: { file: 'dense', fn: 'dense', workgroupSize: 'kDenseWorkgroupSize' },
  subsample2x2: { file: 'subsample2x2', fn: 'subsample2x2', workgroupSize: 'kSubsample2x2WorkgroupSize' },
  activation: { file: 'activation', fn: 'activation', workgroupSize: 'kActivationWorkgroupSize' },
  rbf: { file: 'rbf', fn: 'rbf', workgroupSize: 'kRbfWorkgroupSize' },
  softmax: { file: 'softmax', fn: 'softmax', workgroupSize: 'kSoftmaxWorkgroupSize' },
  'scale-shift': { file: 'scale-shift', fn: 'scaleShift', workgroupSize: 'kScaleShiftWorkgroupSize' },
};

type Module = Record<string, unknown>;

/**
 * The shader modules as they were at `ref`, written to a temporary folder under scratch/ (inside
 * the checkout, so that packages resolve) with their imports of src/ made absolute, and imported.
 */
async function baselineShaders(ref: string): Promise<{ modules: Map<string, Module>; cleanup: () => void }> {
  mkdirSync(join(kRoot, 'scratch'), { recursive: true });
  const folder = mkdtempSync(join(kRoot, 'scratch', 'probe-layered-'));
  const src = pathToFileURL(join(kRoot, 'src')).href;
  for (const file of kShaderFiles) {
    let text: string;
    try {
      text = execFileSync('git', ['show', `${ref}:shaders/${file}.ts`], { cwd: kRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      throw new UsageError(`--baseline ${ref}: git has no shaders/${file}.ts at that revision`);
    }
    writeFileSync(join(folder, `${file}.ts`), text.replaceAll(`from '../src/`, `from '${src}/`));
  }
  const modules = new Map<string, Module>();
  for (const file of kShaderFiles) modules.set(file, (await import(pathToFileURL(join(folder, `${file}.ts`)).href)) as Module);
  return { modules, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

/** One layer's kernel, compiled and bound, in one variant. */
interface Bound {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly grid: [number, number, number];
}

async function main(): Promise<void> {
  const { values } = parseCommandLine({
    options: {
      model: { type: 'string', default: 'caffe-lenet' },
      batch: { type: 'string', default: '1024' },
      rounds: { type: 'string', default: '7' },
      baseline: { type: 'string', default: 'main' },
      target: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(kHelp);
    return;
  }
  if (!isPresetName(values.model)) throw new UsageError(`--model must be one of ${kPresetNames.join(', ')}, found '${values.model}'`);
  const spec = presetModel(values.model)!;
  const batch = positiveInteger('batch', values.batch);
  const rounds = positiveInteger('rounds', values.rounds);
  if (values.target !== '' && values.target !== 'cpu' && values.target !== 'gpu') throw new UsageError(`--target must be cpu or gpu, found '${values.target}'`);
  const weights = randomWeights(spec, 1);
  const { modules, cleanup } = await baselineShaders(values.baseline);
  const { device, adapterName } = await nodeGpuDevice('probe.layered');
  try {
    const buffer = (label: string, data: Float32Array<ArrayBuffer> | number, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST) => {
      const size = typeof data === 'number' ? data * 4 : data.byteLength;
      const b = device.createBuffer({ label, size: Math.max(16, size), usage });
      if (typeof data !== 'number') device.queue.writeBuffer(b, 0, data);
      return b;
    };
    const batchBuffer = device.createBuffer({ label: 'batch', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(batchBuffer, 0, new Uint32Array([batch, 0, 0, 0]));
    const tensors = new Map<string, GPUBuffer>();
    for (const [name, data] of weights.tensors) tensors.set(name, buffer(name, new Float32Array(data)));
    // One chain of activations: layer k reads what layer k − 1 wrote (pixel-like input first).
    const first = spec.layers[0]!;
    const input = new Float32Array(batch * layerInputSize(first));
    for (let i = 0; i < input.length; i++) input[i] = ((i * 2654435761) % 256) / 255;
    let current = buffer('input', input);
    const bind = async (step: PendingStep, code: string, grid: [number, number, number]): Promise<Bound> => {
      const module = device.createShaderModule({ label: step.label, code });
      const pipeline = await device.createComputePipelineAsync({ label: step.label, layout: 'auto', compute: { module, entryPoint: 'main' } });
      const entries = [batchBuffer, ...step.bindings].map((b, binding) => ({ binding, resource: { buffer: b } }));
      return { pipeline, bindGroup: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }), grid };
    };
    const layers: Array<{ layer: LayerSpec; variants: [Bound, Bound]; ms: [number[], number[]] }> = [];
    for (const layer of spec.layers) {
      for (const name of layerTensorNames(layer)) if (!tensors.has(name)) throw new Error(`no tensor ${name}`);
      const output = buffer(`${layer.name}.output`, batch * layerOutputSize(layer), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
      const step = layerStep(layer, layerActivation(layer), current, output, (name) => tensors.get(name)!, values.target === '' ? kernelTargetOf(device) : (values.target as KernelTarget));
      const generator = kGenerator[step.source.kernel];
      const old = generator && modules.get(generator.file);
      if (!generator || !old) throw new Error(`no baseline generator for kernel ${step.source.kernel}`);
      // A generator returns its WGSL (one invocation per output, the grid from its workgroup
      // size) or, since the blocked conv and dense kernels, its WGSL and its own grid.
      const generated = (old[generator.fn] as (options: unknown) => string | { code: string; workgroups(count: number): [number, number, number] })(
        step.source.options,
      );
      const perImage = step.source.kernel === 'softmax' ? 1 : layerOutputSize(layer);
      const oldCode = typeof generated === 'string' ? generated : generated.code;
      const oldGrid = typeof generated === 'string' ? dispatchSize(batch * perImage, old[generator.workgroupSize] as number) : generated.workgroups(batch);
      const variants: [Bound, Bound] = [await bind(step, step.source.code, step.workgroups(batch)), await bind(step, oldCode, oldGrid)];
      layers.push({ layer, variants, ms: [[], []] });
      current = output;
    }
    const whole: [number[], number[]] = [[], []];
    const time = async (encode: (pass: GPUComputePassEncoder) => void): Promise<number> => {
      const start = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      encode(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - start;
    };
    const dispatch = (pass: GPUComputePassEncoder, b: Bound) => {
      pass.setPipeline(b.pipeline);
      pass.setBindGroup(0, b.bindGroup);
      pass.dispatchWorkgroups(...b.grid);
    };
    const loadBefore = loadavg()[0]!;
    for (let round = -1; round < rounds; round++) {
      // Round −1 warms up; the order of the two variants flips every round.
      for (const v of round % 2 === 0 ? [0, 1] : [1, 0]) {
        for (const l of layers) {
          const ms = await time((pass) => dispatch(pass, l.variants[v]!));
          if (round >= 0) l.ms[v]!.push(ms);
        }
        const ms = await time((pass) => layers.forEach((l) => dispatch(pass, l.variants[v]!)));
        if (round >= 0) whole[v]!.push(ms);
      }
    }
    console.log(`adapter: ${adapterName}; ${availableParallelism()} cores; load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
    console.log(`model ${spec.id}; batch ${batch}; ${rounds} rounds alternated; baseline = shaders at ${values.baseline}`);
    const row = (name: string, ms: [number[], number[]]) => {
      const ratio = percentile(ms[1].map((old, r) => old / ms[0][r]!), 50);
      return `${name.padEnd(22)} current ${percentile(ms[0], 50).toFixed(1).padStart(8)} ms   baseline ${percentile(ms[1], 50).toFixed(1).padStart(8)} ms   baseline/current ${ratio.toFixed(2)}`;
    };
    for (const l of layers) console.log(row(`${l.layer.name} ${l.layer.kind}`, l.ms));
    console.log(row('whole (one submission)', whole));
    console.log(`images/s (whole, current): ${((batch * 1000) / percentile(whole[0], 50)).toFixed(0)}`);
  } finally {
    device.destroy();
    cleanup();
  }
}

runMain('probe:layered', 'npm run probe:layered -- --help for usage', main);
