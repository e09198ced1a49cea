/**
 * Pictures of what the network computes: grey-level canvases for images, feature maps, unit
 * strips and 7×12 vectors, drawn one canvas pixel per value and enlarged by CSS (pixelated).
 */

/** Ink colour at full intensity (dark blue-grey); background is white. */
const kInk = [22, 34, 64] as const;

/** The range of values a picture maps from white (low) to ink (high). */
export interface Range {
  readonly low: number;
  readonly high: number;
}

/**
 * Smallest and largest value of an array (a flat array gives a range of width 1).
 *
 * @example
 * rangeOf([0.2, -1, 3]); // { low: -1, high: 3 }
 */
export function rangeOf(values: ArrayLike<number>): Range {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    low = Math.min(low, values[i]!);
    high = Math.max(high, values[i]!);
  }
  if (!(high > low)) return { low: Number.isFinite(low) ? low : 0, high: (Number.isFinite(low) ? low : 0) + 1 };
  return { low, high };
}

/**
 * Paints `values` (row-major, width × height) into `canvas`, mapping `range` to white..ink.
 *
 * @example
 * paintGray(canvas, field, 28, 28, { low: 0, high: 1 });
 */
export function paintGray(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  width: number,
  height: number,
  range: Range,
): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) return;
  const image = context.createImageData(width, height);
  const span = range.high - range.low || 1;
  for (let i = 0; i < width * height; i++) {
    const t = Math.min(1, Math.max(0, (values[i]! - range.low) / span));
    image.data[i * 4] = Math.round(255 + (kInk[0] - 255) * t);
    image.data[i * 4 + 1] = Math.round(255 + (kInk[1] - 255) * t);
    image.data[i * 4 + 2] = Math.round(255 + (kInk[2] - 255) * t);
    image.data[i * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/**
 * Paints a colour image given as three planes (red, green, blue; each width × height, values
 * in [0, 1]) into `canvas`, one canvas pixel per image pixel.
 *
 * @example
 * paintRgb(canvas, pixels, 32, 32); // the 3 × 32 × 32 input of a CIFAR-10 model
 */
export function paintRgb(canvas: HTMLCanvasElement, planes: ArrayLike<number>, width: number, height: number): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) return;
  const image = context.createImageData(width, height);
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, planes[c * plane + i]!)));
    image.data[i * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

/**
 * A new canvas element with a class, for pictures built at run time.
 *
 * @example
 * grid.append(pictureCanvas('map', 'C1 map 0'));
 */
export function pictureCanvas(className: string, label?: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.className = className;
  if (label) {
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', label);
  }
  return canvas;
}

/**
 * A layer's feature maps ([channels, size, size]) as a grid of small pictures, all on one
 * scale (the layer's own range), so a reader can compare maps with each other.
 *
 * @example
 * paintFeatureMaps(grid, 'conv1', layer.shape, layer.data); // 6 canvases of 28×28
 */
export function paintFeatureMaps(grid: HTMLElement, name: string, shape: readonly number[], data: Float32Array): void {
  const [channels = 0, height = 0, width = 0] = shape;
  while (grid.children.length > channels) grid.lastElementChild!.remove();
  while (grid.children.length < channels) {
    grid.append(pictureCanvas('map', `${name} map ${grid.children.length}`));
  }
  grid.style.setProperty('--columns', String(mapColumns(channels)));
  const range = rangeOf(data);
  const size = height * width;
  for (let c = 0; c < channels; c++) {
    paintGray(grid.children[c] as HTMLCanvasElement, data.subarray(c * size, (c + 1) * size), width, height, range);
  }
}

/**
 * Columns of a grid of `count` feature maps: one row up to 8 maps, two rows up to 16, then
 * rows of 10 or more (about twice as wide as tall), so 6, 16, 20 and 50 maps all read well.
 *
 * @example
 * mapColumns(6); // 6
 * mapColumns(16); // 8
 * mapColumns(50); // 10
 */
export function mapColumns(count: number): number {
  if (count <= 8) return Math.max(1, count);
  if (count <= 16) return Math.ceil(count / 2);
  return Math.max(10, Math.ceil(Math.sqrt(2 * count)));
}

/** Most cells in one row of a unit strip. */
const kStripWidth = 60;

/**
 * Rows × columns of the strip that pictures `units` values of a dense layer: one row up to
 * 60 units, else as few rows as hold them, evenly filled (120 → 2 × 60, 500 → 9 × 56).
 *
 * @example
 * stripShape(84); // { columns: 42, rows: 2 }
 */
export function stripShape(units: number): { columns: number; rows: number } {
  const rows = Math.max(1, Math.ceil(units / kStripWidth));
  return { columns: Math.max(1, Math.ceil(units / rows)), rows };
}

/**
 * A dense layer's units as a strip of cells, on `range`; cells past the last unit stay
 * background. The canvas keeps the strip's aspect ratio (square cells) through `--aspect`.
 *
 * @example
 * paintStrip(canvas, fc1, { low: 0, high: 1 }); // 120 sigmoid units as 2 rows of 60
 */
export function paintStrip(canvas: HTMLCanvasElement, values: Float32Array, range: Range): void {
  const { columns, rows } = stripShape(values.length);
  const cells = new Float32Array(columns * rows).fill(range.low);
  cells.set(values);
  canvas.style.setProperty('--aspect', `${columns} / ${rows}`);
  paintGray(canvas, cells, columns, rows, range);
}

/**
 * Softmax of logits (subtracting the largest first, so no exp overflows).
 *
 * @example
 * softmax([0, 0]); // Float64Array [0.5, 0.5]
 */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let largest = -Infinity;
  for (let i = 0; i < logits.length; i++) largest = Math.max(largest, logits[i]!);
  const p = Float64Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - largest));
  const total = p.reduce((s, v) => s + v, 0);
  return p.map((v) => v / total);
}
