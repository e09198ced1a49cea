/**
 * A restricted unpickler: a stack machine over Python's pickle opcodes (the binary ones of
 * protocols 2 to 5) that builds plain data and executes nothing.
 *
 * Python's unpickler imports and calls whatever a pickle names (GLOBAL + REDUCE is how a
 * pickle runs `os.system`). This one calls only the caller's `resolveGlobal` table of known
 * globals, whose functions build inert values (a tensor description, a storage reference).
 * Any other global becomes a `PickleGlobal` placeholder: "calling" it only records a
 * `PickleObject` of that class, so the pickle can be read to its end and the caller can say
 * what the file was (a whole pickled module, or something calling `os.system`), then refuse it.
 *
 * Bounded: opcodes executed, stack depth, MARK depth, memo entries and container sizes each have
 * a cap (kPickleLimits); lengths read from the pickle are checked against the bytes present
 * before anything is read or allocated by them. No part of the machine recurses, so cyclic
 * and deeply nested structures (memo references let a list contain itself) cost nothing
 * special here; whoever walks the result must bound its own walk.
 */
import { WeightsFileError } from '../errors.js';

/** A Python float (kept apart from ints, which are plain numbers or bigints). */
export class PickleFloat {
  constructor(readonly value: number) {}
}

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export class PickleList {
  readonly items: PickleValue[] = [];
}

/** A dict or OrderedDict, in insertion order. Keys: str, int, bool, None, bytes (by value) or other hashables (by identity). */
export class PickleDict {
  readonly items = new Map<PickleValue, PickleValue>();
  /** What BUILD set on it (an OrderedDict's attributes, e.g. a state_dict's `_metadata`). */
  attributes: PickleValue | undefined;
}

export class PickleSet {
  readonly items = new Set<PickleValue>();
}

/** A global the caller does not know: a name, never imported or called. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    /** File offset of the GLOBAL or STACK_GLOBAL opcode. */
    readonly byteOffset: number,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** What REDUCE or NEWOBJ on an unknown global would have made: nothing was called. */
export class PickleObject {
  /** What BUILD would have passed to `__setstate__`. */
  state: PickleValue | undefined;
  constructor(
    readonly cls: PickleGlobal | PickleObject,
    readonly args: PickleValue,
    readonly byteOffset: number,
  ) {}
  /** The class at the root of `cls` (an object's class may itself be a recorded call). */
  get rootClass(): PickleGlobal {
    let cls = this.cls;
    for (let hops = 0; cls instanceof PickleObject && hops < 64; hops++) cls = cls.cls;
    return cls instanceof PickleGlobal ? cls : new PickleGlobal('?', '?', this.byteOffset);
  }
}

/** A value the caller's known globals make (a storage type, a tensor); the unpickler only moves it around. */
export abstract class HostValue {
  /** For error messages: what this is, e.g. "a float32 storage". */
  abstract readonly description: string;
}

/** A known global. `call` is what REDUCE does with it, `construct` what NEWOBJ does; either may be absent. */
export class PickleCallable extends HostValue {
  constructor(
    readonly qualifiedName: string,
    readonly call?: (args: readonly PickleValue[], byteOffset: number) => PickleValue,
    readonly construct?: (args: readonly PickleValue[], byteOffset: number) => PickleValue,
  ) {
    super();
  }
  get description(): string {
    return `global ${this.qualifiedName}`;
  }
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleFloat
  | PickleTuple
  | PickleList
  | PickleDict
  | PickleSet
  | PickleGlobal
  | PickleObject
  | HostValue;

/** Caps on the work and memory one pickle may cost. A state_dict needs ~40 opcodes and ~12 memo entries per tensor. */
export const kPickleLimits = {
  /**
   * ~1,200 tensors' worth: far more than any LeNet (a LeNet state_dict needs ~400 opcodes, a
   * checkpoint with its optimizer state ~1,500), and a bound on the work a pickle can ask for:
   * the costliest pickles at this cap (containers nested 8,000 deep through the memo) take
   * ~10–40 ms of CPU on a busy 2-core machine, most of it garbage collection.
   */
  maxOpcodes: 50_000,
  /** Python's pickler pushes at most 1,000 dict items or list elements at a time (its batch size). */
  maxStack: 10_000,
  maxMarkDepth: 10_000,
  maxMemo: 20_000,
  maxContainerItems: 25_000,
  /** LONG4's byte count: Python ints in a state_dict are sizes and strides. */
  maxLongBytes: 64,
  /** GLOBAL's module and name lines. */
  maxGlobalLine: 1024,
} as const;

export interface UnpickleOptions {
  /** The known globals: a HostValue (often a PickleCallable), or undefined for any other name. */
  resolveGlobal(module: string, name: string): HostValue | undefined;
  /** BINPERSID: what a persistent id stands for (PyTorch: a storage). Absent: BINPERSID is refused. */
  persistentLoad?(pid: PickleValue, byteOffset: number): PickleValue;
  /**
   * The error to throw when unknown globals were met: at STOP, or at a later error (passed as
   * `interrupted`), since the unknown global is then usually what the reader most needs to
   * hear; it may return `interrupted` to keep it. Default: names the first unknown global.
   */
  refuse?(unknown: readonly PickleGlobal[], objects: readonly PickleObject[], interrupted?: WeightsFileError): WeightsFileError;
  /** Where to start in `bytes` (several pickles may follow each other). Default 0. */
  start?: number;
  /** File offset of `bytes[0]`, for error messages. Default 0. */
  fileOffset?: number;
  /** The pickle must end exactly at the end of `bytes`. Default false. */
  whole?: boolean;
}

export interface UnpickleResult {
  readonly value: PickleValue;
  /** Offset in `bytes` just past the STOP opcode. */
  readonly end: number;
}

const enum Op {
  MARK = 0x28, STOP = 0x2e, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, BINFLOAT = 0x47, BININT = 0x4a,
  BININT1 = 0x4b, BININT2 = 0x4d, NONE = 0x4e, BINPERSID = 0x51, REDUCE = 0x52, BINSTRING = 0x54,
  SHORT_BINSTRING = 0x55, BINUNICODE = 0x58, EMPTY_LIST = 0x5d, APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63,
  DICT = 0x64, APPENDS = 0x65, BINGET = 0x68, LONG_BINGET = 0x6a, LIST = 0x6c, BINPUT = 0x71,
  LONG_BINPUT = 0x72, SETITEM = 0x73, TUPLE = 0x74, SETITEMS = 0x75, EMPTY_DICT = 0x7d, EMPTY_TUPLE = 0x29,
  BINBYTES = 0x42, SHORT_BINBYTES = 0x43, PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84,
  TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
  SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90,
  FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96,
}

/** Text opcodes of protocols 0 and 1 and the few binary ones this reader refuses, by name for errors. */
const kRefusedOpcodes: Readonly<Record<number, string>> = {
  0x49: 'INT', 0x4c: 'LONG', 0x53: 'STRING', 0x56: 'UNICODE', 0x46: 'FLOAT', 0x70: 'PUT', 0x67: 'GET',
  0x50: 'PERSID', 0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Runs a pickle on the restricted machine and returns the value it builds.
 *
 * @example
 * const { value } = unpickle(bytes, { resolveGlobal: () => undefined, whole: true });
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): UnpickleResult {
  return new Machine(bytes, options).run();
}

/** One short phrase for a value, for error messages (never walks into containers). */
export function describeValue(value: PickleValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'bigint') return `the int ${value}`;
  if (typeof value === 'string') return `the str '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (value instanceof Uint8Array) return `bytes of length ${value.length}`;
  if (value instanceof PickleFloat) return `the float ${value.value}`;
  if (value instanceof PickleTuple) return `a tuple of ${value.items.length}`;
  if (value instanceof PickleList) return `a list of ${value.items.length}`;
  if (value instanceof PickleDict) return `a dict of ${value.items.size}`;
  if (value instanceof PickleSet) return `a set of ${value.items.size}`;
  if (value instanceof PickleGlobal) return `global ${value.qualifiedName}`;
  if (value instanceof PickleObject) return `an object of class ${value.rootClass.qualifiedName}`;
  return value.description;
}

class Machine {
  private pos: number;
  private readonly base: number;
  private readonly view: DataView;
  private readonly stack: PickleValue[] = [];
  /** Stack lengths at each open MARK. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly unknown: PickleGlobal[] = [];
  private readonly objects: PickleObject[] = [];
  /** File offset of the opcode being run. */
  private opOffset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.pos = options.start ?? 0;
    this.base = options.fileOffset ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): UnpickleResult {
    try {
      const result = this.loop();
      if (this.unknown.length > 0) throw this.refusal();
      return result;
    } catch (e) {
      if (e instanceof RefusalError) throw e.error;
      // An unknown global met before the failure is usually the first thing to say.
      if (this.unknown.length > 0 && e instanceof WeightsFileError) throw this.refusal(e).error;
      throw e;
    }
  }

  private refusal(interrupted?: WeightsFileError): RefusalError {
    const refuse = this.options.refuse ?? defaultRefusal;
    return new RefusalError(refuse(this.unknown, this.objects, interrupted));
  }

  private fail(message: string): never {
    throw new WeightsFileError(`pickle: ${message}`, { byteOffset: this.opOffset });
  }

  private loop(): UnpickleResult {
    const { bytes } = this;
    for (let count = 0; ; count++) {
      if (count >= kPickleLimits.maxOpcodes) {
        this.fail(`expected at most ${kPickleLimits.maxOpcodes} opcodes (a state_dict needs a few dozen per tensor), found more`);
      }
      this.opOffset = this.base + this.pos;
      if (this.pos >= bytes.length) this.fail(`expected an opcode (the pickle ends with STOP), found the end of the data`);
      const op = bytes[this.pos++]!;
      if (op === Op.STOP) return this.stop();
      this.step(op);
      if (this.stack.length > kPickleLimits.maxStack) this.fail(`stack deeper than ${kPickleLimits.maxStack}: expected a shallower pickle, found more`);
    }
  }

  private stop(): UnpickleResult {
    const value = this.pop();
    const end = this.pos;
    if (this.options.whole && end !== this.bytes.length) {
      this.fail(`expected the pickle to end at its STOP opcode, found ${this.bytes.length - end} more bytes after it`);
    }
    return { value, end };
  }

  private step(op: number): void {
    switch (op) {
      case Op.PROTO: {
        const version = this.u8();
        if (version > 5) this.fail(`expected pickle protocol 2 to 5, found protocol ${version}`);
        return;
      }
      case Op.FRAME: {
        const length = this.u64();
        if (length > this.bytes.length - this.pos) this.fail(`FRAME: expected at most the ${this.bytes.length - this.pos} bytes left, found a frame of ${length}`);
        return;
      }
      case Op.MARK:
        if (this.marks.length >= kPickleLimits.maxMarkDepth) this.fail(`MARKs nested deeper than ${kPickleLimits.maxMarkDepth}: expected fewer, found more`);
        this.marks.push(this.stack.length);
        return;
      case Op.POP:
        this.pop();
        return;
      case Op.POP_MARK:
        this.popMark();
        return;
      case Op.DUP:
        this.push(this.top());
        return;
      case Op.NONE:
        return this.push(null);
      case Op.NEWTRUE:
        return this.push(true);
      case Op.NEWFALSE:
        return this.push(false);
      case Op.BININT:
        this.need(4);
        this.push(this.view.getInt32((this.pos += 4) - 4, true));
        return;
      case Op.BININT1:
        return this.push(this.u8());
      case Op.BININT2:
        this.need(2);
        this.push(this.view.getUint16((this.pos += 2) - 2, true));
        return;
      case Op.LONG1:
        return this.push(this.long(this.u8()));
      case Op.LONG4: {
        this.need(4);
        const length = this.view.getInt32((this.pos += 4) - 4, true);
        if (length < 0 || length > kPickleLimits.maxLongBytes) this.fail(`LONG4: expected an integer of 0 to ${kPickleLimits.maxLongBytes} bytes, found ${length} bytes`);
        return this.push(this.long(length));
      }
      case Op.BINFLOAT:
        this.need(8);
        this.push(new PickleFloat(this.view.getFloat64((this.pos += 8) - 8, false)));
        return;
      case Op.SHORT_BINUNICODE:
        return this.push(this.text(this.u8()));
      case Op.BINUNICODE:
        return this.push(this.text(this.u32()));
      case Op.BINUNICODE8:
        return this.push(this.text(this.u64()));
      case Op.SHORT_BINSTRING:
        return this.push(this.text(this.u8()));
      case Op.BINSTRING: {
        this.need(4);
        const length = this.view.getInt32((this.pos += 4) - 4, true);
        if (length < 0) this.fail(`BINSTRING: expected a non-negative length, found ${length}`);
        return this.push(this.text(length));
      }
      case Op.SHORT_BINBYTES:
        return this.push(this.take(this.u8()));
      case Op.BINBYTES:
        return this.push(this.take(this.u32()));
      case Op.BINBYTES8:
      case Op.BYTEARRAY8:
        return this.push(this.take(this.u64()));
      case Op.EMPTY_DICT:
        return this.push(new PickleDict());
      case Op.EMPTY_LIST:
        return this.push(new PickleList());
      case Op.EMPTY_TUPLE:
        return this.push(new PickleTuple([]));
      case Op.EMPTY_SET:
        return this.push(new PickleSet());
      case Op.TUPLE:
        return this.push(new PickleTuple(this.popMark()));
      case Op.TUPLE1:
      case Op.TUPLE2:
      case Op.TUPLE3: {
        const items = this.popN(op - Op.TUPLE1 + 1);
        return this.push(new PickleTuple(items));
      }
      case Op.LIST: {
        const list = new PickleList();
        this.extend(list, this.popMark());
        return this.push(list);
      }
      case Op.DICT: {
        const dict = new PickleDict();
        this.setItems(dict, this.popMark());
        return this.push(dict);
      }
      case Op.FROZENSET: {
        const set = new PickleSet();
        this.addItems(set, this.popMark());
        return this.push(set);
      }
      case Op.APPEND: {
        const item = this.pop();
        const list = this.top();
        if (list instanceof PickleObject) return;
        if (!(list instanceof PickleList)) this.fail(`APPEND: expected a list, found ${describeValue(list)}`);
        this.grow(list.items.length + 1, 'a list');
        list.items.push(item);
        return;
      }
      case Op.APPENDS: {
        const items = this.popMark();
        return this.extend(this.top(), items);
      }
      case Op.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        const dict = this.top();
        if (dict instanceof PickleObject) return;
        if (!(dict instanceof PickleDict)) this.fail(`SETITEM: expected a dict, found ${describeValue(dict)}`);
        this.grow(dict.items.size + 1, 'a dict');
        dict.items.set(this.hashable(key), value);
        return;
      }
      case Op.SETITEMS: {
        const items = this.popMark();
        return this.setItems(this.top(), items);
      }
      case Op.ADDITEMS: {
        const items = this.popMark();
        const set = this.top();
        if (!(set instanceof PickleSet)) this.fail(`ADDITEMS: expected a set, found ${describeValue(set)}`);
        return this.addItems(set, items);
      }
      case Op.BINPUT:
        return this.put(this.u8());
      case Op.LONG_BINPUT:
        return this.put(this.u32());
      case Op.MEMOIZE:
        return this.put(this.memo.size);
      case Op.BINGET:
        return this.get(this.u8());
      case Op.LONG_BINGET:
        return this.get(this.u32());
      case Op.GLOBAL: {
        const module = this.line();
        const name = this.line();
        return this.push(this.global(module, name));
      }
      case Op.STACK_GLOBAL: {
        const [module, name] = this.popN(2);
        if (typeof module !== 'string' || typeof name !== 'string') {
          this.fail(`STACK_GLOBAL: expected two str (module, name), found ${describeValue(module)} and ${describeValue(name)}`);
        }
        return this.push(this.global(module, name));
      }
      case Op.REDUCE: {
        const [callable, args] = this.popN(2);
        return this.push(this.call(callable!, args!, 'REDUCE'));
      }
      case Op.NEWOBJ: {
        const [cls, args] = this.popN(2);
        return this.push(this.call(cls!, args!, 'NEWOBJ'));
      }
      case Op.NEWOBJ_EX: {
        const [cls, args, kwargs] = this.popN(3);
        if (!(kwargs instanceof PickleDict) || kwargs.items.size > 0) this.fail(`NEWOBJ_EX: expected no keyword arguments, found ${describeValue(kwargs)}`);
        return this.push(this.call(cls!, args!, 'NEWOBJ'));
      }
      case Op.BUILD: {
        const state = this.pop();
        return this.build(this.top(), state);
      }
      case Op.BINPERSID: {
        const pid = this.pop();
        if (!this.options.persistentLoad) this.fail('BINPERSID: expected no persistent ids in this pickle, found one');
        return this.push(this.options.persistentLoad(pid, this.opOffset));
      }
      default: {
        const name = kRefusedOpcodes[op];
        this.fail(
          name
            ? `expected the binary opcodes of pickle protocols 2 to 5, found opcode ${name} (0x${op.toString(16)}), which this ` +
                'reader does not run (re-save with torch.save and its default protocol)'
            : `expected an opcode, found the byte 0x${op.toString(16)}, which is none`,
        );
      }
    }
  }

  // --- the stack ---

  private push(value: PickleValue): void {
    this.stack.push(value);
  }

  private floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
  }

  private pop(): PickleValue {
    if (this.stack.length <= this.floor()) this.fail('expected a value on the stack, found none (stack underflow)');
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    if (this.stack.length <= this.floor()) this.fail('expected a value on the stack, found none (stack underflow)');
    return this.stack[this.stack.length - 1]!;
  }

  private popN(n: number): PickleValue[] {
    if (this.stack.length - this.floor() < n) this.fail(`expected ${n} values on the stack, found ${this.stack.length - this.floor()} (stack underflow)`);
    return this.stack.splice(this.stack.length - n, n);
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('expected a MARK to close, found none');
    return this.stack.splice(mark, this.stack.length - mark);
  }

  // --- reading the opcode's argument ---

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) {
      this.fail(`expected ${n} more bytes for this opcode's argument, found ${this.bytes.length - this.pos} (truncated?)`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  private u32(): number {
    this.need(4);
    return this.view.getUint32((this.pos += 4) - 4, true);
  }

  /** A little-endian u64 length; anything past 2^53 is certainly more than the bytes present. */
  private u64(): number {
    this.need(8);
    const low = this.view.getUint32(this.pos, true);
    const high = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + low;
  }

  private take(length: number): Uint8Array {
    this.need(length);
    return this.bytes.subarray(this.pos, (this.pos += length));
  }

  private text(length: number): string {
    const raw = this.take(length);
    // Short ASCII strings (names, keys) are most of a state_dict's: decode them without TextDecoder.
    if (length <= 64 && raw.every((b) => b < 0x80)) return String.fromCharCode(...raw);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail(`expected a UTF-8 string of ${length} bytes, found invalid UTF-8`);
    }
  }

  /** A text line (GLOBAL's module or name), without its newline. */
  private line(): string {
    const limit = Math.min(this.bytes.length, this.pos + kPickleLimits.maxGlobalLine + 1);
    const end = this.bytes.subarray(this.pos, limit).indexOf(0x0a);
    if (end < 0) this.fail(`GLOBAL: expected a line of at most ${kPickleLimits.maxGlobalLine} bytes ending in a newline, found none`);
    const text = this.text(end);
    this.pos++;
    return text;
  }

  /** A two's-complement little-endian integer of `length` bytes: a number when safe, else a bigint. */
  private long(length: number): number | bigint {
    const raw = this.take(length);
    if (length === 0) return 0;
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw[length - 1]! & 0x80) value -= 1n << BigInt(8 * length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  // --- memo ---

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= kPickleLimits.maxMemo) {
      this.fail(`expected at most ${kPickleLimits.maxMemo} memo entries, found more`);
    }
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    if (!this.memo.has(index)) this.fail(`memo entry ${index}: expected one stored by a PUT, found none`);
    this.push(this.memo.get(index)!);
  }

  // --- containers ---

  private grow(size: number, what: string): void {
    if (size > kPickleLimits.maxContainerItems) this.fail(`${what} of more than ${kPickleLimits.maxContainerItems} items: expected fewer, found more`);
  }

  private extend(target: PickleValue, items: readonly PickleValue[]): void {
    if (target instanceof PickleObject) return; // an unknown class's list-like: nothing is called
    if (!(target instanceof PickleList)) this.fail(`APPEND: expected a list, found ${describeValue(target)}`);
    this.grow(target.items.length + items.length, 'a list');
    for (const item of items) target.items.push(item);
  }

  private setItems(target: PickleValue, items: readonly PickleValue[]): void {
    if (items.length % 2 !== 0) this.fail(`SETITEMS: expected key, value pairs, found ${items.length} values`);
    if (target instanceof PickleObject) return;
    if (!(target instanceof PickleDict)) this.fail(`SETITEM: expected a dict, found ${describeValue(target)}`);
    this.grow(target.items.size + items.length / 2, 'a dict');
    for (let i = 0; i < items.length; i += 2) target.items.set(this.hashable(items[i]!), items[i + 1]!);
  }

  private addItems(target: PickleSet, items: readonly PickleValue[]): void {
    this.grow(target.items.size + items.length, 'a set');
    for (const item of items) target.items.add(this.hashable(item));
  }

  /** Python refuses unhashable keys (lists, dicts, sets); so does this. */
  private hashable(key: PickleValue): PickleValue {
    if (key instanceof PickleList || key instanceof PickleDict || key instanceof PickleSet) {
      this.fail(`expected a hashable dict key or set item, found ${describeValue(key)}`);
    }
    return key;
  }

  // --- globals and calls: nothing from the file is ever executed ---

  private global(module: string, name: string): PickleValue {
    const known = this.options.resolveGlobal(module, name);
    if (known) return known;
    const placeholder = new PickleGlobal(module, name, this.opOffset);
    if (this.unknown.length < 64) this.unknown.push(placeholder);
    return placeholder;
  }

  private call(callable: PickleValue, args: PickleValue, opcode: 'REDUCE' | 'NEWOBJ'): PickleValue {
    if (!(args instanceof PickleTuple)) this.fail(`${opcode}: expected a tuple of arguments, found ${describeValue(args)}`);
    if (callable instanceof PickleGlobal || callable instanceof PickleObject) {
      const object = new PickleObject(callable, args, this.opOffset);
      if (this.objects.length < 4096) this.objects.push(object);
      return object;
    }
    if (callable instanceof PickleCallable) {
      const run = opcode === 'REDUCE' ? callable.call : callable.construct;
      if (run) return run(args.items, this.opOffset);
      this.fail(`${opcode} on ${callable.qualifiedName}: expected ${opcode === 'REDUCE' ? 'a function' : 'a class'} it can be used with, found one it cannot`);
    }
    return this.fail(`${opcode}: expected a callable global, found ${describeValue(callable)}`);
  }

  private build(target: PickleValue, state: PickleValue): void {
    if (target instanceof PickleObject) {
      target.state = state;
      return;
    }
    if (target instanceof PickleDict) {
      target.attributes = state; // kept by reference: BUILD must not copy (a memoised state could be built many times)
      return;
    }
    this.fail(`BUILD: expected an object to set the state of, found ${describeValue(target)}`);
  }
}

/** Carries the refusal past the catch in `run`, so it is not replaced by itself. */
class RefusalError {
  constructor(readonly error: WeightsFileError) {}
}

function defaultRefusal(unknown: readonly PickleGlobal[]): WeightsFileError {
  const first = unknown[0]!;
  return new WeightsFileError(`pickle: global '${first.qualifiedName}' refused: expected only known globals, found it; nothing was called`, {
    byteOffset: first.byteOffset,
  });
}
