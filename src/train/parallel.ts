/**
 * Data parallelism over worker threads. Every buffer the threads share lives in a
 * SharedArrayBuffer: the images, the epoch's order and distortions, the parameters (written
 * only by the main thread, between steps) and one gradient vector per replica. A step splits
 * the mini-batch into one contiguous slice per replica; the main thread then adds the
 * replicas' gradients in replica order, so a seed gives the same weights on every run.
 *
 * With `workers: 0` the single replica runs on the main thread (tests, tiny machines).
 */
import { Worker } from 'node:worker_threads';
import type { ModelSpec, Preprocessing } from '../model/spec.js';
import { kAffineValues } from './augment.js';
import { parameterLayout } from './network.js';
import { Replica, type ImageSet, type SliceResult } from './replica.js';

/** Everything a replica needs, as sent to a worker thread (all arrays are shared). */
export interface ReplicaSetup {
  readonly spec: ModelSpec;
  readonly preprocessing: Preprocessing;
  readonly fixed: ReadonlyArray<readonly [string, Float32Array]>;
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly order: Int32Array;
  readonly affine: Float32Array;
  readonly predictions: Uint8Array;
}

/** Messages from the main thread to a worker. */
export type WorkerRequest =
  | { readonly kind: 'gradients'; readonly from: number; readonly to: number; readonly augment: boolean }
  | { readonly kind: 'evaluate'; readonly set: 'train' | 'test'; readonly from: number; readonly to: number };

/** A worker's answer: the slice's loss sum and hit count (evaluate: hits only). */
export type WorkerReply = SliceResult;

/**
 * Starts a worker thread. Run from TypeScript source, the worker is worker.ts and a small
 * bootstrap registers tsx in the thread first: worker threads do not inherit the parent's
 * loader hooks, and Node 20 ignores `--import` in a worker's execArgv for its entry module.
 */
function startWorker(workerData: ReplicaSetup): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

function shared<T extends Float32Array | Int32Array | Uint8Array>(
  make: new (buffer: SharedArrayBuffer) => T,
  bytesPer: number,
  length: number,
): T {
  return new make(new SharedArrayBuffer(Math.max(1, length) * bytesPer));
}

function sharedCopy(source: Uint8Array): Uint8Array {
  const copy = shared(Uint8Array, 1, source.length);
  copy.set(source);
  return copy;
}

/**
 * @example
 * const pool = await ReplicaPool.create({ spec, preprocessing, fixed, train, test, workers: 2 });
 * pool.params.set(initial);
 * const { lossSum } = await pool.gradients(0, 32, false); // pool.grads holds the batch sum
 * await pool.close();
 */
export class ReplicaPool {
  /** Summed gradient of the last `gradients` call. */
  readonly grads: Float32Array;
  private readonly replicaGrads: Float32Array[] = [];
  private readonly workers: Worker[] = [];
  private readonly local: Replica | null = null;

  private constructor(
    readonly setup: ReplicaSetup,
    workerCount: number,
  ) {
    const size = setup.params.length;
    this.grads = new Float32Array(size);
    const fixed = new Map(setup.fixed);
    if (workerCount === 0) {
      this.local = new Replica(setup.spec, setup.preprocessing, setup.params, setup.grads, fixed);
      this.replicaGrads.push(setup.grads);
      return;
    }
    for (let w = 0; w < workerCount; w++) {
      const grads = shared(Float32Array, 4, size);
      this.replicaGrads.push(grads);
      this.workers.push(startWorker({ ...setup, grads }));
    }
  }

  static create(options: {
    spec: ModelSpec;
    preprocessing: Preprocessing;
    fixed: ReadonlyMap<string, Float32Array>;
    train: ImageSet;
    test: ImageSet;
    workers: number;
  }): ReplicaPool {
    const size = parameterLayout(options.spec).size;
    const toShared = (set: ImageSet): ImageSet => ({ images: sharedCopy(set.images), labels: sharedCopy(set.labels), count: set.count });
    const fixed = [...options.fixed].map(([name, data]): [string, Float32Array] => {
      const copy = shared(Float32Array, 4, data.length);
      copy.set(data);
      return [name, copy];
    });
    return new ReplicaPool(
      {
        spec: options.spec,
        preprocessing: options.preprocessing,
        fixed,
        train: toShared(options.train),
        test: toShared(options.test),
        params: shared(Float32Array, 4, size),
        grads: shared(Float32Array, 4, size),
        order: shared(Int32Array, 4, options.train.count),
        affine: shared(Float32Array, 4, options.train.count * kAffineValues),
        predictions: shared(Uint8Array, 1, Math.max(options.train.count, options.test.count)),
      },
      options.workers,
    );
  }

  get params(): Float32Array {
    return this.setup.params;
  }

  /** Epoch order of training images (the main thread fills it). */
  get order(): Int32Array {
    return this.setup.order;
  }

  /** Distortion per position of the epoch order (the main thread fills it). */
  get affine(): Float32Array {
    return this.setup.affine;
  }

  /** Predictions of the last `evaluate`, indexed by image. */
  get predictions(): Uint8Array {
    return this.setup.predictions;
  }

  /** Gradient summed over training positions [from, to) of the epoch order, into `grads`. */
  async gradients(from: number, to: number, augment: boolean): Promise<SliceResult> {
    const results = await this.split(from, to, (a, b) => ({ kind: 'gradients', from: a, to: b, augment }));
    this.grads.set(this.replicaGrads[0]!);
    for (let r = 1; r < this.replicaGrads.length; r++) {
      const g = this.replicaGrads[r]!;
      for (let i = 0; i < g.length; i++) this.grads[i] = this.grads[i]! + g[i]!;
    }
    return results;
  }

  /** Classifies a whole set with the current parameters; returns the hit count. */
  async evaluate(set: 'train' | 'test'): Promise<number> {
    const count = set === 'train' ? this.setup.train.count : this.setup.test.count;
    return (await this.split(0, count, (a, b) => ({ kind: 'evaluate', set, from: a, to: b }))).correct;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private async split(from: number, to: number, request: (a: number, b: number) => WorkerRequest): Promise<SliceResult> {
    if (this.local) return runRequest(this.local, this.setup, request(from, to));
    const n = this.workers.length;
    const replies = await Promise.all(
      this.workers.map((worker, w) => {
        const a = from + Math.floor(((to - from) * w) / n);
        const b = from + Math.floor(((to - from) * (w + 1)) / n);
        return ask(worker, request(a, b));
      }),
    );
    return replies.reduce((sum, r) => ({ lossSum: sum.lossSum + r.lossSum, correct: sum.correct + r.correct }), { lossSum: 0, correct: 0 });
  }
}

function ask(worker: Worker, request: WorkerRequest): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    const onMessage = (reply: WorkerReply) => {
      worker.off('error', onError);
      resolve(reply);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(request);
  });
}

/** Runs one request on a replica (in a worker, or on the main thread). */
export function runRequest(replica: Replica, setup: ReplicaSetup, request: WorkerRequest): SliceResult {
  if (request.kind === 'gradients') {
    return replica.gradients(setup.train, setup.order, request.from, request.to, request.augment ? setup.affine : null);
  }
  const set = request.set === 'train' ? setup.train : setup.test;
  return { lossSum: 0, correct: replica.evaluate(set, request.from, request.to, setup.predictions) };
}
