/**
 * A strict, bounded JSON parser for safetensors headers, working on the header's bytes.
 *
 * Why not `JSON.parse`: it keeps the last of duplicate keys silently, it recurses without a
 * bound (a header of 100,000 `[` is a stack overflow), it turns `"__proto__"` keys into
 * prototype changes on plain objects, and it reports positions in UTF-16 code units, not bytes.
 * This parser rejects duplicate keys and nesting deeper than `maxDepth`, keeps objects in
 * `Map`s, and reports every problem at its absolute byte offset in the file.
 */
import { WeightsFileError } from '../errors.js';

/** A JSON object: entries in file order, each with the absolute byte offset of its key. */
export type JsonObject = Map<string, { readonly value: Json; readonly offset: number }>;
export type Json = null | boolean | number | string | Json[] | JsonObject;

const kQuote = 0x22;
const kBackslash = 0x5c;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Strings up to this many bytes are built char by char (faster than a decoder call for names). */
const kShortString = 64;

/**
 * Parses `bytes` (one JSON value, optionally surrounded by whitespace; safetensors pads the
 * header with spaces). `fileOffset` is where `bytes` starts in the file, so errors name
 * absolute byte offsets.
 *
 * @example
 * const header = parseJsonHeader(fileBytes.subarray(8, 8 + n), 8, 4);
 */
export function parseJsonHeader(bytes: Uint8Array, fileOffset: number, maxDepth: number): Json {
  const parser = new Parser(bytes, fileOffset, maxDepth);
  parser.skipWhitespace();
  const value = parser.value(0);
  parser.skipWhitespace();
  if (parser.at < bytes.length) parser.fail(`expected the end of the JSON header, found ${parser.describe()}`);
  return value;
}

class Parser {
  at = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly fileOffset: number,
    readonly maxDepth: number,
  ) {}

  fail(message: string, at = this.at): never {
    throw new WeightsFileError(`malformed JSON header: ${message}`, { byteOffset: this.fileOffset + at });
  }

  describe(): string {
    if (this.at >= this.bytes.length) return 'the end of the header';
    const byte = this.bytes[this.at]!;
    return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
  }

  skipWhitespace(): void {
    while (this.at < this.bytes.length) {
      const b = this.bytes[this.at]!;
      if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) break;
      this.at++;
    }
  }

  value(depth: number): Json {
    const byte = this.bytes[this.at];
    switch (byte) {
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case kQuote:
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (byte === 0x2d || (byte !== undefined && byte >= 0x30 && byte <= 0x39)) return this.number();
        return this.fail(`expected a JSON value, found ${this.describe()}`);
    }
  }

  enter(depth: number): void {
    if (depth > this.maxDepth) {
      this.fail(`expected at most ${this.maxDepth} levels of nesting (a safetensors header needs 3), found deeper: nesting deeper than ${this.maxDepth}`);
    }
    this.at++;
    this.skipWhitespace();
  }

  object(depth: number): JsonObject {
    this.enter(depth);
    const entries: JsonObject = new Map();
    if (this.bytes[this.at] === 0x7d) {
      this.at++;
      return entries;
    }
    for (;;) {
      const keyOffset = this.at;
      if (this.bytes[this.at] !== kQuote) this.fail(`expected a quoted key, found ${this.describe()}`);
      const key = this.string();
      if (entries.has(key)) {
        const first = entries.get(key)!.offset;
        this.fail(`duplicate key '${key}' (first at byte ${first}): expected unique names, found a second (JSON.parse would silently keep the last)`, keyOffset);
      }
      this.skipWhitespace();
      if (this.bytes[this.at] !== 0x3a) this.fail(`expected ':' after key '${key}', found ${this.describe()}`);
      this.at++;
      this.skipWhitespace();
      entries.set(key, { value: this.value(depth), offset: this.fileOffset + keyOffset });
      this.skipWhitespace();
      const next = this.bytes[this.at];
      this.at++;
      if (next === 0x7d) return entries;
      if (next !== 0x2c) this.fail(`expected ',' or '}' in an object, found ${this.describeAt(this.at - 1)}`, this.at - 1);
      this.skipWhitespace();
    }
  }

  array(depth: number): Json[] {
    this.enter(depth);
    const items: Json[] = [];
    if (this.bytes[this.at] === 0x5d) {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.value(depth));
      this.skipWhitespace();
      const next = this.bytes[this.at];
      this.at++;
      if (next === 0x5d) return items;
      if (next !== 0x2c) this.fail(`expected ',' or ']' in an array, found ${this.describeAt(this.at - 1)}`, this.at - 1);
      this.skipWhitespace();
    }
  }

  describeAt(at: number): string {
    const saved = this.at;
    this.at = at;
    const text = this.describe();
    this.at = saved;
    return text;
  }

  /**
   * A string: find its closing quote and check its bytes. Plain ASCII (every name a model
   * uses) is read directly; anything else is decoded as UTF-8 and unescaped by JSON.parse
   * (a flat string literal: no recursion).
   */
  string(): string {
    const start = this.at;
    let end = start + 1;
    let plain = true;
    for (;;) {
      if (end >= this.bytes.length) this.fail(`unterminated string: expected a closing '"', found the end of the header`, start);
      const b = this.bytes[end]!;
      if (b === kQuote) break;
      if (b < 0x20) this.fail(`expected no control bytes inside a string, found 0x${b.toString(16).padStart(2, '0')}`, end);
      if (b === kBackslash || b >= 0x80) plain = false;
      end += b === kBackslash ? 2 : 1;
    }
    if (plain) {
      this.at = end + 1;
      // Char by char builds one cons-string per byte (~30 bytes each): a 10 MB metadata value
      // took 300 MB and seconds. Past a name's length, one decode is flat and fast.
      if (end - start > kShortString) return utf8.decode(this.bytes.subarray(start + 1, end));
      let text = '';
      for (let i = start + 1; i < end; i++) text += String.fromCharCode(this.bytes[i]!);
      return text;
    }
    let text: string;
    try {
      text = utf8.decode(this.bytes.subarray(start, end + 1));
    } catch {
      return this.fail('a string is not valid UTF-8: expected UTF-8 text, found invalid bytes', start);
    }
    this.at = end + 1;
    try {
      return JSON.parse(text) as string;
    } catch {
      return this.fail(`expected valid escapes in a string, found ${text.slice(0, 40)}`, start);
    }
  }

  /** JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  number(): number {
    const start = this.at;
    const bytes = this.bytes;
    if (bytes[this.at] === 0x2d) this.at++; // -
    if (bytes[this.at] === 0x30) this.at++; // a leading 0 stands alone
    else this.digits();
    if (bytes[this.at] === 0x2e) {
      this.at++;
      this.digits();
    }
    if (bytes[this.at] === 0x65 || bytes[this.at] === 0x45) {
      this.at++;
      if (bytes[this.at] === 0x2b || bytes[this.at] === 0x2d) this.at++;
      this.digits();
    }
    if (this.at - start > 400) this.fail('expected a JSON number of at most 400 characters, found a longer one', start);
    let text = '';
    for (let i = start; i < this.at; i++) text += String.fromCharCode(bytes[i]!);
    return Number(text);
  }

  /** One or more decimal digits. */
  digits(): void {
    const start = this.at;
    while (this.at < this.bytes.length && this.bytes[this.at]! >= 0x30 && this.bytes[this.at]! <= 0x39) this.at++;
    if (this.at === start) this.fail(`expected a digit in a JSON number, found ${this.describe()}`);
  }

  literal<T extends Json>(word: string, value: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.bytes[this.at + i] !== word.charCodeAt(i)) this.fail(`expected '${word}', found ${this.describe()}`);
    }
    this.at += word.length;
    return value;
  }
}
