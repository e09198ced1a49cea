/**
 * npm run probe:train [-- --model NAME] [--batch N] [--rounds N] [--optimizer sgd|adam] [--target T]
 *
 * Where one GPU training step's time goes (src/gpu/training-plan.ts) on this machine's WebGPU
 * adapter in Node (Dawn; SwiftShader where there is no GPU): the plan is built for a preset with
 * seeded random weights over the first MNIST training images, then each dispatch of one
 * optimizer step (gather, forward, loss, backward, update) is timed alone, one dispatch per
 * submission and waited for (Dawn in Node offers no timestamp queries on SwiftShader), `rounds`
 * times. Printed: each dispatch's median and its share of the step, and the step's images/s.
 *
 * @example
 * npm run probe:train -- --model pytorch-tutorial --batch 64 --rounds 5
 */
import { availableParallelism, loadavg } from 'node:os';
import { percentile } from '../pages/bench/measure.js';
import type { KernelTarget } from '../shaders/conv5x5.js';
import { trainingKernelTargetOf } from '../src/gpu/device.js';
import { buildTrainingPlan } from '../src/gpu/training-plan.js';
import { isPresetName, kPresetNames, presetModel } from '../src/model/presets.js';
import { randomWeights } from '../src/model/random.js';
import { nodeGpuDevice } from '../src/node/dawn.js';
import { loadMnist } from '../src/train/mnist.js';
import { parseCommandLine, positiveInteger, runMain, UsageError } from './cli.js';

const kHelp = `Times each dispatch of one GPU training step on this machine's WebGPU adapter (Node, Dawn;
SwiftShader where there is no GPU); medians and shares printed.

usage: npm run probe:train [-- --model NAME] [--batch N] [--rounds N] [--optimizer sgd|adam] [--target T]

  --model NAME       a preset (${kPresetNames.join(', ')}); default pytorch-tutorial
  --batch N          images per step (default 64)
  --rounds N         rounds (default 5)
  --optimizer NAME   sgd (default) or adam
  --target T         gpu, cpu-unrolled or cpu: the conv and dense kernels' blocks (default:
                     the trainers', trainingKernelTargetOf this device)
  -h, --help         this text`;

async function main(): Promise<void> {
  const { values } = parseCommandLine({
    options: {
      model: { type: 'string', default: 'pytorch-tutorial' },
      batch: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '5' },
      optimizer: { type: 'string', default: 'sgd' },
      target: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(kHelp);
    return;
  }
  if (!isPresetName(values.model)) throw new UsageError(`--model must be one of ${kPresetNames.join(', ')}, found '${values.model}'`);
  if (values.optimizer !== 'sgd' && values.optimizer !== 'adam') throw new UsageError(`--optimizer must be sgd or adam, found '${values.optimizer}'`);
  if (!['', 'gpu', 'cpu-unrolled', 'cpu'].includes(values.target)) throw new UsageError(`--target must be gpu, cpu-unrolled or cpu, found '${values.target}'`);
  const spec = presetModel(values.model)!;
  const batch = positiveInteger('batch', values.batch);
  const rounds = positiveInteger('rounds', values.rounds);
  const train = loadMnist('train', Math.max(batch, 1024));
  const { device, adapterName } = await nodeGpuDevice('probe.train');
  try {
    const built = performance.now();
    const optimizer = values.optimizer === 'adam' ? { kind: 'adam' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 } : { kind: 'sgd' as const, momentum: 0, weightDecay: 0 };
    const kernelTarget = values.target === '' ? trainingKernelTargetOf(device) : (values.target as KernelTarget);
    const plan = await buildTrainingPlan(device, spec, randomWeights(spec, 1).tensors, train, null, { maxBatch: batch, optimizer, preprocessing: spec.defaultPreprocessing, kernelTarget });
    const buildMs = performance.now() - built;
    const loadBefore = loadavg()[0]!;
    const times = await plan.profileStep({ count: batch, first: 0, learningRate: 0.01, correction1: 0.1, correction2Sqrt: 0.03 }, rounds);
    plan.destroy();
    const medians = times.map((t) => ({ label: t.label, ms: percentile(t.ms, 50) }));
    const total = medians.reduce((s, t) => s + t.ms, 0);
    console.log(`adapter: ${adapterName}; ${availableParallelism()} cores; load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
    console.log(`model ${spec.id}; batch ${batch}; ${values.optimizer}; kernels for '${kernelTarget}'; plan built in ${buildMs.toFixed(0)} ms; ${rounds} rounds, medians`);
    for (const t of [...medians].sort((a, b) => b.ms - a.ms)) {
      console.log(`${t.label.padEnd(40)} ${t.ms.toFixed(2).padStart(9)} ms  ${((100 * t.ms) / total).toFixed(1).padStart(5)}%`);
    }
    console.log(`sum of dispatches ${total.toFixed(1)} ms: ${((batch * 1000) / total).toFixed(0)} images/s (each dispatch waited for; one submission of many steps waits less)`);
  } finally {
    device.destroy();
  }
}

runMain('probe:train', 'npm run probe:train -- --help for usage', main);
