// A Vite user's app against the installed package: the engine from the package root, the
// weights file's URL from the package's `./weights/*` export, one MNIST digit from public/.
import { createEngine } from 'lenet5-webgpu';
import weightsUrl from 'lenet5-webgpu/weights/seed.safetensors?url';

const output = document.querySelector<HTMLOutputElement>('#result')!;

async function main(): Promise<void> {
  const engine = await createEngine(weightsUrl, { backend: 'webgpu' });
  const digit = new Uint8Array(await (await fetch('./digit.bin')).arrayBuffer());
  const { classes } = await engine.infer(digit, 1);
  output.dataset['backend'] = engine.backend;
  output.dataset['adapter'] = engine.adapterName;
  output.dataset['digit'] = String(classes[0]);
  output.textContent = String(classes[0]);
  engine.destroy();
}

main().catch((e: unknown) => {
  output.dataset['error'] = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  output.textContent = output.dataset['error'];
});
