/**
 * What the command-line scripts share: the error for a wrong command line, reading the command
 * line, and how a script's `main` ends its process (one line on stderr and a non-zero status on
 * failure).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the script cannot take: exit status 2, with the usage hint. */
export class UsageError extends Error {}

/**
 * `parseArgs(config)`, with what it rejects (an unknown option, a missing value) as a UsageError.
 *
 * @example
 * const { values } = parseCommandLine({ options: { rounds: { type: 'string', default: '3' } } });
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * The value of `--option` as a positive integer; a UsageError that quotes it otherwise.
 *
 * @example
 * positiveInteger('rounds', values.rounds); // 3 for '3'; throws for '0' or 'x'
 */
export function positiveInteger(option: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${option} must be a positive integer, found '${text}'`);
  return n;
}

/**
 * Runs `main`, then exits: 0 when it resolves; otherwise one line on stderr,
 * `script: [ErrorName: ]message`, followed by `(usage)` after a UsageError, and status 2 for a
 * UsageError, 1 for anything else.
 *
 * @example
 * runMain('probe:cold', 'npm run probe:cold -- --help for usage', main);
 */
export function runMain(script: string, usage: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      const message = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
      const hint = e instanceof UsageError ? ` (${usage})` : '';
      console.error(`${script}: ${message.replace(/\s*\n\s*/g, ' ')}${hint}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
