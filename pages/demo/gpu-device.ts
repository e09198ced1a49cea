/**
 * The one GPU device the page's GPU tools share — saliency, teaching and the engines over taught
 * weights — so their pipelines are compiled once (the pipeline cache is per device). Requested
 * on first use, with the features the engine's fastest kernels use; requested again after a loss.
 */
import { recommendedFeatures } from '../../src/index.js';

let shared: Promise<GPUDevice> | null = null;

/**
 * @example
 * const saliency = await createSaliency(engine.weights, { device: await demoDevice() });
 */
export function demoDevice(): Promise<GPUDevice> {
  if (!shared) {
    shared = (async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      if (!adapter) throw new Error('this browser gives no WebGPU adapter');
      const device = await adapter.requestDevice({ label: 'demo.tools.device', requiredFeatures: recommendedFeatures(adapter) });
      void device.lost.then(() => {
        shared = null;
      });
      return device;
    })();
    shared.catch(() => {
      shared = null;
    });
  }
  return shared;
}
