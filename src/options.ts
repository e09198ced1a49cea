/**
 * Options checked at run time as the types check them at compile time, for callers the types
 * do not reach (JavaScript, JSON, `as any`): an unknown key or a value outside its type is an
 * InputError that names it and suggests the nearest valid one. A table of checks, one entry
 * per option key, so a new option is one line beside its declaration.
 */
import { InputError } from './errors.js';

/** Checks one option's value (never undefined: an absent option is not checked); throws InputError. */
export type OptionCheck = (value: unknown, key: string) => void;

/**
 * One check for every key of `T`: a key added to an options interface without its check does
 * not compile.
 */
export type OptionChecks<T> = { readonly [K in keyof Required<T>]: OptionCheck };

/**
 * Throws InputError unless `options` is undefined or an object whose every key has a check in
 * `checks` and passes it. `what` names the options in messages ('createEngine options').
 *
 * @example
 * checkOptions({ archtecture: 'seed' }, kEngineOptionChecks, 'createEngine options');
 * // InputError: createEngine options: unknown option 'archtecture'; did you mean 'architecture'? …
 */
export function checkOptions<T>(options: unknown, checks: OptionChecks<T>, what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InputError(`${what} must be an object, found ${describeValue(options)}`);
  }
  const known = Object.keys(checks);
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(checks, key)) {
      throw new InputError(`${what}: unknown option '${key}'${suggestion(key, known)}; the options are ${known.join(', ')}`);
    }
    if (value === undefined) continue;
    try {
      (checks as Readonly<Record<string, OptionCheck>>)[key]!(value, key);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${what}: ${e.message}`);
      throw e;
    }
  }
}

/**
 * A check that the value is one of `values` (strings).
 *
 * @example
 * oneOf(['webgpu', 'cpu', 'auto'])('gpu', 'backend'); // InputError: … did you mean 'webgpu'?
 */
export function oneOf(values: readonly string[]): OptionCheck {
  return (value, key) => {
    if (typeof value === 'string' && values.includes(value)) return;
    const hint = typeof value === 'string' ? suggestion(value, values) : '';
    throw new InputError(`'${key}' must be ${values.map((v) => `'${v}'`).join(', ')}, found ${describeValue(value)}${hint}`);
  };
}

/** A check that the value has JavaScript type `type` ('boolean', 'string', 'object', …; null is no object). */
export function ofType(type: 'boolean' | 'string' | 'object' | 'number', description = `a ${type}`): OptionCheck {
  return (value, key) => {
    if (typeof value === type && value !== null) return;
    throw new InputError(`'${key}' must be ${description}, found ${describeValue(value)}`);
  };
}

/** A check that passes values of either check. */
export function either(first: OptionCheck, second: OptionCheck, description: string): OptionCheck {
  return (value, key) => {
    try {
      first(value, key);
    } catch {
      try {
        second(value, key);
      } catch {
        throw new InputError(`'${key}' must be ${description}, found ${describeValue(value)}`);
      }
    }
  };
}

/** A check that the value is an array of strings (class names, say). */
export const stringList: OptionCheck = (value, key) => {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return;
  const items: readonly unknown[] = Array.isArray(value) ? value : [];
  const bad = items.findIndex((item) => typeof item !== 'string');
  throw new InputError(`'${key}' must be an array of strings, found ${bad >= 0 ? `${describeValue(items[bad])} at index ${bad}` : describeValue(value)}`);
};

/** A check that the value is a positive integer. */
export const positiveInteger: OptionCheck = (value, key) => {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return;
  throw new InputError(`'${key}' must be a positive integer, found ${describeValue(value)}`);
};

/**
 * `; did you mean 'x'?` for the valid name nearest to `found`, or '' where none is near: one
 * that contains it or is contained in it ('gpu' → 'webgpu'), else the closest by edit distance
 * within a third of the name's length (at least 2: 'archtecture' → 'architecture').
 *
 * @example
 * suggestion('fusd', ['auto', 'layered', 'fused']); // "; did you mean 'fused'?"
 */
export function suggestion(found: string, valid: readonly string[]): string {
  const lower = found.toLowerCase();
  const containing = valid.find((v) => lower.length >= 2 && (v.toLowerCase().includes(lower) || lower.includes(v.toLowerCase())));
  if (containing) return `; did you mean '${containing}'?`;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(found.length / 3));
  for (const name of valid) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = name;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : `; did you mean '${best}'?`;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return (value as object).constructor?.name ?? 'an object';
}
