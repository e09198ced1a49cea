/**
 * What the training page draws besides the charts: the first layer's filters, the fixed test
 * digit's feature maps, the confusion matrix and the worst-classified digits. Text goes in as
 * text (never markup); pictures reuse the demo's painters (one canvas pixel per value).
 */
import { paintFeatureMaps, paintGray, pictureCanvas, rangeOf } from '../demo/viz.js';
import type { Misread, Picture } from './protocol.js';

const kClasses = 10;

/**
 * conv1's filters ([count, 5, 5]), each on a scale symmetric about zero so the sign reads the
 * same in every filter: white is the most negative weight, ink the most positive.
 *
 * @example
 * drawFilters(byId('filters'), { name: 'conv1', shape: [6, 5, 5], data });
 */
export function drawFilters(container: HTMLElement, filters: Picture): void {
  const [count = 0, height = 0, width = 0] = filters.shape;
  const { low, high } = rangeOf(filters.data);
  const reach = Math.max(Math.abs(low), Math.abs(high)) || 1;
  while (container.children.length > count) container.lastElementChild!.remove();
  while (container.children.length < count) container.append(pictureCanvas('filter', `${filters.name} filter ${container.children.length}`));
  const size = height * width;
  for (let f = 0; f < count; f++) {
    paintGray(container.children[f] as HTMLCanvasElement, filters.data.subarray(f * size, (f + 1) * size), width, height, { low: -reach, high: reach });
  }
}

/** The fixed digit's feature maps: one labelled grid per layer. */
export function drawMaps(container: HTMLElement, maps: readonly Picture[]): void {
  while (container.children.length > maps.length) container.lastElementChild!.remove();
  maps.forEach((map, i) => {
    let block = container.children[i] as HTMLElement | undefined;
    if (!block) {
      block = document.createElement('div');
      block.className = 'map-block';
      const title = document.createElement('p');
      title.className = 'map-title';
      const grid = document.createElement('div');
      grid.className = 'map-grid';
      block.append(title, grid);
      container.append(block);
    }
    block.firstElementChild!.textContent = `${map.name}: ${map.shape.join('×')}`;
    paintFeatureMaps(block.lastElementChild as HTMLElement, map.name, map.shape, map.data);
  });
}

/** A digit's 28×28 bytes into a canvas. */
export function drawDigit(canvas: HTMLCanvasElement, pixels: Uint8Array): void {
  paintGray(canvas, pixels, 28, 28, { low: 0, high: 255 });
}

/**
 * The confusion matrix as a table: a header row of predicted digits, a row per true digit,
 * each cell's count shaded by its share of the row (the diagonal in ink, errors in red).
 */
export function drawConfusion(table: HTMLTableElement, confusion: Uint32Array): void {
  for (const old of [...table.querySelectorAll('thead, tbody')]) old.remove();
  const head = table.createTHead().insertRow();
  const corner = document.createElement('th');
  corner.textContent = 'true \\ predicted';
  corner.scope = 'col';
  head.append(corner);
  for (let p = 0; p < kClasses; p++) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(p);
    head.append(th);
  }
  const body = table.createTBody();
  for (let t = 0; t < kClasses; t++) {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = String(t);
    row.append(th);
    let total = 0;
    for (let p = 0; p < kClasses; p++) total += confusion[t * kClasses + p]!;
    for (let p = 0; p < kClasses; p++) {
      const count = confusion[t * kClasses + p]!;
      const cell = row.insertCell();
      cell.textContent = String(count);
      const share = total ? count / total : 0;
      cell.className = t === p ? 'hit' : count > 0 ? 'miss' : 'zero';
      // Set through the CSSOM (allowed by the page's policy, unlike a style attribute).
      cell.style.setProperty('--share', share.toFixed(3));
    }
  }
}

/** The worst-classified digits, each with what it is, what the network said, and its confidence. */
export function drawWorst(list: HTMLElement, worst: readonly Misread[]): void {
  list.replaceChildren();
  for (const w of worst) {
    const item = document.createElement('li');
    const canvas = pictureCanvas('worst-image', `Test image ${w.index}: a ${w.label}, read as ${w.predicted}`);
    drawDigit(canvas, w.pixels);
    const caption = document.createElement('span');
    caption.textContent = `${w.label} → ${w.predicted} (p(${w.label}) ${(100 * w.trueProbability).toFixed(1)}%)`;
    item.append(canvas, caption);
    list.append(item);
  }
  if (worst.length === 0) {
    const item = document.createElement('li');
    item.textContent = 'None: every test image is classified right.';
    list.append(item);
  }
}
