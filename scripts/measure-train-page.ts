/**
 * `npm run measure:train-page [-- OPTIONS]`: the training page's run as a visitor makes it, in
 * headless Chromium (WebGPU; SwiftShader where there is no GPU), and what the page says at
 * the end. The site is built and served as a static host would (scripts/site.ts; --dev serves
 * the sources), train.html opens in a fresh browser profile, the form is left at the page's
 * defaults except for the options given (by default: the PyTorch tutorial net with the page's
 * optimizer, learning rate and batch, one epoch of all 60,000 training images, scored on all
 * 10,000 test images), Train is pressed, and the script waits for the page's own end: the
 * 'done' state, or an error the page shows. Printed: the page's status line (steps, the time
 * the run took, images/s, test accuracy), its test accuracy, images/s and trainer (adapter),
 * the browser, the machine and its load at the start and the end. Exit status 1 when the page
 * shows an error, the run does not end within --timeout-min, or the accuracy is below
 * --min-accuracy; 2 for a wrong command line.
 *
 * @example
 * npm run measure:train-page                                          # the full epoch
 * npm run measure:train-page -- --train-images 1000 --test-images 1000  # a quick check
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseCommandLine, positiveInteger, runMain, UsageError } from './cli.js';

const kUsage = `npm run measure:train-page [-- OPTIONS]   (the training page in headless Chromium, to its end)

  --model NAME         the page's network (default pytorch-tutorial)
  --optimizer NAME     adam or sgd (default: the page's)
  --lr X               learning rate (default: the page's for the optimizer)
  --batch N            batch size, one of the page's choices (default: the page's)
  --epochs N           epochs (default: the page's, 1)
  --train-images N     training images, one of the page's choices (default: the page's, all 60,000)
  --test-images N      test images, one of the page's choices (default: the page's, all 10,000)
  --seed N             the page's seed (default: the page's)
  --distort            distort the training digits (default: the page's, off)
  --min-accuracy PCT   exit 1 when the test accuracy the page shows is below PCT (e.g. 98)
  --timeout-min N      give up after N minutes (default 60)
  --dev                serve the sources through Vite's dev server instead of building the site
  --json FILE          also write the figures as JSON
  -h, --help           this text`;

/** How often the page's progress is copied to stderr. */
const kProgressEveryMs = 30_000;

interface Args {
  readonly model: string;
  readonly optimizer?: string;
  readonly lr?: string;
  readonly batch?: string;
  readonly epochs?: string;
  readonly trainImages?: string;
  readonly testImages?: string;
  readonly seed?: string;
  readonly distort: boolean;
  readonly minAccuracy?: number;
  readonly timeoutMin: number;
  readonly dev: boolean;
  readonly json?: string;
}

function parse(): Args | 'help' {
  const { values } = parseCommandLine({
    options: {
      model: { type: 'string', default: 'pytorch-tutorial' },
      optimizer: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      epochs: { type: 'string' },
      'train-images': { type: 'string' },
      'test-images': { type: 'string' },
      seed: { type: 'string' },
      distort: { type: 'boolean', default: false },
      'min-accuracy': { type: 'string' },
      'timeout-min': { type: 'string', default: '60' },
      dev: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  // Numbers the page validates itself (lr, seed) go to it as typed: its error is the answer.
  if (values.optimizer !== undefined && values.optimizer !== 'adam' && values.optimizer !== 'sgd') throw new UsageError(`--optimizer must be adam or sgd, found '${values.optimizer}'`);
  for (const option of ['batch', 'epochs', 'train-images', 'test-images'] as const) if (values[option] !== undefined) positiveInteger(option, values[option]);
  let minAccuracy: number | undefined;
  if (values['min-accuracy'] !== undefined) {
    minAccuracy = Number(values['min-accuracy']);
    if (!(minAccuracy >= 0 && minAccuracy <= 100)) throw new UsageError(`--min-accuracy must be a percentage from 0 to 100, found '${values['min-accuracy']}'`);
  }
  return {
    model: values.model,
    ...(values.optimizer === undefined ? {} : { optimizer: values.optimizer }),
    ...(values.lr === undefined ? {} : { lr: values.lr }),
    ...(values.batch === undefined ? {} : { batch: values.batch }),
    ...(values.epochs === undefined ? {} : { epochs: values.epochs }),
    ...(values['train-images'] === undefined ? {} : { trainImages: values['train-images'] }),
    ...(values['test-images'] === undefined ? {} : { testImages: values['test-images'] }),
    ...(values.seed === undefined ? {} : { seed: values.seed }),
    distort: values.distort,
    ...(minAccuracy === undefined ? {} : { minAccuracy }),
    timeoutMin: positiveInteger('timeout-min', values['timeout-min']),
    dev: values.dev,
    ...(values.json === undefined ? {} : { json: values.json }),
  };
}

const machineLoad = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** Chooses `value` in the page's <select id>, or a UsageError that lists the page's choices. */
async function choose(page: import('playwright').Page, id: string, option: string, value: string): Promise<void> {
  const choices = await page.locator(`#${id} option`).evaluateAll((options) => (options as HTMLOptionElement[]).filter((o) => !o.disabled).map((o) => o.value));
  if (!choices.includes(value)) throw new UsageError(`--${option}: the page offers ${choices.join(', ')}; found '${value}'`);
  await page.selectOption(`#${id}`, value);
}

/** The form's fields as the page will read them. */
const kFormFields = ['model', 'optimizer', 'lr', 'momentum', 'batch', 'epochs', 'train-images', 'test-images', 'seed'] as const;

/**
 * The form as the page will read it: each field's value (the network by its label), and the
 * distortions. (No named helpers inside `evaluate`: tsx would wrap them in a `__name` the page
 * does not have.)
 */
async function formSettings(page: import('playwright').Page): Promise<Record<string, string>> {
  const values = await page.evaluate(
    (ids) =>
      Object.fromEntries(
        ids.map((id) => {
          const element = document.getElementById(id) as HTMLInputElement | HTMLSelectElement;
          return [id, element instanceof HTMLSelectElement && id === 'model' ? (element.selectedOptions[0]?.text ?? element.value) : element.value];
        }),
      ),
    kFormFields,
  );
  const { momentum, ...rest } = values;
  const distort = await page.isChecked('#distort');
  return { ...rest, ...(values['optimizer'] === 'sgd' ? { momentum: momentum ?? '' } : {}), distort: String(distort) };
}

/** The elements whose text the page shows its run in, by what they mean. */
const kShown = {
  status: 'status',
  trainer: 'backend',
  imagesPerSecond: 'speed',
  timeLeft: 'eta',
  steps: 'steps',
  epoch: 'epoch',
  trainingLoss: 'train-loss',
  testAccuracy: 'test-accuracy',
  testNote: 'confusion-epoch',
  notice: 'no-webgpu',
} as const;

interface PageShows extends Record<keyof typeof kShown, string> {
  readonly state: string;
  /** The error the page shows ('' when none). */
  readonly error: string;
  /** The trainer in full (the trainer field's title: the adapter's name). */
  readonly adapter: string;
}

/** What the page shows: its state, status line, error, and the figures in the header and the curves card. */
async function pageShows(page: import('playwright').Page): Promise<PageShows> {
  const shown = await page.evaluate(
    (ids) => Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, document.getElementById(id)?.textContent?.trim() ?? ''])),
    kShown,
  );
  const more = await page.evaluate(() => ({
    state: document.body.dataset['state'] ?? '',
    error: document.getElementById('error')!.hidden ? '' : (document.getElementById('error')!.textContent ?? '').trim(),
    adapter: document.getElementById('backend')?.title ?? '',
  }));
  return { ...(shown as Record<keyof typeof kShown, string>), ...more };
}

async function main(): Promise<void> {
  const parsed = parse();
  if (parsed === 'help') return console.log(kUsage);
  const args = parsed;
  const [{ chromium }, { findChromium, kChromiumArgs }, { serveSite }] = await Promise.all([import('playwright'), import('./chromium.js'), import('./site.js')]);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cpu = cpus();
  const machine = `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const loadAtStart = machineLoad();
  console.log(`machine: ${machine}; load (1/5/15 min) ${loadAtStart} at the start`);

  let site: import('./site.js').ServedSite | undefined;
  let browser: import('playwright').Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await site?.close();
  };
  process.once('SIGINT', () => void close().then(() => process.exit(130)));
  try {
    site = await serveSite({ dev: args.dev, log });
    // A fresh temporary profile: MNIST is fetched as on a first visit.
    browser = await chromium.launch({ executablePath: findChromium(), args: kChromiumArgs });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${site.origin}/train.html`);
    // The page has started once it names its trainer.
    await page.waitForFunction(() => (document.getElementById('backend')?.textContent ?? '–') !== '–', undefined, { timeout: 60_000 });
    const userAgent = await page.evaluate(() => navigator.userAgent);
    console.log(`browser: Chromium ${browser.version()} (headless; ${userAgent}); site: ${site.how}`);

    await choose(page, 'model', 'model', args.model);
    if (args.optimizer) await page.selectOption('#optimizer', args.optimizer);
    if (args.lr) await page.fill('#lr', args.lr);
    if (args.batch) await choose(page, 'batch', 'batch', args.batch);
    if (args.epochs) await page.fill('#epochs', args.epochs);
    if (args.trainImages) await choose(page, 'train-images', 'train-images', args.trainImages);
    if (args.testImages) await choose(page, 'test-images', 'test-images', args.testImages);
    if (args.seed) await page.fill('#seed', args.seed);
    if (args.distort) await page.check('#distort');
    const settings = await formSettings(page);
    console.log(`settings (the page's form): ${Object.entries(settings).map(([k, v]) => `${k} ${v}`).join(', ')}`);

    const pressed = Date.now();
    await page.getByRole('button', { name: 'Train' }).click();
    const deadline = pressed + args.timeoutMin * 60_000;
    const remaining = () => Math.max(1, deadline - Date.now());
    const endedOrFailed = (states: readonly string[]) =>
      page.waitForFunction((s) => s.includes(document.body.dataset['state'] ?? '') || !document.getElementById('error')!.hidden, states, { timeout: remaining(), polling: 500 });

    const progress = setInterval(() => {
      void pageShows(page)
        .then((s) => log(`[${((Date.now() - pressed) / 1000).toFixed(0)} s] ${s.state}: step ${s.steps}, epoch ${s.epoch}, loss ${s.trainingLoss}, ${s.imagesPerSecond} images/s, time left ${s.timeLeft}; load ${machineLoad()}`))
        .catch(() => undefined);
    }, kProgressEveryMs);
    let startedTraining = pressed;
    let shows = await pageShows(page);
    try {
      // Loading (MNIST's 55 MB, the trainer's build) until the first step runs, then the run.
      await endedOrFailed(['training', 'done']);
      startedTraining = Date.now();
      shows = await pageShows(page);
      if (!shows.error) {
        log(`training after ${((startedTraining - pressed) / 1000).toFixed(1)} s of loading: ${shows.status}`);
        await endedOrFailed(['done']);
      }
    } catch (e) {
      shows = await pageShows(page).catch(() => shows);
      throw new Error(`the page did not finish within ${args.timeoutMin} min (--timeout-min); it says: ${shows.error || shows.status} (${(e as Error).message.split('\n')[0]})`);
    } finally {
      clearInterval(progress);
    }
    const ended = Date.now();
    shows = await pageShows(page);
    const loadAtEnd = machineLoad();

    console.log(`trainer: ${shows.trainer}${shows.adapter ? ` — ${shows.adapter}` : ''}${shows.notice ? ` (${shows.notice})` : ''}`);
    if (shows.error) throw new Error(`the page shows an error: ${shows.error}`);
    console.log(`page status: ${shows.status}`);
    console.log(`page test accuracy: ${shows.testAccuracy} (${shows.testNote})`);
    console.log(`page images/s (header, the last chunk of steps): ${shows.imagesPerSecond}; steps ${shows.steps}; last training loss ${shows.trainingLoss}`);
    console.log(
      `measured from outside: Train pressed → first step ${((startedTraining - pressed) / 1000).toFixed(1)} s (MNIST and the trainer's build), ` +
        `first step → done ${((ended - startedTraining) / 1000).toFixed(1)} s`,
    );
    console.log(`load (1/5/15 min) ${loadAtEnd} at the end (${loadAtStart} at the start)`);
    if (pageErrors.length) console.warn(`page errors: ${pageErrors.slice(0, 5).join(' | ')}`);
    if (args.json) {
      const record = { date: new Date().toISOString(), machine, loadAtStart, loadAtEnd, browser: browser.version(), userAgent, site: site.how, settings, page: shows, loadingSeconds: (startedTraining - pressed) / 1000, trainingSecondsOutside: (ended - startedTraining) / 1000 };
      writeFileSync(args.json, `${JSON.stringify(record, null, 1)}\n`);
      console.log(`JSON written to ${args.json}`);
    }
    if (pageErrors.length) throw new Error(`the page threw ${pageErrors.length} error(s): ${pageErrors[0]}`);
    if (args.minAccuracy !== undefined) {
      const accuracy = Number(shows.testAccuracy.replace('%', ''));
      if (!(accuracy >= args.minAccuracy)) throw new Error(`test accuracy ${shows.testAccuracy} is below --min-accuracy ${args.minAccuracy}%`);
    }
  } finally {
    await close();
  }
}

runMain('measure:train-page', 'npm run measure:train-page -- --help for usage', main);
