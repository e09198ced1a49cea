/**
 * What the command-line scripts share: the error for a wrong command line, and how a script's
 * `main` ends its process (one line on stderr and a non-zero status on failure).
 */

/** A command line the script cannot take: exit status 2, with the usage hint. */
export class UsageError extends Error {}

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
