/**
 * Drawing on the demo's pad with the mouse, as a visitor does: strokes in pad coordinates and
 * the ten digits as a person would draw them (shared by the demo specs).
 */
import type { Page } from '@playwright/test';

/** A stroke as points in pad coordinates, 0..1 across and down. */
export type Stroke = ReadonlyArray<readonly [number, number]>;

/** Points along an elliptical arc, angles in degrees (0 = right, 90 = down), as a pen moves. */
export function arc(cx: number, cy: number, rx: number, ry: number, from: number, to: number, points = 16): Stroke {
  return Array.from({ length: points + 1 }, (_, i) => {
    const angle = ((from + ((to - from) * i) / points) * Math.PI) / 180;
    return [cx + rx * Math.cos(angle), cy + ry * Math.sin(angle)] as const;
  });
}

/** The ten digits as a person would draw them with a mouse. */
export const kDigits: Record<string, Stroke[]> = {
  '0': [arc(0.5, 0.5, 0.2, 0.32, -90, -460, 38)],
  '1': [[[0.52, 0.15], [0.5, 0.5], [0.48, 0.85]]],
  '2': [[...arc(0.5, 0.33, 0.18, 0.15, 200, 380), [0.32, 0.82], [0.72, 0.82]]],
  '3': [[...arc(0.48, 0.33, 0.17, 0.15, 200, 450), ...arc(0.48, 0.65, 0.19, 0.18, 270, 500)]],
  '4': [[[0.55, 0.15], [0.3, 0.6], [0.75, 0.6]], [[0.6, 0.35], [0.6, 0.88]]],
  '5': [[[0.68, 0.18], [0.36, 0.18], [0.33, 0.46], ...arc(0.49, 0.62, 0.19, 0.19, 230, 500)]],
  '6': [[[0.62, 0.15], ...arc(0.5, 0.64, 0.18, 0.2, 200, 560)]],
  '7': [[[0.28, 0.2], [0.72, 0.2], [0.58, 0.45], [0.45, 0.85]]],
  '8': [[...arc(0.5, 0.32, 0.15, 0.15, 90, 450), ...arc(0.5, 0.65, 0.18, 0.18, -90, 270)]],
  '9': [[...arc(0.5, 0.34, 0.17, 0.17, 0, 360), [0.67, 0.34], [0.63, 0.86]]],
};

export async function draw(page: Page, strokes: readonly Stroke[]): Promise<void> {
  const pad = page.getByLabel('Drawing pad');
  await pad.scrollIntoViewIfNeeded(); // the model switch lies below it on small screens
  const box = await pad.boundingBox();
  if (!box) throw new Error('the drawing pad is not visible');
  const at = ([x, y]: readonly [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  for (const stroke of strokes) {
    await page.mouse.move(...at(stroke[0]!));
    await page.mouse.down();
    for (const point of stroke.slice(1)) await page.mouse.move(...at(point), { steps: 6 });
    await page.mouse.up();
  }
}
