/**
 * Options checked at run time (src/options.ts, src/engine-options.ts) as the types check them
 * at compile time, for JavaScript callers: an unknown key or value is an InputError that names
 * it and the nearest valid one, before any file is read or device requested. Also the root
 * entry used in Node, which must point at `lenet5-webgpu/node`, and the literal unions of
 * preset names and error codes.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import * as root from '../src/index.js';
import { createEngine, InputError, kPresetNames, Lenet5Error, loadWeights, WebGPUUnavailableError, type Lenet5ErrorCode, type PresetName } from '../src/index.js';
import { createEngine as createNodeEngine } from '../src/node.js';
import { editDistance, stringList, suggestion } from '../src/options.js';

const kWeights = 'weights/seed.safetensors';
const bytes = new Uint8Array(readFileSync(kWeights));

/** The InputError `promise` rejects with (fails the test on anything else). */
async function inputError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'rejected with an InputError').toBeInstanceOf(InputError);
  return (error as InputError).message;
}

/** What a JavaScript caller may pass: anything. */
const untyped = (options: object): root.EngineOptions => options as root.EngineOptions;

test('an unknown option key is an InputError naming it and the nearest option', async () => {
  for (const make of [createEngine, createNodeEngine]) {
    const message = await inputError(make(bytes, untyped({ archtecture: 'seed' })));
    expect(message).toContain("unknown option 'archtecture'; did you mean 'architecture'?");
    expect(message).toMatch(/; the options are architecture, preprocessing, .*backend, maxBatch, plan, fuseActivations/);
  }
  expect(await inputError(createEngine(bytes, untyped({ Plan: 'fused' })))).toContain("did you mean 'plan'?");
  // Nothing near: no guess, the list of options instead.
  const far = await inputError(createEngine(bytes, untyped({ colour: true })));
  expect(far).toContain("unknown option 'colour'; the options are ");
  expect(far).not.toContain('did you mean');
});

test('an option value outside its type is an InputError naming the valid values', async () => {
  for (const make of [createEngine, createNodeEngine]) {
    // 'gpu' once ran WebGPU silently; edit distance alone would suggest 'cpu'.
    expect(await inputError(make(bytes, untyped({ backend: 'gpu' })))).toBe(
      "createEngine options: 'backend' must be 'webgpu', 'cpu', 'auto', found 'gpu'; did you mean 'webgpu'?",
    );
  }
  expect(await inputError(createEngine(bytes, untyped({ plan: 'fast' })))).toBe("createEngine options: 'plan' must be 'auto', 'layered', 'fused', found 'fast'");
  expect(await inputError(createEngine(bytes, untyped({ plan: 'fusd' })))).toContain("did you mean 'fused'?");
  expect(await inputError(createEngine(bytes, untyped({ maxBatch: 0 })))).toContain("'maxBatch' must be a positive integer, found 0");
  expect(await inputError(createEngine(bytes, untyped({ maxBatch: '64' })))).toContain("found '64'");
  expect(await inputError(createEngine(bytes, untyped({ fuseActivations: 'no' })))).toContain("'fuseActivations' must be a boolean");
  expect(await inputError(createEngine(bytes, untyped({ device: {} })))).toContain("'device' must be a GPUDevice, found Object");
  expect(await inputError(createEngine(bytes, untyped({ architecture: 7 })))).toContain("'architecture' must be a preset name");
  expect(await inputError(createEngine(bytes, 'cpu' as unknown as root.EngineOptions))).toBe("createEngine options must be an object, found 'cpu'");
  // Undefined values are absent options, as in TypeScript.
  const engine = await createEngine(bytes, { backend: 'cpu', plan: undefined });
  expect(engine.backend).toBe('cpu');
  engine.destroy();
});

test('loadWeights checks its options the same way', () => {
  expect(() => loadWeights(bytes, { preprocesing: { pad: 2 } } as root.LoadOptions)).toThrow(/unknown option 'preprocesing'; did you mean 'preprocessing'\?/);
  expect(() => loadWeights(bytes, { preprocessing: 'mnist' } as unknown as root.LoadOptions)).toThrow(/'preprocessing' must be an object/);
  expect(loadWeights(bytes, { architecture: 'seed' }).spec.inputSize).toBe(28);
});

test('a list of strings is checked item by item', () => {
  expect(() => stringList(['zero', 'one'], 'labels')).not.toThrow();
  expect(() => stringList(['zero', 1], 'labels')).toThrow("'labels' must be an array of strings, found 1 at index 1");
  expect(() => stringList('zero', 'labels')).toThrow("'labels' must be an array of strings, found 'zero'");
});

test('suggestions: containment first, then edit distance within a third of the name', () => {
  expect(editDistance('archtecture', 'architecture')).toBe(1);
  expect(editDistance('kitten', 'sitting')).toBe(3);
  expect(editDistance('', 'abc')).toBe(3);
  expect(suggestion('gpu', ['webgpu', 'cpu', 'auto'])).toBe("; did you mean 'webgpu'?");
  expect(suggestion('maxbatch', ['maxBatch', 'plan'])).toBe("; did you mean 'maxBatch'?");
  expect(suggestion('fast', ['auto', 'layered', 'fused'])).toBe('');
  expect(suggestion('x', ['auto', 'layered'])).toBe('');
});

test('the root entry in Node points at lenet5-webgpu/node, for a file URL and for the missing navigator.gpu', async () => {
  const url = pathToFileURL(resolve(kWeights));
  for (const source of [url, url.href]) {
    const message = await inputError(createEngine(source));
    expect(message).toContain(`could not fetch weights from ${url.href}`);
    expect(message).toContain("import createEngine from 'lenet5-webgpu/node'");
  }
  const error = await createEngine(bytes, { backend: 'webgpu' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WebGPUUnavailableError);
  expect((error as Error).message).toMatch(/^navigator\.gpu is missing: Node has no WebGPU of its own; in Node, import createEngine from 'lenet5-webgpu\/node'/);
  expect((error as Error).message).not.toContain('browser');
  const fallback = await createEngine(bytes);
  expect(fallback.backend).toBe('cpu');
  expect(fallback.fallbackReason).toContain("'lenet5-webgpu/node'");
  fallback.destroy();
});

test('fastest() after destroy() rejects with EngineDestroyedError on the CPU engine', async () => {
  const engine = await createEngine(bytes, { backend: 'cpu' });
  await expect(engine.fastest()).resolves.toBeUndefined();
  engine.destroy();
  await expect(engine.fastest()).rejects.toBeInstanceOf(root.EngineDestroyedError);
});

test('preset names and error codes are literal unions that match the run-time values', () => {
  // Compile-time halves: both records must name every member of their union, and no other.
  const presets: Record<PresetName, true> = { seed: true, 'pytorch-tutorial': true, classic: true, 'classic-scaled-tanh': true, 'caffe-lenet': true, 'd2l-lenet-bn': true, 'pytorch-cifar10-tutorial': true };
  expect([...kPresetNames].sort()).toEqual(Object.keys(presets).sort());
  const codes: Record<Lenet5ErrorCode, true> = {
    'weights-file': true,
    'model-mismatch': true,
    input: true,
    'data-file': true,
    'webgpu-unavailable': true,
    'device-lost': true,
    gpu: true,
    destroyed: true,
  };
  // Every exported error class has a code of the union, and every code has its class.
  const made = (Object.values(root) as unknown[])
    .filter((value): value is new (message: string) => Lenet5Error => typeof value === 'function' && value.prototype instanceof Lenet5Error)
    .map((ErrorClass) => new ErrorClass('x').code);
  expect(made.sort()).toEqual(Object.keys(codes).sort());
});
