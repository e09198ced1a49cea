/**
 * tfjs's WASM backend with its binaries served by this site (Vite `?url`), nothing fetched
 * from elsewhere. Imported only when the WASM backend is asked for.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/**
 * Points tfjs's WASM backend at this site's copies of its binaries (absolute URLs: the
 * backend would resolve a relative one against its script's folder). A function to call, not
 * a module-level statement, so that a bundler told the package has no side effects keeps it.
 *
 * @example
 * useSiteWasmFiles();
 * await tf.setBackend('wasm');
 */
export function useSiteWasmFiles(): void {
  const absolute = (url: string) => new URL(url, document.baseURI).href;
  setWasmPaths({
    'tfjs-backend-wasm.wasm': absolute(wasmUrl),
    'tfjs-backend-wasm-simd.wasm': absolute(wasmSimdUrl),
    'tfjs-backend-wasm-threaded-simd.wasm': absolute(wasmThreadedUrl),
  });
}
