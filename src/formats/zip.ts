/**
 * A validating reader of the ZIP archives `torch.save` writes (PyTorch 1.6 and later).
 *
 * What PyTorch writes (miniz, seen in torch 1.13 files): every entry stored (method 0), local
 * headers with flag bit 3 set and CRC and sizes left zero, each entry's data followed by a data
 * descriptor (signature, CRC-32, 32-bit sizes), a local extra field 'FB' of 'Z' padding that
 * aligns the data to 64 bytes, then the central directory, a zip64 end record and locator, and
 * the classic end record (real 32-bit values, no comment).
 *
 * The reader trusts no number in the file. Before any entry is read, the end record, every
 * central-directory record and every local header are checked against each other and against
 * the bytes present: entry counts and sizes consistent, names equal in both headers, data and
 * descriptors inside the file and before the central directory, no two entries overlapping.
 * Deflated entries (PyTorch never writes them; hostile files may) are inflated by fflate into
 * a buffer of the declared size, which is bounded first (all declared sizes together at most
 * 32 × the file's size and 256 MiB), in pieces small enough that a stream producing more than
 * it declared is stopped within 256 KiB of its claim. Every entry read is checked against its
 * CRC-32 (PyTorch itself does not check it: a corrupt file loads different weights silently).
 *
 * Zip64 archives (over 4 GiB or 65,535 entries), encryption, multi-disk archives and methods
 * other than stored and deflate are refused with a message saying so.
 */
import { Inflate, inflateSync } from 'fflate';
import { WeightsFileError } from '../errors.js';

/** One entry as its central-directory record and local header describe it (both checked). */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: 0 | 8;
  readonly crc32: number;
  readonly compressedSize: number;
  /** The size of the entry's contents (inflated). */
  readonly size: number;
  /** File offset of the local header. */
  readonly headerOffset: number;
  /** File offset of the entry's (compressed) data. */
  readonly dataOffset: number;
}

/**
 * Declared inflated bytes may total at most this many times the archive's size… (PyTorch
 * stores every entry; a re-zipped state_dict deflates ~1.1:1, its pickle ~4:1.)
 */
export const kMaxInflateRatio = 32;
/** …and at most this many bytes. */
export const kMaxInflatedBytes = 256 * 2 ** 20;
/** Entry names longer than this are refused (PyTorch's are `<stem>/data/<n>`). */
export const kMaxNameBytes = 1024;
/**
 * Deflate expands at most ~1,032:1. Input is fed in pieces of (bytes still to come + slack) /
 * 1,032, so one piece can overshoot the declared size by at most the slack before the stream is
 * stopped: inflating a bomb costs at most its declared size (bounded in readZip) plus 256 KiB.
 * An entry that fits one piece is inflated in one call. The price is paid by honest deflated
 * entries, which PyTorch never writes (a state_dict re-zipped by hand): fflate allocates
 * ~200 KiB per piece, so a 1.6 MB deflated file takes ~3,000 pieces, ~0.3 s on a busy machine.
 */
const kMaxDeflateRatio = 1032;
export const kInflateSlack = 2 ** 18;

const kLocalSignature = 0x04034b50;
const kCentralSignature = 0x02014b50;
const kEndSignature = 0x06054b50;
const kZip64EndSignature = 0x06064b50;
const kZip64LocatorSignature = 0x07064b50;
const kDescriptorSignature = 0x08074b50;
const kEndSize = 22;
const kCentralSize = 46;
const kLocalSize = 30;
const kZip64EndSize = 56;
const kZip64LocatorSize = 20;
const kMaxComment = 0xffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A validated archive. `read` returns an entry's contents (stored: a view into the file's
 * bytes; deflated: a fresh buffer), CRC-checked.
 *
 * @example
 * const zip = readZip(bytes);
 * const pickle = zip.read(zip.entries.get('lenet/data.pkl')!);
 */
export class ZipArchive {
  private readonly cache = new Map<ZipEntry, Uint8Array>();

  constructor(
    private readonly bytes: Uint8Array,
    /** By name, in central-directory order. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  read(entry: ZipEntry): Uint8Array {
    const cached = this.cache.get(entry);
    if (cached) return cached;
    const raw = this.bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
    const contents = entry.method === 0 ? raw : inflateEntry(entry, raw);
    const crc = crc32(contents);
    if (crc !== entry.crc32) {
      throw new WeightsFileError(
        `zip entry '${entry.name}': CRC-32 of its ${entry.size} bytes disagrees with the central directory: ` +
          `expected ${hex32(entry.crc32)}, found ${hex32(crc)} (the file is corrupt)`,
        { byteOffset: entry.dataOffset },
      );
    }
    this.cache.set(entry, contents);
    return contents;
  }
}

/**
 * Validates a ZIP archive's structure (no entry is read yet). Throws WeightsFileError, with the
 * byte offset of the record at fault, for anything inconsistent.
 *
 * @example
 * readZip(bytes).entries.has('lenet/data.pkl'); // true for torch.save(..., 'lenet.pth')
 */
export function readZip(bytes: Uint8Array): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEndRecord(bytes, view);

  const disk = view.getUint16(end + 4, true);
  const centralDisk = view.getUint16(end + 6, true);
  const entriesOnDisk = view.getUint16(end + 8, true);
  const count = view.getUint16(end + 10, true);
  const centralSize = view.getUint32(end + 12, true);
  const centralOffset = view.getUint32(end + 16, true);
  if (disk !== 0 || centralDisk !== 0 || entriesOnDisk !== count) {
    fail(`multi-disk zip archive: expected disk 0 holding all ${count} entries, found disk ${disk}, ` +
      `central directory on disk ${centralDisk}, ${entriesOnDisk} entries on this disk`, end);
  }
  if (count === 0xffff || centralSize === 0xffffffff || centralOffset === 0xffffffff) {
    fail('zip64 archive (over 4 GiB or 65,535 entries): expected the 32-bit end record to hold the real values, ' +
      `found ${count} entries, central directory of ${centralSize} bytes at ${centralOffset}`, end);
  }
  const trailerStart = zip64Trailer(view, end, count, centralSize, centralOffset) ?? end;
  if (centralOffset + centralSize !== trailerStart) {
    fail(`the central directory (${centralSize} bytes at byte ${centralOffset}) should end where the end records begin: ` +
      `expected it to end at byte ${trailerStart}, found ${centralOffset + centralSize}`, end);
  }

  const entries = new Map<string, ZipEntry>();
  const spans: { start: number; end: number; name: string }[] = [];
  let declaredInflated = 0;
  let at = centralOffset;
  for (let i = 0; i < count; i++) {
    if (at + kCentralSize > trailerStart) {
      fail(`central directory record ${i + 1} of ${count} runs past the central directory: expected ${kCentralSize} bytes, ` +
        `found ${trailerStart - at}`, at);
    }
    if (view.getUint32(at, true) !== kCentralSignature) {
      fail(`central directory record ${i + 1} of ${count}: expected signature PK\\1\\2, found ${hex32(view.getUint32(at, true))}`, at);
    }
    const { declared, flags, next } = readCentralRecord(bytes, view, at, trailerStart);
    if (entries.has(declared.name)) fail(`zip entry '${declared.name}' appears twice: expected unique names, found a duplicate`, at);
    const { dataOffset, span } = checkLocalHeader(bytes, view, declared, flags, centralOffset);
    const { name, method, crc32, compressedSize, size, headerOffset } = declared;
    entries.set(name, { name, method, crc32, compressedSize, size, headerOffset, dataOffset });
    spans.push({ start: span.start, end: span.end, name });
    if (declared.method === 8) declaredInflated += declared.size;
    at = next;
  }
  if (at !== trailerStart) {
    fail(`the central directory: expected it to end after its ${count} records, found ${trailerStart - at} more bytes`, at);
  }
  checkNoOverlap(spans);
  const inflateCap = Math.min(kMaxInflatedBytes, kMaxInflateRatio * bytes.length);
  if (declaredInflated > inflateCap) {
    fail(`deflated entries: expected at most ${inflateCap} bytes inflated in all (${kMaxInflateRatio} × the file's ` +
      `${bytes.length} bytes, and at most ${kMaxInflatedBytes}), found ${declaredInflated} declared (a zip bomb?)`, centralOffset);
  }
  return new ZipArchive(bytes, entries);
}

/** The end-of-central-directory record: the last signature whose comment length fits exactly. */
function findEndRecord(bytes: Uint8Array, view: DataView): number {
  if (bytes.length < kEndSize) {
    throw new WeightsFileError(`file too short for a zip archive: expected at least ${kEndSize} bytes, found ${bytes.length}`, {
      byteOffset: 0,
    });
  }
  const lowest = Math.max(0, bytes.length - kEndSize - kMaxComment);
  for (let at = bytes.length - kEndSize; at >= lowest; at--) {
    if (view.getUint32(at, true) === kEndSignature && view.getUint16(at + 20, true) === bytes.length - at - kEndSize) return at;
  }
  throw new WeightsFileError(
    'no zip end-of-central-directory record: expected signature PK\\5\\6 in the last ' +
      `${Math.min(bytes.length, kEndSize + kMaxComment)} bytes, its comment reaching the end of the file, found none (truncated?)`,
    { byteOffset: bytes.length },
  );
}

/**
 * The zip64 end record and locator PyTorch writes before the classic end record, if present:
 * they must agree with it. Returns where the zip64 end record starts.
 */
function zip64Trailer(view: DataView, end: number, count: number, centralSize: number, centralOffset: number): number | undefined {
  const locator = end - kZip64LocatorSize;
  if (locator < 0 || view.getUint32(locator, true) !== kZip64LocatorSignature) return undefined;
  const record = locator - kZip64EndSize;
  const recordOffset = u64(view, locator + 8);
  if (view.getUint32(locator + 4, true) !== 0 || view.getUint32(locator + 16, true) !== 1 || recordOffset !== record) {
    fail(`zip64 end locator: expected disk 0 of 1 and the zip64 end record at byte ${record} (just before it), ` +
      `found disk ${view.getUint32(locator + 4, true)} of ${view.getUint32(locator + 16, true)}, record at ${recordOffset}`, locator);
  }
  // record ≥ 0 here: the locator named it, and offsets are never negative.
  if (view.getUint32(record, true) !== kZip64EndSignature || u64(view, record + 4) !== kZip64EndSize - 12) {
    fail(`zip64 end record: expected signature PK\\6\\6 and a ${kZip64EndSize}-byte record at byte ${record}, found neither`, record);
  }
  const fields = [u64(view, record + 24), u64(view, record + 32), u64(view, record + 40), u64(view, record + 48)];
  const classic = [count, count, centralSize, centralOffset];
  if (fields.some((v, i) => v !== classic[i]) || view.getUint32(record + 16, true) !== 0 || view.getUint32(record + 20, true) !== 0) {
    fail(`zip64 end record disagrees with the end record: expected entries ${count}/${count}, central directory ` +
      `${centralSize} bytes at ${centralOffset}, found ${fields[0]}/${fields[1]}, ${fields[2]} bytes at ${fields[3]}`, record);
  }
  return record;
}

/** What a central-directory record declares about its entry, and where its name's bytes are. */
type CentralRecord = Omit<ZipEntry, 'dataOffset'> & { nameOffset: number; nameLength: number };

function readCentralRecord(bytes: Uint8Array, view: DataView, at: number, limit: number): { declared: CentralRecord; flags: number; next: number } {
  const flags = view.getUint16(at + 8, true);
  const method = view.getUint16(at + 10, true);
  const crc = view.getUint32(at + 16, true);
  const compressedSize = view.getUint32(at + 20, true);
  const size = view.getUint32(at + 24, true);
  const nameLength = view.getUint16(at + 28, true);
  const extraLength = view.getUint16(at + 30, true);
  const commentLength = view.getUint16(at + 32, true);
  const diskStart = view.getUint16(at + 34, true);
  const headerOffset = view.getUint32(at + 42, true);
  const next = at + kCentralSize + nameLength + extraLength + commentLength;
  if (next > limit) {
    fail(`central directory record runs past the central directory: expected its name, extra field and comment ` +
      `(${nameLength + extraLength + commentLength} bytes) to end by byte ${limit}, found them ending at ${next}`, at);
  }
  if (nameLength > kMaxNameBytes) fail(`zip entry name: expected at most ${kMaxNameBytes} bytes, found ${nameLength}`, at);
  let name = '';
  try {
    name = utf8.decode(bytes.subarray(at + kCentralSize, at + kCentralSize + nameLength));
  } catch {
    fail('zip entry name: expected UTF-8 text, found invalid bytes', at);
  }
  const where = `zip entry '${name}'`;
  if (flags & 0x41) fail(`${where} is encrypted: expected flags without bits 0 and 6, found ${hex16(flags)}`, at);
  if (method !== 0 && method !== 8) fail(`${where}: expected compression method 0 (stored) or 8 (deflate), found ${method}`, at);
  if (compressedSize === 0xffffffff || size === 0xffffffff || headerOffset === 0xffffffff) {
    fail(`${where} needs zip64 fields: expected 32-bit sizes and offset, found ${hex32(compressedSize)}, ${hex32(size)}, ${hex32(headerOffset)}`, at);
  }
  if (diskStart !== 0) fail(`${where}: expected it on disk 0, found disk ${diskStart}`, at);
  if (method === 0 && compressedSize !== size) {
    fail(`${where} is stored, so its sizes must agree: expected ${size} bytes, found ${compressedSize} compressed bytes`, at);
  }
  const declared = { name, method: method as 0 | 8, crc32: crc, compressedSize, size, headerOffset, nameOffset: at + kCentralSize, nameLength };
  return { declared, flags, next };
}

/**
 * Checks the entry's local header against its central record and the bytes present. Returns
 * where its data starts, and the bytes the entry occupies (header, data, descriptor).
 */
function checkLocalHeader(
  bytes: Uint8Array,
  view: DataView,
  entry: CentralRecord,
  centralFlags: number,
  centralOffset: number,
): { dataOffset: number; span: { start: number; end: number } } {
  const at = entry.headerOffset;
  if (at + kLocalSize > centralOffset) {
    entryFail(entry, `local header at byte ${at}: expected ${kLocalSize} bytes before the central directory (byte ${centralOffset}), ` +
      `found ${Math.max(0, centralOffset - at)}`);
  }
  if (view.getUint32(at, true) !== kLocalSignature) entryFail(entry, `local header: expected signature PK\\3\\4, found ${hex32(view.getUint32(at, true))}`);
  const flags = view.getUint16(at + 6, true);
  const method = view.getUint16(at + 8, true);
  const nameLength = view.getUint16(at + 26, true);
  const extraLength = view.getUint16(at + 28, true);
  if (method !== entry.method) entryFail(entry, `local header: expected compression method ${entry.method}, as the central directory says, found ${method}`);
  if ((flags & 0x41) !== (centralFlags & 0x41)) {
    entryFail(entry, `local header: expected the central directory's encryption flags ${hex16(centralFlags & 0x41)}, found ${hex16(flags & 0x41)}`);
  }
  const nameStart = at + kLocalSize;
  const dataOffset = nameStart + nameLength + extraLength;
  if (dataOffset > centralOffset) {
    entryFail(entry, `local header: expected its name and extra field to end by byte ${centralOffset} (the central directory), ` +
      `found them ending at ${dataOffset}`);
  }
  const centralName = bytes.subarray(entry.nameOffset, entry.nameOffset + entry.nameLength);
  const localName = bytes.subarray(nameStart, nameStart + nameLength);
  if (!sameBytes(localName, centralName)) {
    entryFail(entry, `local header names a different entry: expected '${entry.name}', found '${new TextDecoder().decode(localName).slice(0, 80)}'`);
  }
  const dataEnd = dataOffset + entry.compressedSize;
  if (dataEnd > centralOffset) {
    entryFail(entry, `its ${entry.compressedSize} bytes of data at byte ${dataOffset} run past the entries' area: expected them to end ` +
      `by byte ${centralOffset} (the central directory), found them ending at ${dataEnd}`, dataOffset);
  }
  let end = dataEnd;
  if (flags & 0x08) {
    end = dataEnd + checkDescriptor(view, entry, dataEnd, centralOffset);
  } else {
    const local = [view.getUint32(at + 14, true), view.getUint32(at + 18, true), view.getUint32(at + 22, true)];
    if (local[0] !== entry.crc32 || local[1] !== entry.compressedSize || local[2] !== entry.size) {
      entryFail(entry, `local header's CRC and sizes disagree with the central directory: expected ${hex32(entry.crc32)}, ` +
        `${entry.compressedSize}, ${entry.size}, found ${hex32(local[0]!)}, ${local[1]}, ${local[2]}`);
    }
  }
  return { dataOffset, span: { start: at, end } };
}

/**
 * The data descriptor after an entry whose local header left CRC and sizes to it: with or
 * without its signature, 32-bit sizes (zip64's 64-bit form also accepted). It must repeat the
 * central directory's values. Returns its length.
 */
function checkDescriptor(view: DataView, entry: CentralRecord, at: number, limit: number): number {
  const room = limit - at;
  const signed = room >= 4 && view.getUint32(at, true) === kDescriptorSignature;
  if (signed && room >= 16 && descriptorMatches(view, entry, at + 4, false)) return 16;
  if (signed && room >= 24 && descriptorMatches(view, entry, at + 4, true)) return 24;
  if (room >= 12 && descriptorMatches(view, entry, at, false)) return 12;
  return entryFail(
    entry,
    `data descriptor after the data: expected CRC ${hex32(entry.crc32)} and sizes ${entry.compressedSize}, ${entry.size} ` +
      `(as the central directory says) before byte ${limit}, found ${room >= 16 ? 'other values' : 'the end of the entries'}`,
    at,
  );
}

function descriptorMatches(view: DataView, entry: CentralRecord, at: number, wide: boolean): boolean {
  if (view.getUint32(at, true) !== entry.crc32) return false;
  return wide
    ? u64(view, at + 4) === entry.compressedSize && u64(view, at + 12) === entry.size
    : view.getUint32(at + 4, true) === entry.compressedSize && view.getUint32(at + 8, true) === entry.size;
}

function checkNoOverlap(spans: { start: number; end: number; name: string }[]): void {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const [previous, span] = [sorted[i - 1]!, sorted[i]!];
    if (span.start < previous.end) {
      throw new WeightsFileError(
        `zip entries '${previous.name}' (bytes ${previous.start}–${previous.end}) and '${span.name}' (from byte ${span.start}) ` +
          `overlap: expected each entry to start after the one before ends, found ${previous.end - span.start} shared bytes`,
        { byteOffset: span.start },
      );
    }
  }
}

/** Inflates a deflated entry into a buffer of exactly its declared size (bounded in readZip). */
function inflateEntry(entry: ZipEntry, raw: Uint8Array): Uint8Array {
  try {
    // One piece holds the whole stream: inflate it in one go into a buffer one byte larger than
    // declared (fflate drops what does not fit), so a full buffer means the stream says more.
    if (raw.length <= inflatePiece(entry.size)) {
      const inflated = inflateSync(raw, { out: new Uint8Array(entry.size + 1) });
      return checkedSize(entry, inflated, inflated.length);
    }
    return inflateInPieces(entry, raw);
  } catch (e) {
    if (e instanceof WeightsFileError) throw e;
    throw new WeightsFileError(
      `zip entry '${entry.name}': expected valid deflate data, found corrupt data (${e instanceof Error ? e.message : String(e)})`,
      { byteOffset: entry.dataOffset },
    );
  }
}

/** Input bytes that can inflate to at most `remaining` + kInflateSlack bytes. */
function inflatePiece(remaining: number): number {
  return Math.ceil((remaining + kInflateSlack) / kMaxDeflateRatio);
}

function inflateInPieces(entry: ZipEntry, raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(entry.size);
  let written = 0;
  const inflater = new Inflate((chunk) => {
    if (written + chunk.length > out.length) checkedSize(entry, out, written + chunk.length);
    out.set(chunk, written);
    written += chunk.length;
  });
  if (raw.length === 0) inflater.push(raw, true);
  for (let at = 0; at < raw.length; ) {
    const next = Math.min(raw.length, at + inflatePiece(out.length - written));
    inflater.push(raw.subarray(at, next), next === raw.length);
    at = next;
  }
  return checkedSize(entry, out, written);
}

/** `inflated` bytes came out (at least): they must be exactly the declared size. */
function checkedSize(entry: ZipEntry, out: Uint8Array, inflated: number): Uint8Array {
  if (inflated > entry.size) {
    throw new WeightsFileError(
      `zip entry '${entry.name}' inflates to more than it declares: expected ${entry.size} bytes, found at least ${inflated} (a zip bomb?)`,
      { byteOffset: entry.dataOffset },
    );
  }
  if (inflated < entry.size) {
    throw new WeightsFileError(`zip entry '${entry.name}' inflates to fewer bytes than it declares: expected ${entry.size}, found ${inflated}`, {
      byteOffset: entry.dataOffset,
    });
  }
  return out.length === inflated ? out : out.subarray(0, inflated);
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, as zip uses it) of `bytes`.
 *
 * @example
 * crc32(new TextEncoder().encode('123456789')); // 0xcbf43926
 */
export function crc32(bytes: Uint8Array): number {
  const table = (crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  }));
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Module-level, not per-call closures: readZip runs them once per entry. */
function fail(message: string, byteOffset: number): never {
  throw new WeightsFileError(message, { byteOffset });
}

/** An error about one entry, at its local header unless said otherwise. */
function entryFail(entry: CentralRecord, message: string, byteOffset = entry.headerOffset): never {
  throw new WeightsFileError(`zip entry '${entry.name}': ${message}`, { byteOffset });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A little-endian u64 as a number (exact below 2^53; larger values never match a real offset). */
function u64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function hex16(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}
