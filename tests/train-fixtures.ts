/**
 * Reading the PyTorch training fixtures (scripts/pytorch/make_train_fixtures.py): the weights
 * both sides compute from a formula (same bits: exact integer and IEEE double arithmetic,
 * rounded once to float32), and the fixture's tensors as flat float32 arrays.
 */
import { readFileSync } from 'node:fs';
import type { ModelSpec } from '../src/model/spec.js';
import { parseSafetensors } from '../src/weights/safetensors.js';

/** Tensor k of the spec: (h mod 2001 − 1000)/1000 · 1/√fanIn, h = (i·2654435761 + (k+1)·40503) mod 2³². */
export function formulaWeights(spec: ModelSpec): Map<string, Float32Array> {
  return new Map(
    spec.tensors.map((t, k) => {
      const length = t.shape.reduce((a, b) => a * b, 1);
      const fanIn = t.shape.length > 1 ? t.shape.slice(1).reduce((a, b) => a * b, 1) : 10;
      const scale = 1 / Math.sqrt(fanIn);
      const values = new Float32Array(length);
      for (let i = 0; i < length; i++) {
        // i·2654435761 stays below 2⁵³ for every LeNet tensor, so the modulo is exact.
        const h = (i * 2654435761 + (k + 1) * 40503) % 4294967296;
        values[i] = (((h % 2001) - 1000) / 1000) * scale;
      }
      return [t.name, values] as const;
    }),
  );
}

/** A fixture's tensors by name. */
export function readTrainFixture(preset: string): Map<string, Float32Array> {
  const file = parseSafetensors(new Uint8Array(readFileSync(`tests/fixtures/train/${preset}.safetensors`)));
  return new Map([...file.tensors].map(([name, tensor]) => [name, tensor.data]));
}
