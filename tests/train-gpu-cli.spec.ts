/**
 * `npm run train -- --gpu` (scripts/train-gpu.ts) and the CPU trainer (scripts/train.ts), one
 * flag table (scripts/train-options.ts), as a user runs them: usage errors exit with status 2
 * and one line; a short run writes a safetensors file the engine loads, with the architecture
 * and the training record, its tensors moved from the --init file's; the same command line
 * with and without --gpu gives the same loss and the same weights within the tolerance below.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { loadWeights, saveWeights } from '../src/formats/load.js';
import { buildArchitecture } from '../src/model/architecture.js';
import { randomWeights } from '../src/model/random.js';

function trainCommand(...args: string[]) {
  return runTrain('--gpu', ...args);
}

function runTrain(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', ...args], { encoding: 'utf8', timeout: 180_000 });
  if (run.error) throw run.error;
  return run;
}

const tinyNet = { inputSize: 28, layers: [{ type: 'pool', mode: 'average' }, { type: 'conv', outChannels: 3, activation: 'relu' }, { type: 'pool', mode: 'max' }, { type: 'dense', outFeatures: 10 }] } as const;

test('usage errors: status 2, one line naming the option', () => {
  for (const [args, says] of [
    [['--optimizer', 'rmsprop'], "--optimizer must be 'sgd' or 'adam', found 'rmsprop'"],
    [['--stop-after', '2'], '--stop-after is a CPU-trainer option'],
    [['--batch', '0'], '--batch must be a positive integer'],
    [['--no-such-flag'], "Unknown option '--no-such-flag'"],
    [['--workers', '2'], '--workers is a CPU-trainer option'],
    [['--momentum', '0.9'], '--momentum is an SGD option'],
  ] as const) {
    const run = trainCommand(...args);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(says);
  }
  // The CPU trainer reads the same table: the same errors, and the GPU's own flags refused.
  for (const [args, says] of [
    [['--optimizer', 'rmsprop'], "--optimizer must be 'sgd' or 'adam', found 'rmsprop'"],
    [['--report', '8'], '--report is a GPU-trainer option'],
    [['--arch', 'no-such-preset'], "unknown preset 'no-such-preset'"],
  ] as const) {
    const run = runTrain(...args);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(says);
  }
});

test('a 3-step SGD run from an --init file writes the trained tensors with the training record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-gpu-cli-'));
  try {
    const json = tinyNet;
    const start = randomWeights(buildArchitecture(json), 4);
    writeFileSync(join(dir, 'init.safetensors'), saveWeights(start));
    const out = join(dir, 'out.safetensors');
    const run = trainCommand('--init', join(dir, 'init.safetensors'), '--arch', JSON.stringify(json), '--optimizer', 'sgd', '--lr', '0.1',
      '--batch', '4', '--steps', '3', '--limit', '12', '--no-shuffle', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('step 3');
    const trained = loadWeights(new Uint8Array(readFileSync(out)));
    expect(trained.spec.tensors.map((t) => t.name)).toEqual(start.spec.tensors.map((t) => t.name));
    expect(trained.metadata['lenet5.train.steps']).toBe('3');
    expect(trained.metadata['lenet5.train.optimizer']).toContain('SGD (momentum 0, weight decay 0), batch 4, lr 0.1');
    for (const t of start.spec.tensors) {
      const before = start.tensors.get(t.name)!;
      const after = trained.tensors.get(t.name)!;
      expect(after.some((v, i) => v !== before[i]), `${t.name} was trained`).toBe(true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same --steps run on the CPU and the GPU trainer: the same loss and weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-cli-both-'));
  try {
    writeFileSync(join(dir, 'init.safetensors'), saveWeights(randomWeights(buildArchitecture(tinyNet), 9)));
    const flags = ['--init', join(dir, 'init.safetensors'), '--arch', JSON.stringify(tinyNet), '--optimizer', 'sgd', '--momentum', '0.9',
      '--weight-decay', '0.001', '--lr', '0.05', '--batch', '5', '--steps', '4', '--limit', '40', '--no-shuffle'];
    const cpu = runTrain(...flags, '--workers', '0', '--out', join(dir, 'cpu.safetensors'));
    const gpu = runTrain('--gpu', ...flags, '--out', join(dir, 'gpu.safetensors'));
    expect(cpu.status, cpu.stderr).toBe(0);
    expect(gpu.status, gpu.stderr).toBe(0);
    // Both print the mean loss over the 4 steps (one epoch, one GPU report).
    const lossOf = (stdout: string) => Number(/step 4 {2}loss ([\d.]+)/.exec(stdout)?.[1]);
    const [cpuLoss, gpuLoss] = [lossOf(cpu.stdout), lossOf(gpu.stdout)];
    expect(cpuLoss, cpu.stdout).toBeGreaterThan(0);
    // float32 sums in other orders: a few ulp per step, far inside 1e-5 relative (a wrong batch,
    // lr, momentum or decay moves the loss in its third digit).
    expect(Math.abs(gpuLoss - cpuLoss), `GPU loss ${gpuLoss} vs CPU ${cpuLoss}`).toBeLessThanOrEqual(1e-5 * cpuLoss);
    // Each tensor's change within 1e-3 of its largest change (the criterion for a step).
    const start = loadWeights(new Uint8Array(readFileSync(join(dir, 'init.safetensors'))));
    const [onCpu, onGpu] = ['cpu', 'gpu'].map((side) => loadWeights(new Uint8Array(readFileSync(join(dir, `${side}.safetensors`)))));
    for (const t of start.spec.tensors) {
      const before = start.tensors.get(t.name)!;
      const a = onCpu!.tensors.get(t.name)!;
      const b = onGpu!.tensors.get(t.name)!;
      const largest = Math.max(...a.map((v, i) => Math.abs(v - before[i]!)));
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      expect(largest, `${t.name} was trained`).toBeGreaterThan(0);
      expect(worst, `${t.name}: |CPU − GPU| ${worst} against its largest change ${largest}`).toBeLessThanOrEqual(1e-3 * largest);
    }
    expect(onCpu!.metadata['lenet5.train.optimizer']).toContain('SGD (momentum 0.9, weight decay 0.001), batch 5');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
