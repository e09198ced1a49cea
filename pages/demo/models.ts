/**
 * The page's models: the two shipped weights files and the visitor's own (safetensors,
 * PyTorch .pth/.pt or ONNX), each behind an engine created on first use and kept, so
 * switching back and forth is instant. A file that fails to load leaves the current model in
 * place. The visitor's file's bytes are kept, so it can be run again as another preset (a
 * PyTorch state_dict does not say which network it holds) without asking for the file again.
 */
import classicUrl from '../../weights/classic.safetensors?url';
import seedUrl from '../../weights/seed.safetensors?url';
import { createEngine, readWeightsFile, WebGPUUnavailableError, type Backend, type InferenceEngine } from '../../src/index.js';

export type ModelChoice = 'classic' | 'seed' | 'file';

const kShipped: Record<Exclude<ModelChoice, 'file'>, string> = { classic: classicUrl, seed: seedUrl };

/** The visitor's file: its name, its bytes, and whether it declares its own network. */
interface LoadedFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** ONNX graph, or safetensors with the architecture in its metadata: a preset does not apply. */
  readonly declares: boolean;
}

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
  private file: LoadedFile | null = null;
  /** Counts choices made, so a slow one finishing late does not undo a later one. */
  private choices = 0;
  /** An engine over weights taught on the visitor's drawings, in place of the choice's own until reset. */
  private taughtEngine: InferenceEngine | null = null;

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
    return this.file?.name ?? '';
  }

  /** The visitor's file's engine, or null before one is loaded. */
  get fileEngine(): InferenceEngine | null {
    return this.engines.get('file') ?? null;
  }

  /** Whether the visitor's file declares its own network (ONNX graph, safetensors metadata). */
  get fileDeclaresArchitecture(): boolean {
    return this.file?.declares ?? false;
  }

  /** The current choice's own engine (its shipped or loaded weights), also while taught weights run. */
  get untaught(): InferenceEngine {
    return this.engines.get(this.choice) ?? this.current;
  }

  /** Whether the current engine runs taught weights. */
  get taught(): boolean {
    return this.taughtEngine !== null;
  }

  /** Makes `engine` (over weights taught from the current choice's) current, until `resetTaught` or another choice. */
  useTaught(engine: InferenceEngine): void {
    const previous = this.taughtEngine;
    this.taughtEngine = engine;
    this.current = engine;
    previous?.destroy();
  }

  /** Back to the current choice's own weights. */
  resetTaught(): InferenceEngine {
    this.dropTaught();
    this.current = this.untaught;
    return this.current;
  }

  private dropTaught(): void {
    this.taughtEngine?.destroy();
    this.taughtEngine = null;
  }

  /**
   * Makes `choice` current, creating its engine on first use. Resolves null, changing
   * nothing, when another choice or file was made while the engine was being created.
   */
  async select(choice: ModelChoice): Promise<InferenceEngine | null> {
    const ticket = ++this.choices;
    let engine = this.engines.get(choice);
    if (!engine) {
      if (choice === 'file') throw new Error('no weights file has been loaded yet');
      engine = await createEngine(kShipped[choice], { backend: this.backend });
      this.engines.set(choice, engine);
    }
    if (ticket !== this.choices) return null;
    this.dropTaught();
    this.choice = choice;
    this.current = engine;
    return engine;
  }

  /**
   * Loads the visitor's weights file and makes it current. `preset` names the network for a
   * file that does not say (a state_dict); a file that declares its own network ignores it.
   * Throws the loader's error (typed, with a message for people) and changes nothing when
   * the file is bad.
   */
  async loadFile(bytes: Uint8Array, name: string, preset?: string): Promise<InferenceEngine> {
    // Read once to learn whether the file names its network (a bad file fails here already).
    const declares = readWeightsFile(bytes).architecture !== undefined;
    return this.useFile({ name, bytes, declares }, preset);
  }

  /**
   * Runs the loaded file again as `preset` (undefined: as its tensors suggest). Throws, and
   * changes nothing, when the file's tensors do not fit that preset.
   */
  async reloadFile(preset: string | undefined): Promise<InferenceEngine> {
    if (!this.file) throw new Error('no weights file has been loaded yet');
    return this.useFile(this.file, preset);
  }

  private async useFile(file: LoadedFile, preset: string | undefined): Promise<InferenceEngine> {
    const architecture = preset && !file.declares ? { architecture: preset } : {};
    const engine = await createEngine(file.bytes, { backend: this.backend, ...architecture });
    this.choices++;
    const previous = this.engines.get('file');
    this.engines.set('file', engine);
    this.file = file;
    this.dropTaught();
    this.choice = 'file';
    this.current = engine;
    previous?.destroy();
    return engine;
  }
}
