/**
 * The drawing pad: a canvas that takes strokes from a mouse, a finger or a pen through pointer
 * events, and hands its ink (the alpha channel) to `digitize`.
 */
import { inkFromRgba, type InkImage } from './digitize.js';

/** Side of the pad's backing store in canvas pixels, whatever its size on screen. */
export const kPadResolution = 280;
/**
 * Stroke width in canvas pixels. A digit drawn across most of the pad then has strokes about
 * 2 px wide once scaled to MNIST's 20 px box, as MNIST's pen strokes are.
 */
const kStrokeWidth = 22;

/**
 * A square canvas to draw on. Calls `onChange` after every piece of stroke, so the page can
 * classify while the digit is being drawn.
 *
 * @example
 * const pad = new DrawingPad(canvas, () => schedulePrediction());
 * pad.clear();
 */
export class DrawingPad {
  private readonly context: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;
  private activePointer: number | null = null;
  private drawn = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    canvas.width = kPadResolution;
    canvas.height = kPadResolution;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('the drawing pad needs a 2D canvas context');
    this.context = context;
    canvas.addEventListener('pointerdown', (e) => this.start(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture'] as const) {
      canvas.addEventListener(type, (e) => this.end(e));
    }
  }

  /** True once anything has been drawn since the last clear. */
  get hasInk(): boolean {
    return this.drawn;
  }

  /** Wipes the pad (without calling `onChange`: the caller decides what comes next). */
  clear(): void {
    this.context.clearRect(0, 0, kPadResolution, kPadResolution);
    this.drawn = false;
    this.last = null;
  }

  /** The ink on the pad, 0..1 per canvas pixel. */
  ink(): InkImage {
    return inkFromRgba(this.context.getImageData(0, 0, kPadResolution, kPadResolution));
  }

  private start(event: PointerEvent): void {
    if (this.activePointer !== null || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    this.activePointer = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    this.last = this.toCanvas(event);
    this.dot(this.last);
    this.onChange();
  }

  private move(event: PointerEvent): void {
    if (event.pointerId !== this.activePointer || !this.last) return;
    event.preventDefault();
    // Coalesced events keep fast strokes smooth: the browser may merge several moves into one.
    const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      const point = this.toCanvas(e);
      this.segment(this.last, point);
      this.last = point;
    }
    this.onChange();
  }

  private end(event: PointerEvent): void {
    if (event.pointerId !== this.activePointer) return;
    this.activePointer = null;
    this.last = null;
  }

  private toCanvas(event: PointerEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * kPadResolution,
      y: ((event.clientY - rect.top) / rect.height) * kPadResolution,
    };
  }

  private dot(at: { x: number; y: number }): void {
    const c = this.context;
    c.fillStyle = '#000';
    c.beginPath();
    c.arc(at.x, at.y, kStrokeWidth / 2, 0, 2 * Math.PI);
    c.fill();
    this.drawn = true;
  }

  private segment(from: { x: number; y: number }, to: { x: number; y: number }): void {
    const c = this.context;
    c.strokeStyle = '#000';
    c.lineWidth = kStrokeWidth;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(from.x, from.y);
    c.lineTo(to.x, to.y);
    c.stroke();
    this.drawn = true;
  }
}
