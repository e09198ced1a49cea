/**
 * The page's models: the two shipped weights files and the visitor's own, each behind an
 * engine created on first use and kept, so switching back and forth is instant. A file that
 * fails to load leaves the current model in place.
 */
import classicUrl from '../../weights/classic.safetensors?url';
import seedUrl from '../../weights/seed.safetensors?url';
import { createEngine, WebGPUUnavailableError, type Backend, type InferenceEngine } from '../../src/index.js';

export type ModelChoice = 'classic' | 'seed' | 'file';

const kShipped: Record<Exclude<ModelChoice, 'file'>, string> = { classic: classicUrl, seed: seedUrl };

/**
 * Engines by choice, all on one backend. The backend is WebGPU where the browser has it and
 * the CPU reference engine otherwise; `fallbackReason` says why the CPU was chosen.
 *
 * @example
 * const models = await Models.start('classic');
 * await models.select('seed');
 * models.current.infer(pixels, 1);
 */
export class Models {
  private readonly engines = new Map<ModelChoice, InferenceEngine>();
  private fileName = '';

  private constructor(
    private backend: Backend,
    public fallbackReason: string | null,
    public choice: ModelChoice,
    public current: InferenceEngine,
  ) {
    this.engines.set(choice, current);
  }

  /** Creates the first engine: WebGPU when `navigator.gpu` gives a device, else the CPU. */
  static async start(choice: Exclude<ModelChoice, 'file'>): Promise<Models> {
    if (!('gpu' in navigator) || !navigator.gpu) {
      const engine = await createEngine(kShipped[choice], { backend: 'cpu' });
      return new Models('cpu', 'This browser has no WebGPU (navigator.gpu is missing).', choice, engine);
    }
    try {
      return new Models('webgpu', null, choice, await createEngine(kShipped[choice], { backend: 'webgpu' }));
    } catch (e) {
      if (!(e instanceof WebGPUUnavailableError)) throw e;
      const engine = await createEngine(kShipped[choice], { backend: 'cpu' });
      return new Models('cpu', e.message, choice, engine);
    }
  }

  /** The name of the visitor's loaded file, or '' before one is loaded. */
  get loadedFileName(): string {
    return this.fileName;
  }

  /** Makes `choice` current, creating its engine on first use. */
  async select(choice: ModelChoice): Promise<InferenceEngine> {
    let engine = this.engines.get(choice);
    if (!engine) {
      if (choice === 'file') throw new Error('no weights file has been loaded yet');
      engine = await createEngine(kShipped[choice], { backend: this.backend });
      this.engines.set(choice, engine);
    }
    this.choice = choice;
    this.current = engine;
    return engine;
  }

  /**
   * Loads the visitor's weights file and makes it current. Throws the loader's error (typed,
   * with a message for people) and changes nothing when the file is bad.
   */
  async loadFile(bytes: Uint8Array, name: string): Promise<InferenceEngine> {
    const engine = await createEngine(bytes, { backend: this.backend });
    const previous = this.engines.get('file');
    this.engines.set('file', engine);
    this.fileName = name;
    this.choice = 'file';
    this.current = engine;
    previous?.destroy();
    return engine;
  }
}
