/**
 * Helpers for the `.pth` reader's tests: a pickle assembler and a zip writer that lays files
 * out as torch.save does (so each crafted file breaks exactly one thing), an independent
 * oracle that says what an accepted file encodes, and the crafted hostile cases.
 *
 * The oracle is written for obviousness, not safety: a naive zip walk and a naive unpickler
 * over the opcodes PyTorch writes, then each tensor's elements read one by one with a
 * DataView at storage offset + Σ index × stride. It never decides whether a file is
 * acceptable; it says what a file the reader *did* accept holds, so the fuzz test can check
 * that the reader returned exactly that.
 */
import { deflateSync, inflateSync, zipSync } from 'fflate';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { kMaxInflateRatio } from '../src/formats/zip.js';

const encoder = new TextEncoder();

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** CRC-32 by Node's zlib (not the reader's own). */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes) >>> 0;
}

// --- pickles ---

/** Assembles pickle opcodes. Methods append and return `this`. */
export class PickleWriter {
  private readonly parts: number[] = [];

  raw(...bytes: number[]): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  rawBytes(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  private u32(value: number): number[] {
    return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
  }
  proto(version = 2): this {
    return this.raw(0x80, version);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  mark(): this {
    return this.raw(0x28);
  }
  none(): this {
    return this.raw(0x4e);
  }
  bool(value: boolean): this {
    return this.raw(value ? 0x88 : 0x89);
  }
  /** BININT1, BININT2, BININT or LONG1, as Python's pickler chooses. */
  int(value: number | bigint): this {
    if (typeof value === 'number' && Number.isInteger(value)) {
      if (value >= 0 && value < 256) return this.raw(0x4b, value);
      if (value >= 0 && value < 65536) return this.raw(0x4d, value & 0xff, value >> 8);
      if (value >= -(2 ** 31) && value < 2 ** 31) return this.raw(0x4a, ...this.u32(value >>> 0));
    }
    return this.long1(BigInt(value));
  }
  long1(value: bigint): this {
    const bytes: number[] = [];
    let v = value;
    do {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    } while (!((v === 0n && (bytes[bytes.length - 1]! & 0x80) === 0) || (v === -1n && (bytes[bytes.length - 1]! & 0x80) !== 0)));
    return this.raw(0x8a, bytes.length, ...bytes);
  }
  float(value: number): this {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, false);
    return this.raw(0x47, ...new Uint8Array(view.buffer));
  }
  str(text: string): this {
    const bytes = encoder.encode(text);
    return this.raw(0x58, ...this.u32(bytes.length)).rawBytes(bytes);
  }
  shortStr(text: string): this {
    const bytes = encoder.encode(text);
    return this.raw(0x8c, bytes.length).rawBytes(bytes);
  }
  /** BINUNICODE with a length prefix that need not match what follows. */
  strPrefix(length: number): this {
    return this.raw(0x58, ...this.u32(length));
  }
  global(module: string, name: string): this {
    return this.raw(0x63).rawBytes(encoder.encode(`${module}\n${name}\n`));
  }
  stackGlobal(module: string, name: string): this {
    return this.shortStr(module).shortStr(name).raw(0x93);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  newobj(): this {
    return this.raw(0x81);
  }
  build(): this {
    return this.raw(0x62);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  tupleN(n: 1 | 2 | 3): this {
    return this.raw(0x84 + n);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  append(): this {
    return this.raw(0x61);
  }
  appends(): this {
    return this.raw(0x65);
  }
  put(index: number): this {
    return index < 256 ? this.raw(0x71, index) : this.raw(0x72, ...this.u32(index));
  }
  get(index: number): this {
    return index < 256 ? this.raw(0x68, index) : this.raw(0x6a, ...this.u32(index));
  }
  persid(): this {
    return this.raw(0x51);
  }
  /** A tuple of ints, as torch.Size and strides are pickled. */
  ints(values: readonly number[]): this {
    if (values.length === 0) return this.emptyTuple();
    if (values.length <= 3) {
      for (const v of values) this.int(v);
      return this.tupleN(values.length as 1 | 2 | 3);
    }
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
  get length(): number {
    return this.parts.length;
  }
}

/** One tensor of a crafted state_dict: a view of a storage. */
export interface TensorSpec {
  readonly name: string;
  readonly storage: string;
  /** torch.<type>, default FloatStorage. */
  readonly type?: string;
  /** The storage's element count as the persistent id says. */
  readonly numel: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** `_rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict())`, as torch 1.13 writes it. */
export function writeTensor(w: PickleWriter, t: TensorSpec): PickleWriter {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', t.type ?? 'FloatStorage').str(t.storage).str('cpu').int(t.numel).tuple().persid();
  w.int(t.offset).ints(t.shape).ints(t.stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
  return w.tuple().reduce();
}

/** A state_dict pickle: OrderedDict() filled by SETITEMS, then STOP. */
export function stateDictPickle(tensors: readonly TensorSpec[]): Uint8Array {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) writeTensor(w.str(t.name), t);
  return w.setitems().stop().bytes();
}

/** Little-endian float32 bytes. */
export function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

// --- zips ---

/** One entry of a zip to write. */
export interface ZipEntrySpec {
  readonly name: string;
  readonly data: Uint8Array;
  /** 8: deflate `data` (or use `compressed`). Default 0. */
  readonly method?: number;
  /** The compressed bytes to write instead of deflating `data`. */
  readonly compressed?: Uint8Array;
  /** The uncompressed size to declare, instead of data.length. */
  readonly declaredSize?: number;
}

/** Where the writer put each record, for cases that patch one field. */
export interface ZipLayout {
  readonly entries: { name: string; header: number; data: number; descriptor: number; central: number }[];
  readonly centralOffset: number;
  readonly centralSize: number;
  /** Zip64 end record (torch style only; -1 otherwise). */
  readonly zip64End: number;
  readonly locator: number;
  readonly end: number;
}

/**
 * Writes a zip. 'torch' style is byte for byte torch.save's layout (flag bit 3, zero CRC and
 * sizes in local headers, 'FB' padding to 64-byte data alignment, data descriptors, zip64 end
 * record and locator); 'plain' is the classic layout (sizes in local headers, nothing else).
 */
export function writeZip(entries: readonly ZipEntrySpec[], style: 'torch' | 'plain' = 'torch'): { bytes: Uint8Array; layout: ZipLayout } {
  const parts: Uint8Array[] = [];
  let at = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    at += bytes.length;
  };
  const central: Uint8Array[] = [];
  const layout: ZipLayout['entries'] = [];
  const torch = style === 'torch';
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const method = entry.method ?? 0;
    const compressed = entry.compressed ?? (method === 8 ? deflateSync(entry.data) : entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const crc = crc32(entry.data);
    const header = at;
    let extra = new Uint8Array(0);
    if (torch) {
      const pad = (64 - ((at + 30 + name.length + 4) % 64)) % 64;
      extra = new Uint8Array(4 + pad).fill(0x5a);
      new DataView(extra.buffer).setUint16(0, 0x4246, true);
      new DataView(extra.buffer).setUint16(2, pad, true);
    }
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, torch ? 0 : 20, true);
    local.setUint16(6, torch ? 0x0808 : 0x0800, true);
    local.setUint16(8, method, true);
    if (!torch) {
      local.setUint32(14, crc, true);
      local.setUint32(18, compressed.length, true);
      local.setUint32(22, size, true);
    }
    local.setUint16(26, name.length, true);
    local.setUint16(28, extra.length, true);
    push(new Uint8Array(local.buffer));
    push(name);
    push(extra);
    const data = at;
    push(compressed);
    const descriptor = at;
    if (torch) {
      const d = new DataView(new ArrayBuffer(16));
      d.setUint32(0, 0x08074b50, true);
      d.setUint32(4, crc, true);
      d.setUint32(8, compressed.length, true);
      d.setUint32(12, size, true);
      push(new Uint8Array(d.buffer));
    }
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, torch ? 0 : 20, true);
    c.setUint16(6, torch ? 0 : 20, true);
    c.setUint16(8, torch ? 0x0808 : 0x0800, true);
    c.setUint16(10, method, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, compressed.length, true);
    c.setUint32(24, size, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, header, true);
    central.push(concat(new Uint8Array(c.buffer), name));
    layout.push({ name: entry.name, header, data, descriptor, central: 0 });
  }
  const centralOffset = at;
  for (let i = 0; i < central.length; i++) {
    layout[i]!.central = at;
    push(central[i]!);
  }
  const centralSize = at - centralOffset;
  let zip64End = -1;
  let locator = -1;
  if (torch) {
    zip64End = at;
    const z = new DataView(new ArrayBuffer(56));
    z.setUint32(0, 0x06064b50, true);
    z.setBigUint64(4, 44n, true);
    z.setUint16(12, 0x031e, true);
    z.setUint16(14, 0x2d, true);
    z.setBigUint64(24, BigInt(entries.length), true);
    z.setBigUint64(32, BigInt(entries.length), true);
    z.setBigUint64(40, BigInt(centralSize), true);
    z.setBigUint64(48, BigInt(centralOffset), true);
    push(new Uint8Array(z.buffer));
    locator = at;
    const l = new DataView(new ArrayBuffer(20));
    l.setUint32(0, 0x07064b50, true);
    l.setBigUint64(8, BigInt(zip64End), true);
    l.setUint32(16, 1, true);
    push(new Uint8Array(l.buffer));
  }
  const end = at;
  const e = new DataView(new ArrayBuffer(22));
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, entries.length, true);
  e.setUint16(10, entries.length, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, centralOffset, true);
  push(new Uint8Array(e.buffer));
  return { bytes: concat(...parts), layout: { entries: layout, centralOffset, centralSize, zip64End, locator, end } };
}

/** A torch-style `.pth`: `archive/data.pkl`, `archive/data/<key>` per storage, `archive/version`. */
export function writePth(pickle: Uint8Array, storages: Readonly<Record<string, Uint8Array>>, extra: readonly ZipEntrySpec[] = []): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: 'archive/version', data: encoder.encode('3\n') },
    ...extra,
  ]).bytes;
}

/** The legacy format: magic, protocol version, system info, the state_dict, the keys, then each storage. */
export function writeLegacy(main: Uint8Array, storages: readonly [key: string, elements: number, data: Uint8Array][], littleEndian = true): Uint8Array {
  const magic = new PickleWriter().proto(2).long1(0x1950a86a20f9469cfc6cn).stop().bytes();
  const version = new PickleWriter().proto(2).int(1001).stop().bytes();
  const info = new PickleWriter().proto(2).emptyDict().mark().str('protocol_version').int(1001).str('little_endian').bool(littleEndian)
    .str('type_sizes').emptyDict().mark().str('short').int(2).str('int').int(4).str('long').int(4).setitems().setitems().stop().bytes();
  const keys = new PickleWriter().proto(2).emptyList().mark();
  for (const [key] of storages) keys.str(key);
  const data = storages.map(([, elements, bytes]) => {
    const count = new DataView(new ArrayBuffer(8));
    count.setBigUint64(0, BigInt(elements), littleEndian);
    return concat(new Uint8Array(count.buffer), bytes);
  });
  return concat(magic, version, info, main, keys.appends().stop().bytes(), ...data);
}

/** A legacy state_dict pickle: persistent ids carry a sixth item (view metadata, None). */
export function legacyStateDictPickle(tensors: readonly TensorSpec[]): Uint8Array {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of tensors) {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.type ?? 'FloatStorage').str(t.storage).str('cpu').int(t.numel).none().tuple().persid();
    w.int(t.offset).ints(t.shape).ints(t.stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  return w.setitems().stop().bytes();
}

// --- the oracle ---

/** A zip entry as the oracle reads it: straight from the central directory, no checks. */
export interface OracleZipEntry {
  readonly name: string;
  readonly method: number;
  readonly central: number;
  readonly header: number;
  readonly data: number;
  readonly compressedSize: number;
  readonly flags: number;
}

/** The central directory as written: the last end record, then each record in turn. */
export function oracleZipEntries(bytes: Uint8Array): OracleZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('oracle: no end record');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const entries: OracleZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = view.getUint16(at + 28, true);
    const header = view.getUint32(at + 42, true);
    const data = header + 30 + view.getUint16(header + 26, true) + view.getUint16(header + 28, true);
    entries.push({
      name: new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      method: view.getUint16(at + 10, true),
      central: at,
      header,
      data,
      compressedSize: view.getUint32(at + 20, true),
      flags: view.getUint16(at + 8, true),
    });
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return entries;
}

function oracleEntryBytes(bytes: Uint8Array, entry: OracleZipEntry): Uint8Array {
  const raw = bytes.subarray(entry.data, entry.data + entry.compressedSize);
  return entry.method === 8 ? inflateSync(raw) : raw;
}

/**
 * Rewrites an entry's CRC-32 (central record, and the data descriptor or local header) to
 * match its bytes: how a mutant that changed an entry's contents gets past the CRC check.
 */
export function repairCrc(bytes: Uint8Array, entry: OracleZipEntry): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const crc = crc32(oracleEntryBytes(bytes, entry));
  view.setUint32(entry.central + 16, crc, true);
  if (entry.flags & 8) view.setUint32(entry.data + entry.compressedSize + 4, crc, true);
  else view.setUint32(entry.header + 14, crc, true);
}

type OValue = null | boolean | number | bigint | string | Uint8Array | OValue[] | OTuple | Map<unknown, OValue> | Set<unknown> | OGlobal | OStorage | OTensor | OFloat;
class OTuple {
  constructor(readonly items: OValue[]) {}
}
class OGlobal {
  constructor(readonly name: string) {}
}
class OFloat {
  constructor(readonly value: number) {}
}
class OStorage {
  constructor(readonly type: string, readonly key: string, readonly numel: number) {}
}
class OTensor {
  constructor(readonly args: OValue[]) {}
}

/**
 * A naive unpickler: the binary opcodes of protocols 2 to 5, Python's semantics, no limits.
 * Returns the value, the offset after STOP, and every storage a persistent id named.
 */
function oracleUnpickle(bytes: Uint8Array, start: number): { value: OValue; end: number; storages: OStorage[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: OValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, OValue>();
  const storages: OStorage[] = [];
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const text = (from: number, length: number) => new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(from, from + length));
  const popMark = () => stack.splice(marks.pop()!);
  const call = (f: OValue, args: OValue[]): OValue => {
    const name = f instanceof OGlobal ? f.name : '?';
    if (name === 'collections.OrderedDict') return new Map();
    if (name === 'torch._utils._rebuild_tensor_v2' || name === 'torch._utils._rebuild_tensor') return new OTensor(args);
    if (name === 'torch._utils._rebuild_parameter') return args[0]!;
    if (name === 'torch._tensor._rebuild_from_type_v2') return call(args[0]!, (args[2] as OTuple).items);
    throw new Error(`oracle: cannot call ${name}`);
  };
  let p = start;
  for (;;) {
    const op = bytes[p++]!;
    switch (op) {
      case 0x80: p++; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return { value: stack.pop()!, end: p, storages }; // STOP
      case 0x28: marks.push(stack.length); break;
      case 0x30: stack.pop(); break;
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(stack[stack.length - 1]!); break;
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4b: stack.push(bytes[p++]!); break;
      case 0x4d: stack.push(view.getUint16(p, true)); p += 2; break;
      case 0x4a: stack.push(view.getInt32(p, true)); p += 4; break;
      case 0x8a: { // LONG1
        const n = bytes[p++]!;
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = v * 256n + BigInt(bytes[p + i]!);
        if (n > 0 && bytes[p + n - 1]! >= 0x80) v -= 2n ** BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: stack.push(new OFloat(view.getFloat64(p, false))); p += 8; break;
      case 0x58: { const n = view.getUint32(p, true); stack.push(text(p + 4, n)); p += 4 + n; break; }
      case 0x8c: case 0x55: { const n = bytes[p]!; stack.push(text(p + 1, n)); p += 1 + n; break; }
      case 0x54: { const n = view.getInt32(p, true); stack.push(text(p + 4, n)); p += 4 + n; break; } // BINSTRING
      case 0x8d: { const n = u64(p); stack.push(text(p + 8, n)); p += 8 + n; break; } // BINUNICODE8
      case 0x43: { const n = bytes[p]!; stack.push(bytes.slice(p + 1, p + 1 + n)); p += 1 + n; break; } // SHORT_BINBYTES
      case 0x42: { const n = view.getUint32(p, true); stack.push(bytes.slice(p + 4, p + 4 + n)); p += 4 + n; break; } // BINBYTES
      case 0x8e: case 0x96: { const n = u64(p); stack.push(bytes.slice(p + 8, p + 8 + n)); p += 8 + n; break; } // BINBYTES8, BYTEARRAY8
      case 0x8b: { // LONG4
        const n = view.getInt32(p, true);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = v * 256n + BigInt(bytes[p + 4 + i]!);
        if (n > 0 && bytes[p + 4 + n - 1]! >= 0x80) v -= 2n ** BigInt(8 * n);
        p += 4 + n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); for (const x of items) (stack[stack.length - 1] as Set<unknown>).add(x); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { // DICT
        const items = popMark();
        const map = new Map<unknown, OValue>();
        for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]!);
        stack.push(map);
        break;
      }
      case 0x7d: stack.push(new Map()); break;
      case 0x5d: stack.push([]); break;
      case 0x29: stack.push(new OTuple([])); break;
      case 0x74: stack.push(new OTuple(popMark())); break;
      case 0x85: case 0x86: case 0x87: stack.push(new OTuple(stack.splice(stack.length - (op - 0x84)))); break;
      case 0x73: { const v = stack.pop()!; const k = stack.pop()!; (stack[stack.length - 1] as Map<unknown, OValue>).set(k, v); break; }
      case 0x75: {
        const items = popMark();
        for (let i = 0; i < items.length; i += 2) (stack[stack.length - 1] as Map<unknown, OValue>).set(items[i], items[i + 1]!);
        break;
      }
      case 0x61: { const v = stack.pop()!; (stack[stack.length - 1] as OValue[]).push(v); break; }
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as OValue[]).push(...items); break; }
      case 0x71: memo.set(bytes[p++]!, stack[stack.length - 1]!); break;
      case 0x72: memo.set(view.getUint32(p, true), stack[stack.length - 1]!); p += 4; break;
      case 0x94: memo.set(memo.size, stack[stack.length - 1]!); break;
      case 0x68: stack.push(memo.get(bytes[p++]!)!); break;
      case 0x6a: stack.push(memo.get(view.getUint32(p, true))!); p += 4; break;
      case 0x63: { // GLOBAL
        const first = bytes.indexOf(0x0a, p);
        const second = bytes.indexOf(0x0a, first + 1);
        stack.push(new OGlobal(`${text(p, first - p)}.${text(first + 1, second - first - 1)}`));
        p = second + 1;
        break;
      }
      case 0x93: { const name = stack.pop() as string; const module = stack.pop() as string; stack.push(new OGlobal(`${module}.${name}`)); break; }
      case 0x52: { const args = stack.pop() as OTuple; const f = stack.pop()!; stack.push(call(f, args.items)); break; }
      case 0x81: { const args = stack.pop() as OTuple; const f = stack.pop()!; stack.push(call(f, args.items)); break; }
      case 0x92: { stack.pop(); const args = stack.pop() as OTuple; const f = stack.pop()!; stack.push(call(f, args.items)); break; } // NEWOBJ_EX
      case 0x62: stack.pop(); break; // BUILD: attributes of an OrderedDict, nothing a tensor needs
      case 0x51: { // BINPERSID
        const pid = (stack.pop() as OTuple).items;
        const storage = new OStorage((pid[1] as OGlobal).name.replace(/^torch\./, ''), pid[2] as string, pid[4] as number);
        storages.push(storage);
        stack.push(storage);
        break;
      }
      default:
        throw new Error(`oracle: opcode 0x${op.toString(16)} at ${p - 1} not known to the oracle`);
    }
  }
}

/** A tensor as the oracle reads it: every element's float32 value and its place in the file. */
export interface OracleTensor {
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array;
  /** File offset of each element (-1 where the storage was deflated). */
  readonly positions: number[];
  /** Whether each element's file value is finite and within float32's range. */
  readonly finite: boolean[];
}

const kSizes: Record<string, number> = { FloatStorage: 4, DoubleStorage: 8, HalfStorage: 2, BFloat16Storage: 2 };

function halfValue(bits: number): number {
  const sign = bits >= 0x8000 ? -1 : 1;
  const exponent = Math.floor(bits / 1024) % 32;
  const mantissa = bits % 1024;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * Math.pow(2, -14) * (mantissa / 1024);
  return sign * Math.pow(2, exponent - 15) * (1 + mantissa / 1024);
}

function elementValue(view: DataView, at: number, type: string, bigEndian: boolean): number {
  const little = !bigEndian;
  if (type === 'FloatStorage') return view.getFloat32(at, little);
  if (type === 'DoubleStorage') return view.getFloat64(at, little);
  if (type === 'HalfStorage') return halfValue(view.getUint16(at, little));
  if (type === 'BFloat16Storage') {
    const f = new DataView(new ArrayBuffer(4));
    f.setUint16(0, view.getUint16(at, little), false);
    return f.getFloat32(0, false);
  }
  throw new Error(`oracle: storage type ${type}`);
}

/**
 * The state_dict: a root dict's 'model_state_dict', 'state_dict', 'model' or 'net' holding a
 * tensor (in that order), else the root if it holds a tensor, else the dicts beneath, level by level.
 */
function oracleStateDict(root: OValue): Map<unknown, OValue> {
  if (root instanceof Map) {
    for (const key of ['model_state_dict', 'state_dict', 'model', 'net']) {
      const value = root.get(key);
      if (value instanceof Map && [...value.values()].some((v) => v instanceof OTensor)) return value;
    }
  }
  let level: OValue[] = [root];
  for (let depth = 0; depth < 4; depth++) {
    const dicts = level.filter((v): v is Map<unknown, OValue> => v instanceof Map);
    const holding = dicts.filter((d) => [...d.values()].some((v) => v instanceof OTensor));
    if (holding.length === 1) return holding[0]!;
    level = dicts.flatMap((d) => [...d.values()]);
  }
  throw new Error('oracle: no state_dict');
}

/**
 * What a `.pth` file holds, read naively: each tensor of its state_dict in dict order, every
 * element read at storage offset + Σ index·stride. Throws a plain Error where it cannot.
 */
export function oracleReadPth(bytes: Uint8Array): OracleTensor[] {
  return oracleReadPthFile(bytes).tensors;
}

/** The tensors, and where each storage's bytes lie in the file (stored entries; legacy data). */
export function oracleReadPthFile(bytes: Uint8Array): { tensors: OracleTensor[]; storageRanges: { key: string; start: number; end: number }[] } {
  let root: OValue;
  const storageBytes = new Map<string, { bytes: Uint8Array; fileOffset: number; exact: boolean }>();
  let bigEndian = false;
  if (bytes[0] === 0x50) {
    const entries = oracleZipEntries(bytes);
    const prefix = entries[0]!.name.slice(0, entries[0]!.name.indexOf('/') + 1);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const byteorder = byName.get(`${prefix}byteorder`);
    bigEndian = byteorder !== undefined && new TextDecoder().decode(oracleEntryBytes(bytes, byteorder)).trim() === 'big';
    root = oracleUnpickle(oracleEntryBytes(bytes, byName.get(`${prefix}data.pkl`)!), 0).value;
    for (const e of entries) {
      if (e.name.startsWith(`${prefix}data/`)) {
        storageBytes.set(e.name.slice(prefix.length + 5), { bytes: oracleEntryBytes(bytes, e), fileOffset: e.data, exact: e.method === 0 });
      }
    }
  } else {
    let at = 0;
    const pickles: OValue[] = [];
    const sizes = new Map<string, number>();
    for (let i = 0; i < 5; i++) {
      const { value, end, storages } = oracleUnpickle(bytes, at);
      for (const s of storages) sizes.set(s.key, s.numel * kSizes[s.type]!);
      pickles.push(value);
      at = end;
    }
    bigEndian = (pickles[2] as Map<unknown, OValue>).get('little_endian') === false;
    root = pickles[3]!;
    for (const key of pickles[4] as string[]) {
      const length = sizes.get(key)!;
      storageBytes.set(key, { bytes: bytes.subarray(at + 8, at + 8 + length), fileOffset: at + 8, exact: true });
      at += 8 + length;
    }
  }
  const tensors: OracleTensor[] = [];
  for (const [name, value] of oracleStateDict(root)) {
    if (!(value instanceof OTensor)) continue;
    const [storage, offset, size, stride] = value.args as [OStorage, number, OTuple, OTuple];
    if (kSizes[storage.type] === undefined && /^(Long|Int|Short|Char|Byte|Bool)Storage$/.test(storage.type)) continue; // integer buffers: set aside
    const shape = size.items as number[];
    const strides = stride.items as number[];
    const source = storageBytes.get(storage.key)!;
    const view = new DataView(source.bytes.buffer, source.bytes.byteOffset, source.bytes.byteLength);
    const elementSize = kSizes[storage.type]!;
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    const positions: number[] = [];
    const finite: boolean[] = [];
    for (let n = 0; n < count; n++) {
      let index = offset;
      let rest = n;
      for (let d = shape.length - 1; d >= 0; d--) {
        index += (rest % shape[d]!) * strides[d]!;
        rest = Math.floor(rest / shape[d]!);
      }
      const v = elementValue(view, index * elementSize, storage.type, bigEndian);
      values[n] = v;
      finite.push(Number.isFinite(Math.fround(v)));
      positions.push(source.exact ? source.fileOffset + index * elementSize : source.fileOffset);
    }
    tensors.push({ name: name as string, shape, values, positions, finite });
  }
  const storageRanges = [...storageBytes]
    .filter(([, s]) => s.exact)
    .map(([key, s]) => ({ key, start: s.fileOffset, end: s.fileOffset + s.bytes.length }));
  return { tensors, storageRanges };
}

// --- crafted cases ---

/** A crafted file and what the reader must do with it: refuse ('file', the message containing `says`) or accept. */
export interface PthCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly outcome: 'file' | 'accept';
  readonly says?: string;
}

const kWeight: TensorSpec = { name: 'fc.weight', storage: '0', numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] };
const kBias: TensorSpec = { name: 'fc.bias', storage: '1', numel: 2, offset: 0, shape: [2], stride: [1] };
const kWeightData = f32(0.5, -1, 2, 0.25, -0.125, 3);
const kBiasData = f32(1, -2);
const kStorages = { '0': kWeightData, '1': kBiasData };

/** The small valid state_dict the crafted cases start from. */
export function baseStateDict(): Uint8Array {
  return writePth(stateDictPickle([kWeight, kBias]), kStorages);
}

/** A file with this pickle and the base storages. */
function withPickle(pickle: Uint8Array | PickleWriter): Uint8Array {
  return writePth(pickle instanceof PickleWriter ? pickle.bytes() : pickle, kStorages);
}

/** A pickle whose root is built by `body` (on a fresh writer after PROTO), then STOP. */
function pickleOf(body: (w: PickleWriter) => void): Uint8Array {
  const w = new PickleWriter().proto(2);
  body(w);
  return w.stop().bytes();
}

/** Patches a little-endian field of a copy. */
function patched(bytes: Uint8Array, edits: [offset: number, size: 2 | 4 | 8, value: number][]): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  for (const [offset, size, value] of edits) {
    if (size === 2) view.setUint16(offset, value, true);
    else if (size === 4) view.setUint32(offset, value >>> 0, true);
    else view.setBigUint64(offset, BigInt(value), true);
  }
  return out;
}

function zipCases(): PthCase[] {
  const pickle = stateDictPickle([kWeight, kBias]);
  const entries = (): ZipEntrySpec[] => [
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/data/0', data: kWeightData },
    { name: 'archive/data/1', data: kBiasData },
    { name: 'archive/version', data: encoder.encode('3\n') },
  ];
  const { bytes, layout } = writeZip(entries());
  const [pkl, first, second] = layout.entries as [ZipLayout['entries'][0], ZipLayout['entries'][0], ZipLayout['entries'][0]];
  const zeros = new Uint8Array(32 * 2 ** 20);
  const bomb = deflateSync(zeros, { level: 9 });
  const withEntry = (index: number, change: Partial<ZipEntrySpec>, style: 'torch' | 'plain' = 'torch') =>
    writeZip(entries().map((e, i) => (i === index ? { ...e, ...change } : e)), style).bytes;
  const plain = writeZip(entries(), 'plain');
  const many = writeZip([...entries(), ...Array.from({ length: 5_000 }, (_, i) => ({ name: `archive/junk/${i}`, data: new Uint8Array(0) }))], 'plain').bytes;
  // Classic layout, entry 0's sizes (local and central) grown over entry 1's local header.
  const overlapping = (() => {
    const [a, b] = plain.layout.entries as [ZipLayout['entries'][0], ZipLayout['entries'][0]];
    const size = b.header - a.data + 10;
    return patched(plain.bytes, [[a.central + 20, 4, size], [a.central + 24, 4, size], [a.header + 18, 4, size], [a.header + 22, 4, size]]);
  })();
  const atTheCap = (() => {
    const draft = withEntry(0, { method: 8, compressed: bomb, declaredSize: 0 });
    return withEntry(0, { method: 8, compressed: bomb, declaredSize: kMaxInflateRatio * draft.length });
  })();
  return [
    { name: 'empty file', bytes: new Uint8Array(0), outcome: 'file', says: 'not a PyTorch file' },
    { name: 'just PK\\3\\4', bytes: Uint8Array.of(0x50, 0x4b, 3, 4), outcome: 'file', says: 'too short' },
    { name: 'random bytes', bytes: Uint8Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256), outcome: 'file', says: 'not a PyTorch file' },
    { name: 'a safetensors header', bytes: concat(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0), encoder.encode('{}')), outcome: 'file', says: 'not a PyTorch file' },
    { name: 'zip with no end record (truncated)', bytes: bytes.subarray(0, layout.end + 10), outcome: 'file', says: 'end-of-central-directory' },
    { name: 'zip bomb: data.pkl declares its real size, inflates to 32 MiB', bytes: withEntry(0, { method: 8, compressed: bomb, declaredSize: pickle.length }), outcome: 'file', says: 'inflates to more than it declares' },
    { name: 'zip bomb: a storage declares 24 bytes, inflates to 32 MiB', bytes: withEntry(1, { method: 8, compressed: bomb, declaredSize: 24 }), outcome: 'file', says: 'inflates to more than it declares' },
    { name: 'zip bomb: declares 32 MiB honestly (over 32 × the file)', bytes: withEntry(0, { method: 8, compressed: bomb, declaredSize: zeros.length }), outcome: 'file', says: 'zip bomb' },
    { name: 'zip bomb: declares 32 × the file (the cap), inflates to 32 MiB', bytes: atTheCap, outcome: 'file', says: 'inflates to more than it declares' },
    { name: 'deflated entry inflating to fewer bytes than declared', bytes: withEntry(0, { method: 8, declaredSize: pickle.length + 100 }), outcome: 'file', says: 'fewer bytes' },
    { name: 'deflated entry with corrupt deflate data', bytes: withEntry(0, { method: 8, compressed: Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) % 256) }), outcome: 'file', says: 'deflate' },
    { name: 'deflated entry cut short', bytes: withEntry(0, { method: 8, compressed: deflateSync(pickle).subarray(0, 40) }), outcome: 'file', says: 'deflate' },
    { name: 'deflated data.pkl and storages (valid)', bytes: writeZip(entries().map((e) => ({ ...e, method: 8 }))).bytes, outcome: 'accept' },
    { name: 'classic zip layout, no descriptors (valid)', bytes: plain.bytes, outcome: 'accept' },
    { name: "fflate's zipSync of the same entries (valid)", bytes: zipSync(Object.fromEntries(entries().map((e) => [e.name, e.data])), { level: 0 }), outcome: 'accept' },
    { name: "fflate's zipSync, deflated (valid)", bytes: zipSync(Object.fromEntries(entries().map((e) => [e.name, e.data]))), outcome: 'accept' },
    { name: '5,000 junk entries besides the state_dict (valid)', bytes: many, outcome: 'accept' },
    { name: 'stored entry whose sizes disagree', bytes: patched(bytes, [[pkl.central + 20, 4, pickle.length - 1]]), outcome: 'file', says: 'sizes must agree' },
    { name: 'stored entry declaring more bytes than the file', bytes: patched(bytes, [[pkl.central + 20, 4, 1e6], [pkl.central + 24, 4, 1e6]]), outcome: 'file', says: 'run past' },
    { name: 'entry sizes lie: one byte short, descriptor unchanged', bytes: patched(bytes, [[first.central + 20, 4, 23], [first.central + 24, 4, 23]]), outcome: 'file', says: 'descriptor' },
    { name: 'entries overlap (one entry grown over the next)', bytes: overlapping, outcome: 'file', says: 'overlap' },
    { name: 'two central records for one local header', bytes: patched(bytes, [[second.central + 42, 4, first.header]]), outcome: 'file', says: 'different entry' },
    { name: 'local header at an offset inside another entry', bytes: patched(bytes, [[second.central + 42, 4, first.data]]), outcome: 'file', says: 'signature' },
    { name: 'local header offset past the entries', bytes: patched(bytes, [[second.central + 42, 4, layout.centralOffset - 10]]), outcome: 'file', says: 'local header' },
    { name: 'local header names another entry', bytes: (() => { const b = bytes.slice(); b[first.header + 30 + 'archive/data/'.length] = 0x39; return b; })(), outcome: 'file', says: 'different entry' },
    { name: 'local header method disagrees', bytes: patched(bytes, [[first.header + 8, 2, 8]]), outcome: 'file', says: 'compression method' },
    { name: 'descriptor CRC disagrees with the central directory', bytes: patched(bytes, [[first.descriptor + 4, 4, 1234]]), outcome: 'file', says: 'descriptor' },
    { name: 'classic layout: local sizes disagree', bytes: patched(plain.bytes, [[plain.layout.entries[1]!.header + 18, 4, 25]]), outcome: 'file', says: 'disagree' },
    { name: 'CRC-32 wrong in both places (data corrupt)', bytes: patched(bytes, [[first.central + 16, 4, 1], [first.descriptor + 4, 4, 1]]), outcome: 'file', says: 'CRC-32' },
    { name: 'duplicate entry names', bytes: writeZip([...entries(), { name: 'archive/data/0', data: kWeightData }]).bytes, outcome: 'file', says: 'appears twice' },
    { name: 'encrypted entry', bytes: patched(bytes, [[pkl.central + 8, 2, 0x0809], [pkl.header + 6, 2, 0x0809]]), outcome: 'file', says: 'encrypted' },
    { name: 'compression method 12 (bzip2)', bytes: patched(bytes, [[pkl.central + 10, 2, 12], [pkl.header + 8, 2, 12]]), outcome: 'file', says: 'compression method' },
    { name: 'zip64 sentinel sizes', bytes: patched(bytes, [[pkl.central + 20, 4, 0xffffffff]]), outcome: 'file', says: 'zip64' },
    { name: 'zip64 sentinel entry count', bytes: patched(bytes, [[layout.end + 8, 2, 0xffff], [layout.end + 10, 2, 0xffff]]), outcome: 'file', says: 'zip64' },
    { name: 'multi-disk archive', bytes: patched(bytes, [[layout.end + 4, 2, 1]]), outcome: 'file', says: 'multi-disk' },
    { name: 'entry count one more than the records', bytes: patched(bytes, [[layout.end + 8, 2, 5], [layout.end + 10, 2, 5], [layout.zip64End + 24, 8, 5], [layout.zip64End + 32, 8, 5]]), outcome: 'file', says: 'central directory' },
    { name: 'entry count one fewer than the records', bytes: patched(bytes, [[layout.end + 8, 2, 3], [layout.end + 10, 2, 3], [layout.zip64End + 24, 8, 3], [layout.zip64End + 32, 8, 3]]), outcome: 'file', says: 'after its 3 records' },
    { name: 'entry count 65,534 with 4 records', bytes: patched(bytes, [[layout.end + 8, 2, 65534], [layout.end + 10, 2, 65534], [layout.zip64End + 24, 8, 65534], [layout.zip64End + 32, 8, 65534]]), outcome: 'file', says: 'central directory' },
    { name: 'zip64 end record disagrees with the end record', bytes: patched(bytes, [[layout.zip64End + 32, 8, 7]]), outcome: 'file', says: 'zip64 end record' },
    { name: 'central directory offset past the file', bytes: patched(bytes, [[layout.end + 16, 4, 0x7fffffff]]), outcome: 'file', says: 'central directory' },
    { name: 'central directory size too large', bytes: patched(bytes, [[layout.end + 12, 4, layout.centralSize + 1]]), outcome: 'file', says: 'central directory' },
    { name: 'central record name length runs past the directory', bytes: patched(bytes, [[second.central + 28, 2, 5000]]), outcome: 'file', says: 'runs past' },
    { name: 'entry name 2,000 bytes', bytes: writeZip([...entries(), { name: `archive/${'n'.repeat(2000)}`, data: new Uint8Array(1) }]).bytes, outcome: 'file', says: 'found 2008' },
    { name: 'entry name invalid UTF-8', bytes: (() => { const b = bytes.slice(); b[layout.entries[3]!.central + 46 + 8] = 0xff; return b; })(), outcome: 'file', says: 'UTF-8' },
    { name: 'end record comment length runs past the file', bytes: patched(bytes, [[layout.end + 20, 2, 40]]), outcome: 'file', says: 'end-of-central-directory' },
    { name: 'a 100-byte comment after the end record (valid)', bytes: concat(patched(bytes, [[layout.end + 20, 2, 100]]), new Uint8Array(100).fill(0x50)), outcome: 'accept' },
    { name: 'no data.pkl', bytes: writeZip(entries().slice(1)).bytes, outcome: 'file', says: 'data.pkl' },
    { name: 'a TorchScript archive', bytes: writeZip([{ name: 'archive/constants.pkl', data: pickle }, { name: 'archive/code/__torch__.py', data: new Uint8Array(3) }]).bytes, outcome: 'file', says: 'TorchScript' },
    { name: 'entries not in a folder', bytes: writeZip(entries().map((e) => ({ ...e, name: e.name.replace('archive/', '') }))).bytes, outcome: 'file', says: 'one folder' },
    { name: "version 'abc'", bytes: withEntry(3, { data: encoder.encode('abc\n') }), outcome: 'file', says: 'version' },
    { name: "byteorder 'middle'", bytes: writeZip([...entries(), { name: 'archive/byteorder', data: encoder.encode('middle') }]).bytes, outcome: 'file', says: "'little' or 'big'" },
    { name: "byteorder 'big' with big-endian storages (valid)", bytes: writeZip([
      ...entries().map((e) => (e.name.includes('/data/') ? { ...e, data: swap4(e.data) } : e)),
      { name: 'archive/byteorder', data: encoder.encode('big') },
    ]).bytes, outcome: 'accept' },
    { name: "byteorder 'little' (valid)", bytes: writeZip([...entries(), { name: 'archive/byteorder', data: encoder.encode('little') }]).bytes, outcome: 'accept' },
    { name: 'storage entry missing', bytes: writeZip(entries().filter((e) => e.name !== 'archive/data/1')).bytes, outcome: 'file', says: "storage '1'" },
    { name: 'storage entry shorter than its declared size', bytes: withEntry(1, { data: kWeightData.subarray(0, 20) }), outcome: 'file', says: 'expected its entry' },
    { name: 'storage entry longer than its declared size', bytes: withEntry(1, { data: concat(kWeightData, new Uint8Array(4)) }), outcome: 'file', says: 'expected its entry' },
  ];
}

function swap4(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) out.set([bytes[i + 3]!, bytes[i + 2]!, bytes[i + 1]!, bytes[i]!], i);
  return out;
}

/** Pickles that call something: each must be refused by name, and nothing may run. */
function attackCases(): PthCase[] {
  const call = (global: (w: PickleWriter) => void, arg = 'touch /tmp/pwned') =>
    withPickle(pickleOf((w) => {
      global(w);
      w.str(arg).tupleN(1).reduce();
    }));
  const inStateDict = (global: (w: PickleWriter) => void) =>
    withPickle(pickleOf((w) => {
      w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
      writeTensor(w.str('fc.weight'), kWeight);
      w.str('payload');
      global(w);
      w.str('id').tupleN(1).reduce().setitems();
    }));
  const g = (module: string, name: string) => (w: PickleWriter) => w.global(module, name);
  const sg = (module: string, name: string) => (w: PickleWriter) => w.stackGlobal(module, name);
  return [
    { name: 'GLOBAL os.system + REDUCE', bytes: call(g('os', 'system')), outcome: 'file', says: "'os.system'" },
    { name: 'GLOBAL posix.system + REDUCE', bytes: call(g('posix', 'system')), outcome: 'file', says: "'posix.system'" },
    { name: 'GLOBAL nt.system + REDUCE', bytes: call(g('nt', 'system')), outcome: 'file', says: "'nt.system'" },
    { name: 'GLOBAL builtins.eval + REDUCE', bytes: call(g('builtins', 'eval'), '__import__("os").system("id")'), outcome: 'file', says: "'builtins.eval'" },
    { name: 'GLOBAL __builtin__.exec + REDUCE', bytes: call(g('__builtin__', 'exec')), outcome: 'file', says: "'__builtin__.exec'" },
    { name: 'GLOBAL subprocess.Popen + REDUCE', bytes: call(g('subprocess', 'Popen')), outcome: 'file', says: "'subprocess.Popen'" },
    { name: 'GLOBAL subprocess.check_output + REDUCE', bytes: call(g('subprocess', 'check_output')), outcome: 'file', says: "'subprocess.check_output'" },
    { name: 'STACK_GLOBAL os.system + REDUCE', bytes: call(sg('os', 'system')), outcome: 'file', says: "'os.system'" },
    { name: 'STACK_GLOBAL builtins.eval + REDUCE', bytes: call(sg('builtins', 'eval')), outcome: 'file', says: "'builtins.eval'" },
    { name: 'STACK_GLOBAL builtins.getattr + REDUCE', bytes: call(sg('builtins', 'getattr')), outcome: 'file', says: "'builtins.getattr'" },
    { name: 'STACK_GLOBAL posix.system + REDUCE', bytes: call(sg('posix', 'system')), outcome: 'file', says: "'posix.system'" },
    { name: 'GLOBAL torch.storage._load_from_bytes (pickle inside a pickle)', bytes: call(g('torch.storage', '_load_from_bytes')), outcome: 'file', says: "'torch.storage._load_from_bytes'" },
    { name: 'GLOBAL torch.load + REDUCE', bytes: call(g('torch', 'load')), outcome: 'file', says: "'torch.load'" },
    { name: 'GLOBAL numpy.core.multiarray._reconstruct', bytes: call(g('numpy.core.multiarray', '_reconstruct')), outcome: 'file', says: "'numpy.core.multiarray._reconstruct'" },
    { name: 'os.system called inside a valid state_dict', bytes: inStateDict(g('os', 'system')), outcome: 'file', says: "'os.system'" },
    { name: 'builtins.eval by STACK_GLOBAL inside a valid state_dict', bytes: inStateDict(sg('builtins', 'eval')), outcome: 'file', says: "'builtins.eval'" },
    { name: 'os.system memoised, fetched by BINGET, then called', bytes: withPickle(pickleOf((w) => {
      w.global('os', 'system').put(7).none().tupleN(1).get(7).str('id').tupleN(1).reduce();
    })), outcome: 'file', says: "'os.system'" },
    { name: 'os.system by NEWOBJ', bytes: withPickle(pickleOf((w) => w.global('os', 'system').str('id').tupleN(1).newobj())), outcome: 'file', says: "'os.system'" },
    { name: 'os.system named but never called', bytes: withPickle(pickleOf((w) => w.global('os', 'system'))), outcome: 'file', says: "'os.system'" },
    { name: 'global then a broken pickle (refusal still names the global)', bytes: withPickle(new PickleWriter().proto(2).global('os', 'system').str('id').tupleN(1).reduce().setitems().stop()), outcome: 'file', says: "'os.system'" },
    { name: 'INST opcode (protocol 0 call)', bytes: withPickle(new PickleWriter().proto(2).mark().str('id').raw(0x69).rawBytes(encoder.encode('os\nsystem\n')).stop()), outcome: 'file', says: 'INST' },
    { name: 'OBJ opcode', bytes: withPickle(new PickleWriter().proto(2).mark().global('os', 'system').str('id').raw(0x6f).stop()), outcome: 'file', says: "'os.system'" },
    { name: 'EXT1 (copyreg extension registry)', bytes: withPickle(new PickleWriter().proto(2).raw(0x82, 1).emptyTuple().reduce().stop()), outcome: 'file', says: 'EXT1' },
    { name: 'protocol 0 GET/PUT text opcodes', bytes: withPickle(new PickleWriter().proto(2).none().raw(0x70).rawBytes(encoder.encode('0\n')).stop()), outcome: 'file', says: 'PUT' },
    { name: 'PROTO 6', bytes: withPickle(new PickleWriter().proto(6).emptyDict().stop()), outcome: 'file', says: 'protocol' },
    { name: 'a whole module: __main__.Net by NEWOBJ + BUILD', bytes: withPickle(pickleOf((w) => {
      w.global('__main__', 'Net').emptyTuple().newobj().emptyDict().mark().str('training').bool(true)
        .str('_parameters').global('collections', 'OrderedDict').emptyTuple().reduce()
        .str('_modules').global('collections', 'OrderedDict').emptyTuple().reduce().setitems().build();
    })), outcome: 'file', says: 'model.state_dict()' },
    { name: 'a whole module: torch.nn.modules.conv.Conv2d', bytes: withPickle(pickleOf((w) => w.global('torch.nn.modules.conv', 'Conv2d').emptyTuple().newobj())), outcome: 'file', says: 'model.state_dict()' },
    { name: 'unknown storage type torch.UntypedStorage', bytes: withPickle(stateDictPickle([{ ...kWeight, type: 'UntypedStorage' }])), outcome: 'file', says: "'torch.UntypedStorage'" },
    { name: '_rebuild_from_type_v2 given itself as the function, nested 5,000 deep', bytes: withPickle(pickleOf((w) => {
      w.emptyDict().str('w');
      w.global('torch._tensor', '_rebuild_from_type_v2').put(1).raw(0x30); // memo 1: F (POP)
      w.global('torch', 'Tensor').put(2).raw(0x30); // memo 2: Tensor
      w.mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().persid();
      w.int(0).ints([6]).ints([1]).bool(false).emptyDict().tuple(); // the tensor's own arguments
      // Each level: (F, Tensor, <the level below>, {}); a reader that called F for F would recurse 5,000 deep.
      for (let i = 0; i < 5_000; i++) w.put(3).raw(0x30).mark().get(1).get(2).get(3).emptyDict().tuple();
      w.put(3).raw(0x30).get(1).get(3).reduce().setitem();
    })), outcome: 'file', says: '_rebuild_from_type_v2' },
    { name: 'torch._utils._rebuild_qtensor (quantised)', bytes: withPickle(pickleOf((w) => {
      w.emptyDict().str('q').global('torch._utils', '_rebuild_qtensor').emptyTuple().reduce().setitem();
    })), outcome: 'file', says: "'torch._utils._rebuild_qtensor'" },
  ];
}

/** Deep, cyclic, huge and malformed pickles: each a prompt typed error (or a valid control). */
function structureCases(): PthCase[] {
  const repeat = (count: number, body: (w: PickleWriter) => void, after?: (w: PickleWriter) => void) =>
    withPickle(pickleOf((w) => {
      for (let i = 0; i < count; i++) body(w);
      after?.(w);
    }));
  const tensorsThen = (extra: (w: PickleWriter) => void) => withPickle(pickleOf((w) => {
    w.global('collections', 'OrderedDict').emptyTuple().reduce().put(0).mark();
    writeTensor(w.str('fc.weight'), kWeight);
    writeTensor(w.str('fc.bias'), kBias);
    w.setitems();
    extra(w);
  }));
  /** Each new container holds the previous one, fetched from the memo: deep nesting on a stack of 3. */
  const memoChain = (count: number, kind: 'list' | 'dict') => withPickle(pickleOf((w) => {
    (kind === 'list' ? w.emptyList() : w.emptyDict()).put(0).raw(0x30);
    for (let i = 0; i < count; i++) {
      if (kind === 'list') w.emptyList().get(0).append();
      else w.emptyDict().str('a').get(0).setitem();
      w.put(0).raw(0x30); // POP
    }
    w.get(0);
  }));
  return [
    { name: '100,000 MARKs', bytes: repeat(100_000, (w) => w.mark()), outcome: 'file', says: 'MARK' },
    { name: '100,000 EMPTY_LISTs then 99,999 APPENDs (stack cap)', bytes: repeat(100_000, (w) => w.emptyList(), (w) => { for (let i = 1; i < 100_000; i++) w.append(); }), outcome: 'file', says: 'stack' },
    { name: '9,000 EMPTY_LISTs then 8,999 APPENDs (a list nested 9,000 deep)', bytes: repeat(9_000, (w) => w.emptyList(), (w) => { for (let i = 1; i < 9_000; i++) w.append(); }), outcome: 'file', says: 'state_dict' },
    { name: '10,001 NONEs (stack cap)', bytes: repeat(10_001, (w) => w.none()), outcome: 'file', says: 'stack' },
    { name: 'a list nested 9,500 deep through the memo', bytes: memoChain(9_500, 'list'), outcome: 'file', says: 'state_dict' },
    { name: 'a dict nested 8,000 deep through the memo', bytes: memoChain(8_000, 'dict'), outcome: 'file', says: 'no tensors' },
    { name: 'a dict that contains itself', bytes: withPickle(pickleOf((w) => w.emptyDict().put(0).str('self').get(0).setitem())), outcome: 'file', says: 'no tensors' },
    { name: 'a list that contains itself', bytes: withPickle(pickleOf((w) => w.emptyList().put(0).get(0).append())), outcome: 'file', says: 'state_dict' },
    { name: 'two dicts that contain each other', bytes: withPickle(pickleOf((w) => w.emptyDict().put(0).str('b').emptyDict().put(1).str('a').get(0).setitem().setitem())), outcome: 'file', says: 'no tensors' },
    { name: 'a state_dict that contains itself (valid)', bytes: tensorsThen((w) => w.str('self').get(0).setitem()), outcome: 'accept' },
    { name: 'a state_dict with ints, strs, None and a nested dict beside its tensors (valid)', bytes: tensorsThen((w) => w.str('epoch').int(3).setitem().str('note').str('x').setitem().str('none').none().setitem().str('sub').emptyDict().setitem()), outcome: 'accept' },
    { name: 'a state_dict built as OrderedDict, then BUILD with _metadata (valid)', bytes: tensorsThen((w) => w.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce().setitem().build()), outcome: 'accept' },
    { name: 'tensors with an int key', bytes: withPickle(pickleOf((w) => { w.emptyDict().int(0); writeTensor(w, kWeight).setitem(); })), outcome: 'file', says: 'expected a str' },
    { name: 'a list as a dict key', bytes: withPickle(pickleOf((w) => w.emptyDict().emptyList().int(1).setitem())), outcome: 'file', says: 'hashable' },
    { name: 'BINUNICODE claiming 4 GiB - 16', bytes: withPickle(new PickleWriter().proto(2).strPrefix(0xfffffff0).raw(0x61, 0x62).stop()), outcome: 'file', says: 'more bytes' },
    { name: 'BINUNICODE8 claiming 2^60 bytes', bytes: withPickle(new PickleWriter().proto(2).raw(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x10).stop()), outcome: 'file', says: 'more bytes' },
    { name: 'BINBYTES claiming 2 GiB', bytes: withPickle(new PickleWriter().proto(2).raw(0x42, 0, 0, 0, 0x80).stop()), outcome: 'file', says: 'more bytes' },
    { name: 'LONG4 of 2^31 - 1 bytes', bytes: withPickle(new PickleWriter().proto(2).raw(0x8b, 0xff, 0xff, 0xff, 0x7f).stop()), outcome: 'file', says: 'LONG4' },
    { name: 'FRAME of 2^63 bytes', bytes: withPickle(new PickleWriter().proto(4).raw(0x95, 0, 0, 0, 0, 0, 0, 0, 0x80).emptyDict().stop()), outcome: 'file', says: 'FRAME' },
    { name: 'GLOBAL line with no newline for 100 KB', bytes: withPickle(new PickleWriter().proto(2).raw(0x63).rawBytes(new Uint8Array(100_000).fill(0x61)).stop()), outcome: 'file', says: 'GLOBAL' },
    { name: 'LONG_BINGET of a memo index never stored', bytes: withPickle(new PickleWriter().proto(2).get(0xfffffff0).stop()), outcome: 'file', says: 'memo entry' },
    { name: 'LONG_BINPUT at index 2^32 - 1 (valid, sparse memo)', bytes: withPickle(pickleOf((w) => {
      w.global('collections', 'OrderedDict').emptyTuple().reduce().put(0xffffffff).mark();
      writeTensor(w.str('fc.weight'), kWeight);
      w.setitems();
    })), outcome: 'accept' },
    { name: '20,001 memo entries (memo cap)', bytes: repeat(1, (w) => { w.none(); for (let i = 0; i < 20_001; i++) w.raw(0x94); }), outcome: 'file', says: 'memo' },
    { name: '25,001 items in one list by APPENDS of 5,000 (container cap)', bytes: repeat(1, (w) => {
      w.emptyList();
      for (let i = 0; i < 6; i++) {
        w.mark();
        for (let k = 0; k < 5_000; k++) w.none();
        w.appends();
      }
    }), outcome: 'file', says: 'list of more than' },
    { name: '50,001 opcodes (work cap)', bytes: repeat(1, (w) => { for (let i = 0; i < 25_001; i++) w.none().raw(0x30); w.emptyDict(); }), outcome: 'file', says: 'opcodes' },
    { name: 'stack underflow (REDUCE on an empty stack)', bytes: withPickle(new PickleWriter().proto(2).reduce().stop()), outcome: 'file', says: 'underflow' },
    { name: 'pop below a MARK', bytes: withPickle(new PickleWriter().proto(2).none().mark().setitem().stop()), outcome: 'file', says: 'underflow' },
    { name: 'SETITEMS with an odd count', bytes: withPickle(new PickleWriter().proto(2).emptyDict().mark().none().setitems().stop()), outcome: 'file', says: 'pairs' },
    { name: 'APPEND to a dict', bytes: withPickle(new PickleWriter().proto(2).emptyDict().none().append().stop()), outcome: 'file', says: 'expected a list' },
    { name: 'SETITEM on a tuple', bytes: withPickle(new PickleWriter().proto(2).emptyTuple().none().none().setitem().stop()), outcome: 'file', says: 'expected a dict' },
    { name: 'REDUCE with a list of arguments', bytes: withPickle(new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyList().reduce().stop()), outcome: 'file', says: 'tuple of arguments' },
    { name: 'REDUCE on a string', bytes: withPickle(new PickleWriter().proto(2).str('os.system').emptyTuple().reduce().stop()), outcome: 'file', says: 'callable' },
    { name: 'OrderedDict with arguments', bytes: withPickle(new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyList().tupleN(1).reduce().stop()), outcome: 'file', says: 'no arguments' },
    { name: 'BUILD on a tensor', bytes: withPickle(pickleOf((w) => { w.emptyDict().str('w'); writeTensor(w, kWeight).emptyDict().build().setitem(); })), outcome: 'file', says: 'BUILD' },
    { name: 'NEWOBJ on _rebuild_tensor_v2', bytes: withPickle(new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').emptyTuple().newobj().stop()), outcome: 'file', says: 'NEWOBJ' },
    { name: 'no STOP', bytes: withPickle(new PickleWriter().proto(2).emptyDict()), outcome: 'file', says: 'STOP' },
    { name: 'bytes after STOP', bytes: withPickle(concat(stateDictPickle([kWeight, kBias]), Uint8Array.of(0x4e))), outcome: 'file', says: 'after it' },
    { name: 'an opcode byte that is none (0xff)', bytes: withPickle(new PickleWriter().proto(2).raw(0xff).stop()), outcome: 'file', says: '0xff' },
    { name: 'invalid UTF-8 in a string', bytes: withPickle(new PickleWriter().proto(2).raw(0x8c, 2, 0xc3, 0x28).stop()), outcome: 'file', says: 'UTF-8' },
    { name: 'an empty data.pkl', bytes: withPickle(new Uint8Array(0)), outcome: 'file', says: 'STOP' },
    { name: 'root a list of tensors', bytes: withPickle(pickleOf((w) => { w.emptyList(); writeTensor(w, kWeight).append(); })), outcome: 'file', says: 'a list of 1' },
    { name: 'root a single tensor (torch.save(tensor))', bytes: withPickle(pickleOf((w) => writeTensor(w, kWeight))), outcome: 'file', says: 'torch.save(tensor)' },
    { name: 'an empty state_dict', bytes: withPickle(pickleOf((w) => w.global('collections', 'OrderedDict').emptyTuple().reduce())), outcome: 'file', says: 'no tensors' },
    { name: "checkpoint {'a': {'b': state_dict}} (valid)", bytes: withPickle(pickleOf((w) => {
      w.emptyDict().str('a').emptyDict().str('b').global('collections', 'OrderedDict').emptyTuple().reduce().mark();
      writeTensor(w.str('fc.weight'), kWeight);
      w.setitems().setitem().setitem();
    })), outcome: 'accept' },
    { name: 'state_dict 5 dicts down', bytes: withPickle(pickleOf((w) => {
      for (let i = 0; i < 5; i++) w.emptyDict().str(`k${i}`);
      w.emptyDict().mark();
      writeTensor(w.str('fc.weight'), kWeight);
      w.setitems();
      for (let i = 0; i < 5; i++) w.setitem();
    })), outcome: 'file', says: 'no tensors' },
  ];
}

/** Tensors whose view or storage is wrong. */
function tensorCases(): PthCase[] {
  const one = (t: Partial<TensorSpec>, storages: Record<string, Uint8Array> = kStorages) =>
    writePth(stateDictPickle([{ ...kWeight, ...t }]), storages);
  const raw = (body: (w: PickleWriter) => void) => withPickle(pickleOf((w) => {
    w.emptyDict().str('fc.weight').global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().persid();
    body(w);
    w.tuple().reduce().setitem();
  }));
  return [
    { name: 'view past the storage end (offset)', bytes: one({ offset: 1 }), outcome: 'file', says: 'expected it to hold them' },
    { name: 'view past the storage end (stride)', bytes: one({ stride: [4, 1] }), outcome: 'file', says: 'expected it to hold them' },
    { name: 'view past the storage end (shape)', bytes: one({ shape: [3, 3] }), outcome: 'file', says: 'expected it to hold them' },
    { name: 'stride 2^52 (the sum would overflow 2^53)', bytes: one({ shape: [2, 3], stride: [2 ** 52, 1] }), outcome: 'file', says: 'expected it to hold them' },
    { name: 'offset 2^53 - 1', bytes: one({ offset: Number.MAX_SAFE_INTEGER }), outcome: 'file', says: 'expected it to hold them' },
    { name: 'size 2^40 (needs 4 TiB)', bytes: one({ shape: [2 ** 40], stride: [0] }), outcome: 'file', says: 'at most 16' },
    { name: 'expand to 10^9 elements by stride 0', bytes: one({ shape: [1000, 1000, 1000], stride: [0, 0, 0] }), outcome: 'file', says: 'at most 16' },
    { name: 'expand to 1,000 elements by stride 0 (valid)', bytes: one({ shape: [10, 100], stride: [0, 0] }), outcome: 'accept' },
    { name: 'size as a LONG1 of 2^70', bytes: raw((w) => w.int(0).long1(2n ** 70n).tupleN(1).int(1).tupleN(1).bool(false).emptyDict()), outcome: 'file', says: 'size' },
    { name: 'negative offset', bytes: one({ offset: -1 }), outcome: 'file', says: 'offset' },
    { name: 'negative stride', bytes: one({ stride: [3, -1] }), outcome: 'file', says: 'stride' },
    { name: 'float size', bytes: raw((w) => w.int(0).float(2).int(3).tupleN(2).int(3).int(1).tupleN(2).bool(false).emptyDict()), outcome: 'file', says: 'size' },
    { name: 'stride of the wrong rank', bytes: one({ stride: [1] }), outcome: 'file', says: 'strides' },
    { name: '17 dimensions', bytes: one({ shape: new Array(17).fill(1), stride: new Array(17).fill(1) }), outcome: 'file', says: 'at most 16' },
    { name: '_rebuild_tensor_v2 with 3 arguments', bytes: raw((w) => w.int(0).ints([6])), outcome: 'file', says: '_rebuild_tensor_v2' },
    { name: 'storage argument a string', bytes: withPickle(pickleOf((w) => {
      w.emptyDict().str('fc.weight').global('torch._utils', '_rebuild_tensor_v2').mark().str('0').int(0).ints([6]).ints([1]).bool(false).emptyDict().tuple().reduce().setitem();
    })), outcome: 'file', says: 'storage' },
    { name: 'persistent id of 4 items', bytes: withPickle(pickleOf((w) => w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').tuple().persid())), outcome: 'file', says: 'persistent id' },
    { name: "persistent id 'module' (legacy whole model)", bytes: withPickle(pickleOf((w) => w.mark().str('module').global('__main__', 'Net').str('x.py').str('class Net: ...').tuple().persid())), outcome: 'file', says: 'model.state_dict()' },
    { name: 'persistent id with a negative size', bytes: one({ numel: -6 }), outcome: 'file', says: 'storage size' },
    { name: 'persistent id with a str size', bytes: withPickle(pickleOf((w) => w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').str('6').tuple().persid())), outcome: 'file', says: 'storage size' },
    { name: 'persistent id key 1,000 characters', bytes: one({ storage: 'k'.repeat(1000) }), outcome: 'file', says: 'storage key' },
    { name: 'one storage named as float32 and as float64', bytes: writePth(stateDictPickle([kWeight, { ...kBias, storage: '0', type: 'DoubleStorage', numel: 6 }]), kStorages), outcome: 'file', says: 'named twice' },
    { name: 'a ComplexFloatStorage tensor', bytes: one({ type: 'ComplexFloatStorage', numel: 3, shape: [3], stride: [1] }), outcome: 'file', says: 'complex64' },
    { name: 'a BoolStorage tensor (set aside, valid)', bytes: one({ type: 'BoolStorage', numel: 24, shape: [24], stride: [1] }), outcome: 'accept' },
    { name: 'an int64 num_batches_tracked (set aside, valid)', bytes: one({ name: 'bn.num_batches_tracked', type: 'LongStorage', numel: 3, shape: [], stride: [], offset: 0 }), outcome: 'accept' },
    { name: 'an int64 buffer whose view overruns its storage', bytes: one({ name: 'bn.num_batches_tracked', type: 'LongStorage', numel: 3, shape: [4], stride: [1] }), outcome: 'file', says: 'expected it to hold them' },
    { name: 'an int64 buffer of 2^40 elements (no allocation by its size)', bytes: one({ name: 'bn.num_batches_tracked', type: 'LongStorage', numel: 2 ** 40, shape: [2 ** 40], stride: [1] }), outcome: 'file' },
    { name: 'Inf in the weights', bytes: one({}, { ...kStorages, '0': f32(1, 2, Infinity, 4, 5, 6) }), outcome: 'file', says: 'Infinity' },
    { name: 'NaN in an unused part of the storage (valid)', bytes: writePth(stateDictPickle([{ ...kWeight, numel: 7 }]), { '0': concat(kWeightData, f32(NaN)) }), outcome: 'accept' },
    { name: 'a 0-d tensor (valid)', bytes: one({ shape: [], stride: [], offset: 5 }), outcome: 'accept' },
    { name: 'an empty tensor at the storage end (valid)', bytes: one({ shape: [0, 3], stride: [3, 1], offset: 6 }), outcome: 'accept' },
    { name: 'an empty tensor past the storage end', bytes: one({ shape: [0, 3], stride: [3, 1], offset: 7 }), outcome: 'file', says: 'expected it to hold them' },
  ];
}

/** Legacy-format files built by the writers above. */
function legacyCases(): PthCase[] {
  const pickle = legacyStateDictPickle([kWeight, kBias]);
  const storages: [string, number, Uint8Array][] = [['0', 6, kWeightData], ['1', 2, kBiasData]];
  return [
    { name: 'legacy format (valid)', bytes: writeLegacy(pickle, storages), outcome: 'accept' },
    { name: 'legacy format, big-endian (valid)', bytes: writeLegacy(pickle, storages.map(([k, n, d]) => [k, n, swap4(d)]), false), outcome: 'accept' },
    { name: 'legacy format, storages listed in reverse (valid)', bytes: writeLegacy(pickle, [...storages].reverse()), outcome: 'accept' },
    { name: 'legacy: a storage count that disagrees', bytes: writeLegacy(pickle, [['0', 7, kWeightData], ['1', 2, kBiasData]]), outcome: 'file', says: 'count of 7' },
    { name: 'legacy: a storage missing from the key list', bytes: writeLegacy(pickle, storages.slice(0, 1)), outcome: 'file', says: 'missing from the list' },
    { name: 'legacy: a key no tensor uses', bytes: writeLegacy(pickle, [...storages, ['9', 1, f32(0)]]), outcome: 'file', says: 'no tensor uses' },
    { name: 'legacy: data cut short', bytes: writeLegacy(pickle, storages).subarray(0, -3), outcome: 'file', says: 'left' },
    { name: 'legacy: bytes after the last storage', bytes: concat(writeLegacy(pickle, storages), new Uint8Array(5)), outcome: 'file', says: 'more bytes' },
    { name: 'legacy: a storage view', bytes: writeLegacy(new PickleWriter().proto(2).emptyDict().str('w').global('torch._utils', '_rebuild_tensor_v2').mark()
      .mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).str('0').int(0).int(6).tupleN(3).tuple().persid()
      .int(0).ints([6]).ints([1]).bool(false).emptyDict().tuple().reduce().setitem().stop().bytes(), storages.slice(0, 1)), outcome: 'file', says: 'torch.save(torch.load(f), f2)' },
    { name: 'legacy: wrong protocol version', bytes: (() => {
      const file = writeLegacy(pickle, storages);
      const at = 15 + 3; // the BININT2 after the magic pickle's 15 bytes and PROTO
      const out = file.slice();
      out[at] = 0xea; // 1001 -> 1002
      return out;
    })(), outcome: 'file', says: 'protocol version' },
    { name: 'legacy: os.system in the state_dict pickle', bytes: writeLegacy(new PickleWriter().proto(2).global('os', 'system').str('id').tupleN(1).reduce().stop().bytes(), []), outcome: 'file', says: "'os.system'" },
  ];
}

/** Every crafted case. */
export function craftedPthCases(): PthCase[] {
  return [...zipCases(), ...attackCases(), ...structureCases(), ...tensorCases(), ...legacyCases()];
}
