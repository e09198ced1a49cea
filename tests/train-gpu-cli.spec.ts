/**
 * `npm run train -- --gpu` (scripts/train-gpu.ts) as a user runs it: usage errors exit with
 * status 2 and one line; a short run writes a safetensors file the engine loads, with the
 * architecture and the training record, its tensors moved from the --init file's.
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
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', '--gpu', ...args], { encoding: 'utf8', timeout: 180_000 });
  if (run.error) throw run.error;
  return run;
}

test('usage errors: status 2, one line naming the option', () => {
  for (const [args, says] of [
    [['--optimizer', 'rmsprop'], "--optimizer must be 'sgd' or 'adam', found 'rmsprop'"],
    [['--stop-after', '2'], '--stop-after is a CPU-trainer option'],
    [['--batch', '0'], '--batch must be a positive integer'],
    [['--no-such-flag'], "Unknown option '--no-such-flag'"],
  ] as const) {
    const run = trainCommand(...args);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(says);
  }
});

test('a 3-step SGD run from an --init file writes the trained tensors with the training record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-gpu-cli-'));
  try {
    const json = { inputSize: 28, layers: [{ type: 'pool', mode: 'average' }, { type: 'conv', outChannels: 3, activation: 'relu' }, { type: 'pool', mode: 'max' }, { type: 'dense', outFeatures: 10 }] } as const;
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
