/**
 * The picture input that takes the drawing pad's place for a colour model: a picture from a
 * file, a drop or the camera, cropped to its centre square and shown, then made into the
 * model's input by picture.ts (area resampling to the model's side, planar RGB). The cropped
 * square is kept (at most kKeptSide pixels a side), so a model of another size reads the same
 * picture again without asking for it.
 */
import { centreSquare, pictureInput, type RgbaImage } from './picture.js';

/** Side the cropped square is kept at, at most: far above any LeNet's input, small to hold. */
const kKeptSide = 512;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo page: element #${id} is missing`);
  return element as T;
}

/** A picture as the page keeps it: its cropped square's pixels, and where it came from. */
interface KeptPicture {
  readonly square: RgbaImage;
  /** For people: 'photo.jpg, 640×480' or 'the camera, 1280×720'. */
  readonly source: string;
}

/** The camera, where the browser gives the page one (a secure context, a device, permission). */
function cameraApi(): MediaDevices['getUserMedia'] | null {
  const devices = navigator.mediaDevices as MediaDevices | undefined;
  return devices && typeof devices.getUserMedia === 'function' ? devices.getUserMedia.bind(devices) : null;
}

/**
 * The file button, the camera's buttons and the shown picture. Calls `onPicture` when a new
 * picture is ready; `pixels(channels, size)` gives it as a model of that input reads it.
 *
 * @example
 * const pictures = new PictureInput(() => schedulePrediction());
 * const pixels = pictures.pixels(3, 32); // null before a picture is given
 */
export class PictureInput {
  private readonly shown = byId<HTMLCanvasElement>('picture');
  private readonly video = byId<HTMLVideoElement>('camera');
  private readonly error = byId('picture-error');
  private readonly startButton = byId<HTMLButtonElement>('camera-start');
  private readonly snapButton = byId<HTMLButtonElement>('camera-snap');
  private readonly stopButton = byId<HTMLButtonElement>('camera-stop');
  private picture: KeptPicture | null = null;
  private stream: MediaStream | null = null;

  constructor(private readonly onPicture: () => void) {
    this.shown.hidden = true; // until a picture is given
    const input = byId<HTMLInputElement>('picture-file');
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      if (file) void this.fromFile(file);
      input.value = ''; // so picking the same picture again fires `change` again
    });
    if (!cameraApi()) {
      this.startButton.disabled = true;
      this.startButton.title = 'No camera here';
      byId('picture-hint').textContent +=
        ' No camera here: this browser gives the page no navigator.mediaDevices.getUserMedia (it needs https or localhost, and a browser that has it).';
    }
    this.startButton.addEventListener('click', () => void this.startCamera());
    this.snapButton.addEventListener('click', () => this.snap());
    this.stopButton.addEventListener('click', () => this.stopCamera());
  }

  /** Shows or hides the picture input (hiding it stops the camera). */
  set visible(visible: boolean) {
    byId('picture-input').hidden = !visible;
    if (!visible) this.stopCamera();
  }

  /** A short description of the current picture, or '' before one is given. */
  get source(): string {
    return this.picture?.source ?? '';
  }

  /**
   * The current picture as `channels` planes of `size` × `size` intensities in [0, 1], or null
   * before a picture is given.
   */
  pixels(channels: number, size: number): Float32Array | null {
    return this.picture ? pictureInput(this.picture.square, size, channels) : null;
  }

  /** Decodes a picture file (from the button or a drop) and makes it current. */
  async fromFile(file: Blob, name = file instanceof File ? file.name : 'your picture'): Promise<void> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (e) {
      this.showError(`Could not read ${name} as a picture: ${(e as Error).message || String(e)}`);
      return;
    }
    try {
      this.keep(bitmap, bitmap.width, bitmap.height, `${name}, ${bitmap.width}×${bitmap.height}`);
    } finally {
      bitmap.close();
    }
  }

  /** Draws the centre square of `source` over white (no transparency), at most kKeptSide a side, and keeps it. */
  private keep(source: CanvasImageSource, width: number, height: number, description: string): void {
    if (!(width > 0 && height > 0)) {
      this.showError(`The picture is empty (${width}×${height} pixels).`);
      return;
    }
    const { left, top, side } = centreSquare(width, height);
    const kept = Math.min(side, kKeptSide);
    this.shown.width = kept;
    this.shown.height = kept;
    const context = this.shown.getContext('2d', { willReadFrequently: true });
    if (!context) {
      this.showError('This browser gives the page no 2D canvas to read the picture with.');
      return;
    }
    context.fillStyle = '#fff';
    context.fillRect(0, 0, kept, kept);
    context.imageSmoothingQuality = 'high';
    context.drawImage(source, left, top, side, side, 0, 0, kept, kept);
    this.picture = { square: context.getImageData(0, 0, kept, kept), source: description };
    this.error.hidden = true;
    this.shown.hidden = false;
    this.onPicture();
  }

  private async startCamera(): Promise<void> {
    const getUserMedia = cameraApi();
    if (!getUserMedia) return;
    try {
      this.stream = await getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch (e) {
      const error = e as DOMException;
      this.showError(`The camera could not be started: ${error.name ? `${error.name}: ` : ''}${error.message}`);
      return;
    }
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => undefined); // a muted inline video plays; if not, the frame still arrives
    this.video.hidden = false;
    this.shown.hidden = true;
    this.startButton.hidden = true;
    this.snapButton.hidden = false;
    this.stopButton.hidden = false;
    this.error.hidden = true;
  }

  /** Takes the camera's current frame as the picture. */
  private snap(): void {
    const { videoWidth, videoHeight } = this.video;
    if (!(videoWidth > 0 && videoHeight > 0)) {
      this.showError('The camera has not sent a picture yet; try again in a moment.');
      return;
    }
    this.keep(this.video, videoWidth, videoHeight, `the camera, ${videoWidth}×${videoHeight}`);
    this.shown.hidden = true; // the live preview stays in its place
  }

  private stopCamera(): void {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    this.shown.hidden = this.picture === null;
    this.startButton.hidden = false;
    this.snapButton.hidden = true;
    this.stopButton.hidden = true;
  }

  private showError(message: string): void {
    this.error.textContent = message;
    this.error.hidden = false;
  }
}
