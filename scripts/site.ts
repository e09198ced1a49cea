/**
 * The site as the scripts that open its pages serve it (the benchmark, the training page's
 * measurement): built by `vite build` into a temporary folder and served by `vite preview`,
 * as a user gets it from a static host, or the sources through Vite's dev server. On
 * 127.0.0.1 (WebGPU needs a secure context), on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A served site: its origin, and `close()` to stop the server and remove a built copy. */
export interface ServedSite {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** What serves it, in words (for a run's record). */
  readonly how: string;
  close(): Promise<void>;
}

/**
 * Builds and serves the site (`dev: false`), or serves the sources (`dev: true`).
 *
 * @example
 * const site = await serveSite({ dev: false, log: (line) => process.stderr.write(`${line}\n`) });
 * try { await page.goto(`${site.origin}/train.html`); } finally { await site.close(); }
 */
export async function serveSite(options: { readonly dev: boolean; readonly log?: (line: string) => void }): Promise<ServedSite> {
  const vite = await import('vite');
  if (options.dev) {
    const server = await vite.createServer({ logLevel: 'warn', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
    await server.listen();
    const { port } = server.httpServer!.address() as AddressInfo;
    return { origin: `http://127.0.0.1:${port}`, how: "the sources through Vite's dev server", close: () => server.close() };
  }
  const site = mkdtempSync(join(tmpdir(), 'lenet5-site-'));
  const remove = () => rmSync(site, { recursive: true, force: true });
  // Also when the process exits before close() (a script's Ctrl-C handler during the build).
  process.once('exit', remove);
  try {
    options.log?.(`building the site into ${site}`);
    await vite.build({ logLevel: 'warn', build: { outDir: site, emptyOutDir: true } });
    const server = await vite.preview({ logLevel: 'warn', build: { outDir: site }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    const { port } = server.httpServer.address() as AddressInfo;
    return {
      origin: `http://127.0.0.1:${port}`,
      how: 'the built site (vite build, served by vite preview)',
      async close() {
        await server.close().catch(() => undefined);
        remove();
        process.off('exit', remove);
      },
    };
  } catch (e) {
    remove();
    process.off('exit', remove);
    throw e;
  }
}
