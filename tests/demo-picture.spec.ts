/**
 * The demo's picture input for colour models (pages/demo/picture.ts): the centre square,
 * area resampling to the model's side as planar RGB in [0, 1], and telling a picture's bytes
 * from a weights file's.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { InputError } from '../src/errors.js';
import { centreSquare, pictureFormat, pictureInput, type RgbaImage } from '../pages/demo/picture.js';

/** A width × height RGBA picture whose pixel (x, y) is `colour(x, y)` (alpha 255). */
function picture(width: number, height: number, colour: (x: number, y: number) => readonly [number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([...colour(x, y), 255], 4 * (y * width + x));
  }
  return { width, height, data };
}

test('the centre square of landscape, portrait and square pictures', () => {
  expect(centreSquare(640, 480)).toEqual({ left: 80, top: 0, side: 480 });
  expect(centreSquare(480, 641)).toEqual({ left: 0, top: 80, side: 480 });
  expect(centreSquare(32, 32)).toEqual({ left: 0, top: 0, side: 32 });
  expect(centreSquare(1, 7)).toEqual({ left: 0, top: 3, side: 1 });
});

test('a 32×32 picture at 32×32 is its own planes, red then green then blue, /255', () => {
  const image = picture(32, 32, (x, y) => [x * 8, y * 8, 255 - x - y]);
  const planes = pictureInput(image, 32, 3);
  expect(planes.length).toBe(3 * 1024);
  for (const [x, y] of [[0, 0], [31, 0], [5, 17], [31, 31]] as const) {
    expect(planes[y * 32 + x], `red (${x}, ${y})`).toBeCloseTo((x * 8) / 255, 6);
    expect(planes[1024 + y * 32 + x], `green (${x}, ${y})`).toBeCloseTo((y * 8) / 255, 6);
    expect(planes[2048 + y * 32 + x], `blue (${x}, ${y})`).toBeCloseTo((255 - x - y) / 255, 6);
  }
});

test('shrinking averages by area; the margins of a wide picture are cut off', () => {
  // 128×64: left and right 32-px margins pure blue (cut off), the 64×64 centre a checkerboard
  // of 2×2 blocks of black and white: at 32×32 each output pixel is one block, at 16×16 each
  // holds two black and two white blocks (0.5 grey).
  const image = picture(128, 64, (x, y) => {
    if (x < 32 || x >= 96) return [0, 0, 255];
    return (Math.floor((x - 32) / 2) + Math.floor(y / 2)) % 2 ? [255, 255, 255] : [0, 0, 0];
  });
  const at32 = pictureInput(image, 32, 3);
  // 64 → 32: each output pixel is one 2×2 block, black or white, never blue.
  const notBlock = [...at32.subarray(0, 1024).keys()].filter((i) => !((at32[i] === 0 || at32[i] === 1) && at32[2048 + i] === at32[i]));
  expect(notBlock.slice(0, 5).map((i) => `pixel ${i}: red ${at32[i]}, blue ${at32[2048 + i]}`)).toEqual([]);
  expect(at32[0]).toBe(0);
  expect(at32[1]).toBe(1);
  const at16 = pictureInput(image, 16, 3);
  expect(Math.min(...at16)).toBeCloseTo(0.5, 6);
  expect(Math.max(...at16)).toBeCloseTo(0.5, 6);
  // 64 → 24 (a step of 8/3 pixels): every output is a weighted mean, the means over the image agree.
  const at24 = pictureInput(image, 24, 1);
  const mean = at24.reduce((s, v) => s + v, 0) / at24.length;
  expect(mean).toBeCloseTo(0.5, 2);
  expect(Math.min(...at24)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...at24)).toBeLessThanOrEqual(1);
});

test('enlarging repeats each pixel; grey is the mean of the three channels', () => {
  const image = picture(2, 2, (x, y) => [x ? 255 : 0, y ? 255 : 0, 51]);
  const grey = pictureInput(image, 4, 1);
  // Quadrants: (0,0) → (0 + 0 + 51)/3/255; (1,0) → (255 + 0 + 51)/3/255; …
  const expected = (x: number, y: number) => ((x ? 255 : 0) + (y ? 255 : 0) + 51) / 3 / 255;
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(grey[y * 4 + x], `(${x}, ${y})`).toBeCloseTo(expected(x >> 1, y >> 1), 6);
});

test('bad pictures and sides: InputError saying what was expected', () => {
  const fails = (action: () => unknown, message: RegExp) => {
    let error: unknown;
    try {
      action();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
  };
  fails(() => pictureInput({ width: 4, height: 4, data: new Uint8Array(60) }, 32, 3), /expected width × height × 4 RGBA bytes, found 60 for 4×4/);
  fails(() => pictureInput({ width: 0, height: 0, data: new Uint8Array(0) }, 32, 3), /found 0 for 0×0/);
  fails(() => pictureInput(picture(4, 4, () => [0, 0, 0]), 0, 3), /side must be a positive integer, found 0/);
  fails(() => pictureInput(picture(4, 4, () => [0, 0, 0]), 32, 4), /gives 3 colour channels \(or grey\), the model reads 4/);
});

test('picture bytes are told from weights files', () => {
  const bytes = (...values: number[]) => new Uint8Array([...values, ...new Array<number>(16).fill(0)]);
  expect(pictureFormat(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('PNG');
  expect(pictureFormat(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('JPEG');
  expect(pictureFormat(bytes(0x47, 0x49, 0x46, 0x38, 0x39, 0x61))).toBe('GIF');
  expect(pictureFormat(bytes(0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x45, 0x42, 0x50))).toBe('WebP');
  expect(pictureFormat(bytes(0x42, 0x4d, 0x36, 0x10, 0, 0, 0, 0, 0, 0, 0x36))).toBe('BMP');
  // A safetensors header 0x4d42 bytes long starts 42 4d too; its JSON begins at byte 8.
  const safetensors = bytes(0x42, 0x4d, 0, 0, 0, 0, 0, 0, 0x7b, 0x22);
  expect(pictureFormat(safetensors)).toBeNull();
  for (const file of ['weights/seed.safetensors', 'tests/fixtures/family/seed.pth', 'tests/fixtures/family/seed.onnx']) {
    expect(pictureFormat(new Uint8Array(readFileSync(file))), file).toBeNull();
  }
  expect(pictureFormat(new Uint8Array(0))).toBeNull();
});
