/**
 * The PyTorch `.pth` / `.pt` reader: `torch.save(model.state_dict(), path)`.
 *
 * Two layouts, both read:
 * - the zip format (PyTorch 1.6 and later): `<stem>/data.pkl` (the pickled state_dict, whose
 *   tensors name their storages by persistent ids), `<stem>/data/<key>` (each storage's raw
 *   little-endian bytes), `<stem>/version`, and, from PyTorch 2.x, `<stem>/byteorder`;
 * - the legacy format (`_use_new_zipfile_serialization=False`): five pickles in a row (magic
 *   number, protocol version, system info, the state_dict, the storage keys), then each
 *   storage as an 8-byte element count and its bytes.
 *
 * The pickle runs on a restricted machine (src/formats/pickle.ts) that knows only what a
 * state_dict needs and executes nothing. Tensors are read lazily: only the chosen state_dict's,
 * each honouring its storage offset, size and stride, widened or rounded to float32 and checked
 * finite. Integer and bool tensors (BatchNorm's int64 `num_batches_tracked`) have their view
 * checked against their storage and are then set aside, not converted: the engine has no integer
 * parameters, and the loader says which it ignored. A whole pickled module, any other global,
 * complex or quantized tensors and other layouts are refused with a WeightsFileError that says what was expected and what was found, naming the
 * tensor and the byte offset where known.
 */
import { WeightsFileError } from '../errors.js';
import { readFloat16, readFloat32 } from '../weights/dtypes.js';
import {
  describeValue,
  HostValue,
  PickleCallable,
  PickleDict,
  PickleList,
  PickleObject,
  PickleTuple,
  unpickle,
  type PickleGlobal,
  type PickleValue,
} from './pickle.js';
import type { IgnoredTensor, RawTensor, WeightsFileContents } from './types.js';
import { readZip, type ZipArchive, type ZipEntry } from './zip.js';

/**
 * The float32 values read from one file may total at most this many bytes per byte of the file,
 * plus kOutputAllowance: a view may repeat its storage (stride 0, or several names sharing one
 * storage), but not without limit.
 */
export const kMaxOutputPerFileByte = 16;
export const kOutputAllowance = 4 * 2 ** 20;
/** Tensors of more dimensions than this are refused (LeNet's have at most 4). */
export const kMaxTensorRank = 16;
/** How deep into a checkpoint dict the state_dict is looked for ({'model': {...}} is depth 1). */
const kMaxSearchDepth = 3;

const kLegacyMagic = 0x1950a86a20f9469cfc6cn;
const kLegacyProtocolVersion = 1001;
const kLegacyMagicBytes = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

type Dtype =
  | 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'
  | 'complex32' | 'complex64' | 'complex128' | 'qint8' | 'quint8' | 'qint32' | 'quint4x2' | 'quint2x4';

/** torch.<Name>Storage → element type and size. */
const kStorageTypes: Readonly<Record<string, readonly [Dtype, number]>> = {
  FloatStorage: ['float32', 4], DoubleStorage: ['float64', 8], HalfStorage: ['float16', 2], BFloat16Storage: ['bfloat16', 2],
  LongStorage: ['int64', 8], IntStorage: ['int32', 4], ShortStorage: ['int16', 2], CharStorage: ['int8', 1],
  ByteStorage: ['uint8', 1], BoolStorage: ['bool', 1], ComplexHalfStorage: ['complex32', 4],
  ComplexFloatStorage: ['complex64', 8], ComplexDoubleStorage: ['complex128', 16], QInt8Storage: ['qint8', 1],
  QUInt8Storage: ['quint8', 1], QInt32Storage: ['qint32', 4], QUInt4x2Storage: ['quint4x2', 1], QUInt2x4Storage: ['quint2x4', 1],
};
const kFloatDtypes: ReadonlySet<Dtype> = new Set(['float32', 'float64', 'float16', 'bfloat16']);
/** Read (their views checked) and set aside: buffers such as BatchNorm's num_batches_tracked. */
const kIntegerDtypes: ReadonlySet<Dtype> = new Set(['int64', 'int32', 'int16', 'int8', 'uint8', 'bool']);

/** The metadata key under which readPth says where in a checkpoint the state_dict was: "checkpoint['model_state_dict']". */
export const kStateDictPathKey = 'pth.state_dict';

/**
 * The keys a checkpoint dict keeps its model's state_dict under, most specific first
 * (`torch.save({'epoch': e, 'model_state_dict': model.state_dict(), …})` as PyTorch's tutorial
 * on checkpoints writes it; Lightning's 'state_dict'; 'model' and 'net' as many training
 * scripts write them).
 */
export const kStateDictKeys: readonly string[] = ['model_state_dict', 'state_dict', 'model', 'net'];

/** A storage class global (torch.FloatStorage, …): only ever a persistent id's argument. */
class StorageType extends HostValue {
  constructor(
    readonly name: string,
    readonly dtype: Dtype,
    readonly elementSize: number,
  ) {
    super();
  }
  get description(): string {
    return `global torch.${this.name}`;
  }
}

/** A class that may be named as a tensor's type (torch.Tensor, Parameter), never called. */
class TensorClass extends HostValue {
  constructor(readonly qualifiedName: string) {
    super();
  }
  get description(): string {
    return `global ${this.qualifiedName}`;
  }
}

/** A storage a persistent id names; its bytes are found later (zip entry, or legacy layout). */
class TorchStorage extends HostValue {
  /** Reads the storage's bytes, little-endian (swapped if the file was big-endian); set when located. */
  read: (() => Uint8Array) | undefined;
  /** File offset of the bytes, for error messages. */
  fileOffset = 0;
  /** Whether `fileOffset + i × elementSize` is element i's place in the file (not inflated). */
  exactOffsets = true;
  constructor(
    readonly key: string,
    readonly type: StorageType,
    readonly elements: number,
    /** File offset of the BINPERSID that named it first. */
    readonly byteOffset: number,
  ) {
    super();
  }
  get description(): string {
    return `a ${this.type.dtype} storage`;
  }
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, …)`: validated when the tensor is read. */
class TorchTensor extends HostValue {
  constructor(
    readonly storage: PickleValue,
    readonly offset: PickleValue,
    readonly size: PickleValue,
    readonly stride: PickleValue,
    /** File offset of the REDUCE that built it. */
    readonly byteOffset: number,
  ) {
    super();
  }
  get description(): string {
    return 'a tensor';
  }
}

/**
 * Whether the bytes start as a `.pth` file does: a zip local-file header (PyTorch ≥ 1.6), or
 * a pickle of the legacy format's magic number.
 *
 * @example
 * looksLikePth(new Uint8Array(await file.arrayBuffer())); // true for torch.save(...) output
 */
export function looksLikePth(bytes: Uint8Array): boolean {
  return startsAsZip(bytes) || legacyMagicAt(bytes) !== undefined;
}

/** A zip local-file header's signature, PK\3\4. */
function startsAsZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * Reads `torch.save(model.state_dict(), path)` bytes: every tensor of the state_dict as float32,
 * row-major, in the dict's order. A checkpoint dict gives the state_dict under one of
 * kStateDictKeys (`{'epoch': 3, 'model_state_dict': …, 'optimizer_state_dict': …}`), else the
 * one dict of tensors found shallowest in it; `metadata['pth.state_dict']` says where it was.
 * Integer buffers are listed in `ignored`. Throws WeightsFileError for anything else, naming
 * the tensor and byte offset where known.
 *
 * @example
 * const contents = readPth(new Uint8Array(readFileSync('lenet.pth')));
 * contents.tensors.get('conv1.weight')?.shape; // [6, 1, 5, 5]
 */
export function readPth(bytes: Uint8Array): WeightsFileContents {
  const root = startsAsZip(bytes) ? readZipFormat(bytes) : legacyMagicAt(bytes) !== undefined ? readLegacyFormat(bytes) : notPth(bytes);
  const { tensors, ignored, path } = readStateDict(root, new OutputBudget(bytes.length));
  // Where in a checkpoint the state_dict was (absent for a state_dict saved on its own).
  const metadata: Record<string, string> = path ? { [kStateDictPathKey]: `checkpoint${path}` } : {};
  return { format: 'pth', tensors, metadata, ...(ignored.length > 0 ? { ignored } : {}) };
}

function notPth(bytes: Uint8Array): never {
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new WeightsFileError(
    'not a PyTorch file: expected a zip archive (PK\\3\\4, torch.save since PyTorch 1.6) or a legacy pickle of the ' +
      `magic number 0x1950a86a20f9469cfc6c, found ${bytes.length === 0 ? 'an empty file' : `bytes ${head}`}`,
    { byteOffset: 0 },
  );
}

// --- the zip format ---

const kTorchScriptMessage =
  'expected a state_dict saved by torch.save, found a TorchScript archive (torch.jit.save: code/, constants.pkl, ' +
  '__torch__ classes): save model.state_dict() with torch.save instead';

function readZipFormat(bytes: Uint8Array): PickleValue {
  const zip = readZip(bytes);
  const first = zip.entries.keys().next().value;
  const slash = first === undefined ? -1 : first.indexOf('/');
  if (first === undefined || slash < 0) {
    throw new WeightsFileError(
      `expected a PyTorch archive whose entries sit in one folder (<stem>/data.pkl), found ${first === undefined ? 'no entries' : `'${first}'`} first`,
      { byteOffset: 0 },
    );
  }
  // As PyTorch's reader does: the folder is the first entry's.
  const prefix = first.slice(0, slash + 1);
  const entry = (name: string) => zip.entries.get(prefix + name);
  if (entry('constants.pkl') || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new WeightsFileError(kTorchScriptMessage, { byteOffset: 0 });
  }
  const pickleEntry = entry('data.pkl');
  if (!pickleEntry) {
    throw new WeightsFileError(`expected the pickle '${prefix}data.pkl' in the archive, found entries ${listNames([...zip.entries.keys()])}`, {
      byteOffset: 0,
    });
  }
  checkVersion(zip, entry('version') ?? entry('.data/version'));
  const bigEndian = readByteOrder(zip, entry('byteorder'));
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PickleValue, byteOffset: number): PickleValue => {
    const storage = storageFromPid(pid, byteOffset, 5, storages);
    if (!storage.read) locateZipStorage(zip, storage, entry(`data/${storage.key}`), prefix, bigEndian);
    return storage;
  };
  const pickleBytes = zip.read(pickleEntry);
  return unpickle(pickleBytes, {
    resolveGlobal,
    persistentLoad,
    refuse,
    whole: true,
    // For a deflated pickle (PyTorch never writes one), offsets count from the entry's data into the inflated bytes.
    fileOffset: pickleEntry.dataOffset,
  }).value;
}

function checkVersion(zip: ZipArchive, entry: ZipEntry | undefined): void {
  if (!entry) return;
  const text = new TextDecoder().decode(zip.read(entry)).trim();
  if (!/^[0-9]{1,3}$/.test(text) || Number(text) < 1) {
    throw new WeightsFileError(`'${entry.name}': expected a format version number (PyTorch writes 3), found '${text.slice(0, 20)}'`, {
      byteOffset: entry.dataOffset,
    });
  }
}

function readByteOrder(zip: ZipArchive, entry: ZipEntry | undefined): boolean {
  if (!entry) return false;
  const text = new TextDecoder().decode(zip.read(entry)).trim();
  if (text !== 'little' && text !== 'big') {
    throw new WeightsFileError(`'${entry.name}': expected 'little' or 'big', found '${text.slice(0, 20)}'`, { byteOffset: entry.dataOffset });
  }
  return text === 'big';
}

/** Finds a storage's entry: it must exist and hold exactly its elements' bytes. Read on first use. */
function locateZipStorage(zip: ZipArchive, storage: TorchStorage, entry: ZipEntry | undefined, prefix: string, bigEndian: boolean): void {
  if (!entry) {
    throw new WeightsFileError(`storage '${storage.key}': expected the archive entry '${prefix}data/${storage.key}', found none`, {
      byteOffset: storage.byteOffset,
    });
  }
  const expected = storage.elements * storage.type.elementSize;
  if (entry.size !== expected) {
    throw new WeightsFileError(
      `storage '${storage.key}' (${storage.elements} × ${storage.type.elementSize}-byte ${storage.type.dtype}): ` +
        `expected its entry '${entry.name}' to hold ${expected} bytes, found ${entry.size}`,
      { byteOffset: entry.dataOffset },
    );
  }
  storage.fileOffset = entry.dataOffset;
  storage.exactOffsets = entry.method === 0;
  storage.read = () => {
    const raw = zip.read(entry);
    return bigEndian ? swapBytes(raw, storage.type.elementSize) : raw;
  };
}

// --- the legacy format ---

/** Offset just past the magic number's LONG1 if the file starts with the legacy magic pickle. */
function legacyMagicAt(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x80 || bytes[1]! < 2 || bytes[1]! > 5) return undefined;
  let at = 2;
  if (bytes[at] === 0x95) at += 9; // FRAME (protocol 4 and later)
  return kLegacyMagicBytes.every((b, i) => bytes[at + i] === b) ? at + kLegacyMagicBytes.length : undefined;
}

function readLegacyFormat(bytes: Uint8Array): PickleValue {
  const plain = { resolveGlobal: () => undefined, refuse };
  const magic = unpickle(bytes, plain);
  if (magic.value !== kLegacyMagic) {
    throw new WeightsFileError(`expected the legacy magic number 0x1950a86a20f9469cfc6c, found ${describeValue(magic.value)}`, { byteOffset: 0 });
  }
  const version = unpickle(bytes, { ...plain, start: magic.end });
  if (version.value !== kLegacyProtocolVersion) {
    throw new WeightsFileError(`expected legacy protocol version ${kLegacyProtocolVersion}, found ${describeValue(version.value)}`, {
      byteOffset: magic.end,
    });
  }
  const info = unpickle(bytes, { ...plain, start: version.end });
  const littleEndian = info.value instanceof PickleDict ? info.value.items.get('little_endian') : undefined;
  if (typeof littleEndian !== 'boolean') {
    throw new WeightsFileError(`expected the system-info dict with a 'little_endian' bool, found ${describeValue(info.value)}`, {
      byteOffset: version.end,
    });
  }
  const storages = new Map<string, TorchStorage>();
  const main = unpickle(bytes, {
    resolveGlobal,
    refuse,
    start: info.end,
    persistentLoad: (pid, byteOffset) => storageFromPid(pid, byteOffset, 6, storages),
  });
  const keys = unpickle(bytes, { ...plain, start: main.end });
  locateLegacyStorages(bytes, keys.value, keys.end, main.end, storages, !littleEndian);
  return main.value;
}

/** After the storage-key list: each storage in the list's order, as an int64 count and its bytes. */
function locateLegacyStorages(
  bytes: Uint8Array,
  keys: PickleValue,
  start: number,
  keysOffset: number,
  storages: Map<string, TorchStorage>,
  bigEndian: boolean,
): void {
  if (!(keys instanceof PickleList)) {
    throw new WeightsFileError(`expected the list of storage keys after the state_dict's pickle, found ${describeValue(keys)}`, {
      byteOffset: keysOffset,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  for (const key of keys.items) {
    const storage = typeof key === 'string' ? storages.get(key) : undefined;
    if (!storage || storage.read) {
      throw new WeightsFileError(
        `storage key list: expected each key of a storage the state_dict uses, once, found ${describeValue(key)}` +
          (storage ? ' twice' : ', which no tensor uses'),
        { byteOffset: keysOffset },
      );
    }
    if (at + 8 > bytes.length) {
      throw new WeightsFileError(`storage '${storage.key}': expected its 8-byte element count, found ${bytes.length - at} bytes left`, {
        byteOffset: at,
      });
    }
    const count = bigEndian
      ? view.getUint32(at, false) * 2 ** 32 + view.getUint32(at + 4, false)
      : view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
    if (count !== storage.elements) {
      throw new WeightsFileError(`storage '${storage.key}': expected ${storage.elements} elements (as its tensor says), found a count of ${count}`, {
        byteOffset: at,
      });
    }
    const length = storage.elements * storage.type.elementSize;
    if (length > bytes.length - at - 8) {
      throw new WeightsFileError(
        `storage '${storage.key}': expected ${length} bytes (${storage.elements} × ${storage.type.elementSize}), found ${bytes.length - at - 8} left`,
        { byteOffset: at + 8 },
      );
    }
    const raw = bytes.subarray(at + 8, at + 8 + length);
    storage.read = bigEndian ? () => swapBytes(raw, storage.type.elementSize) : () => raw;
    storage.fileOffset = at + 8;
    at += 8 + length;
  }
  const missing = [...storages.values()].find((s) => !s.read);
  if (missing) {
    throw new WeightsFileError(`storage '${missing.key}': expected its bytes after the storage key list, found it missing from the list`, {
      byteOffset: keysOffset,
    });
  }
  if (at !== bytes.length) {
    throw new WeightsFileError(`expected the file to end after the last storage, found ${bytes.length - at} more bytes`, { byteOffset: at });
  }
}

// --- what the pickle may name ---

/** The known globals; everything else becomes an inert placeholder and the file is refused. */
function resolveGlobal(module: string, name: string): HostValue | undefined {
  return kKnownGlobals.get(`${module}.${name}`);
}

const kKnownGlobals: ReadonlyMap<string, HostValue> = new Map<string, HostValue>([
  ['collections.OrderedDict', new PickleCallable('collections.OrderedDict', orderedDict, orderedDict)],
  ['torch._utils._rebuild_tensor_v2', new PickleCallable('torch._utils._rebuild_tensor_v2', (a, at) => rebuildTensor(a, at, 'torch._utils._rebuild_tensor_v2', 6, 7))],
  ['torch._utils._rebuild_tensor', new PickleCallable('torch._utils._rebuild_tensor', (a, at) => rebuildTensor(a, at, 'torch._utils._rebuild_tensor', 4, 4))],
  ['torch._utils._rebuild_parameter', new PickleCallable('torch._utils._rebuild_parameter', (a, at) => rebuildParameter(a, at, 3))],
  ['torch._utils._rebuild_parameter_with_state', new PickleCallable('torch._utils._rebuild_parameter_with_state', (a, at) => rebuildParameter(a, at, 4))],
  ['torch._tensor._rebuild_from_type_v2', new PickleCallable('torch._tensor._rebuild_from_type_v2', rebuildFromType)],
  ['torch.Tensor', new TensorClass('torch.Tensor')],
  ['torch._tensor.Tensor', new TensorClass('torch._tensor.Tensor')],
  ['torch.nn.parameter.Parameter', new TensorClass('torch.nn.parameter.Parameter')],
  ...Object.entries(kStorageTypes).map(([name, [dtype, size]]): [string, HostValue] => [`torch.${name}`, new StorageType(name, dtype, size)]),
]);

function argumentError(what: string, expected: string, found: readonly PickleValue[], byteOffset: number): never {
  throw new WeightsFileError(`pickle: ${what}: expected ${expected}, found ${found.length} arguments (${found.slice(0, 8).map(describeValue).join(', ')})`, {
    byteOffset,
  });
}

function orderedDict(args: readonly PickleValue[], byteOffset: number): PickleValue {
  if (args.length !== 0) argumentError('collections.OrderedDict()', 'no arguments (PyTorch fills it with SETITEMS)', args, byteOffset);
  return new PickleDict();
}

function rebuildTensor(args: readonly PickleValue[], byteOffset: number, name: string, least: number, most: number): PickleValue {
  if (args.length < least || args.length > most) {
    argumentError(name, `${least === most ? least : `${least} or ${most}`} arguments (storage, offset, size, stride, …)`, args, byteOffset);
  }
  return new TorchTensor(args[0]!, args[1]!, args[2]!, args[3]!, byteOffset);
}

function rebuildParameter(args: readonly PickleValue[], byteOffset: number, count: number): PickleValue {
  if (args.length !== count || !(args[0] instanceof TorchTensor)) {
    argumentError('torch._utils._rebuild_parameter', `${count} arguments, the first a tensor`, args, byteOffset);
  }
  return args[0];
}

/** The functions `_rebuild_from_type_v2` may be given: only these, so it can never call itself. */
const kTensorRebuilders: ReadonlySet<string> = new Set(['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor']);

/** `_rebuild_from_type_v2(func, type, args, state)`: torch 2.x's tensor with Python attributes. */
function rebuildFromType(args: readonly PickleValue[], byteOffset: number): PickleValue {
  const [func, type, funcArgs] = args;
  const rebuilds = func instanceof PickleCallable && func.call !== undefined && kTensorRebuilders.has(func.qualifiedName);
  if (args.length !== 4 || !rebuilds || !(type instanceof TensorClass) || !(funcArgs instanceof PickleTuple)) {
    return argumentError(
      'torch._tensor._rebuild_from_type_v2',
      '(torch._utils._rebuild_tensor_v2, torch.Tensor or Parameter, a tuple of its arguments, a state)',
      args,
      byteOffset,
    );
  }
  return (func as PickleCallable).call!(funcArgs.items, byteOffset);
}

/**
 * A persistent id: zip ('storage', type, key, location, elements), legacy the same plus
 * view metadata (None). The same key must always come with the same type and size.
 */
function storageFromPid(pid: PickleValue, byteOffset: number, length: 5 | 6, storages: Map<string, TorchStorage>): TorchStorage {
  const items = pid instanceof PickleTuple ? pid.items : [];
  const fail = (message: string): never => {
    throw new WeightsFileError(`persistent id: ${message}`, { byteOffset });
  };
  if (items[0] === 'module') {
    const error = new WeightsFileError(
      `persistent id: expected a storage, found a pickled module class (${describeValue(items[1])}): the file holds a ` +
        'whole model (torch.save(model)); load it in PyTorch and save model.state_dict() instead',
      { byteOffset },
    );
    kDecisive.add(error);
    throw error;
  }
  const [kind, type, key, location, elements, view] = items;
  if (items.length !== length || kind !== 'storage') {
    fail(`expected a tuple ('storage', type, key, location, size${length === 6 ? ', view' : ''}), found ${describeValue(pid)}` +
      (items.length > 0 ? ` starting with ${describeValue(kind)}` : ''));
  }
  if (!(type instanceof StorageType)) fail(`expected a storage type such as torch.FloatStorage, found ${describeValue(type)}`);
  if (typeof key !== 'string' || key.length === 0 || key.length > 64) fail(`expected a storage key (a short str), found ${describeValue(key)}`);
  if (typeof location !== 'string') fail(`expected a device location such as 'cpu', found ${describeValue(location)}`);
  if (typeof elements !== 'number' || !Number.isSafeInteger(elements) || elements < 0) {
    fail(`expected a storage size (a non-negative int), found ${describeValue(elements)}`);
  }
  if (length === 6 && view !== null) {
    fail(`expected no storage view (None), found ${describeValue(view)}: an old PyTorch's storage view; re-save the file ` +
      'with a current PyTorch: torch.save(torch.load(f), f2)');
  }
  const storageType = type as StorageType;
  const count = elements as number;
  const known = storages.get(key as string);
  if (known) {
    if (known.type !== storageType || known.elements !== count) {
      fail(`storage '${key}' is named twice with different types or sizes: expected ${known.type.name} of ${known.elements}, ` +
        `found ${storageType.name} of ${count}`);
    }
    return known;
  }
  const storage = new TorchStorage(key as string, storageType, count, byteOffset);
  storages.set(storage.key, storage);
  return storage;
}

/** Errors that say more than the unknown globals met before them (the legacy format's module ids). */
const kDecisive = new WeakSet<WeightsFileError>();

/** Names the unknown globals: a whole pickled module gets its own advice. */
function refuse(unknown: readonly PickleGlobal[], objects: readonly PickleObject[], interrupted?: WeightsFileError): WeightsFileError {
  if (interrupted && kDecisive.has(interrupted)) return interrupted;
  const torchScript = unknown.find((g) => g.module.startsWith('__torch__'));
  if (torchScript) return new WeightsFileError(kTorchScriptMessage, { byteOffset: torchScript.byteOffset });
  const module = objects.find((o) => {
    const state = o.state;
    return state instanceof PickleDict && (state.items.has('_modules') || state.items.has('_parameters'));
  });
  const torchModule = unknown.find((g) => g.module.startsWith('torch.nn.modules'));
  if (module || torchModule) {
    const cls = module ? module.rootClass : torchModule!;
    return new WeightsFileError(
      'expected a state_dict (torch.save(model.state_dict(), path)), found a whole pickled module of class ' +
        `'${cls.qualifiedName}' (torch.save(model)), which only its Python code can rebuild: load it in PyTorch and ` +
        'save model.state_dict() instead',
      { byteOffset: cls.byteOffset },
    );
  }
  const first = unknown[0]!;
  const others = unknown.slice(1, 4).map((g) => g.qualifiedName);
  return new WeightsFileError(
    `pickle calls for global '${first.qualifiedName}', refused: expected only the globals a state_dict uses ` +
      '(collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.FloatStorage, …), found ' +
      `'${first.qualifiedName}'${others.length > 0 ? ` (and ${others.join(', ')})` : ''}; nothing was called`,
    { byteOffset: first.byteOffset },
  );
}

// --- finding the state_dict and reading its tensors ---

/**
 * The state_dict: the pickled dict itself if it holds tensors, else the one dict of tensors
 * found shallowest in a checkpoint dict (at most kMaxSearchDepth levels down). The walk visits
 * each dict once, so cyclic structures end.
 */
function findStateDict(root: PickleValue): { dict: PickleDict; path: string } {
  if (!(root instanceof PickleDict)) {
    throw new WeightsFileError(
      `expected a state_dict (a dict of tensors, torch.save(model.state_dict(), path)), found ${describeValue(root)}` +
        (root instanceof TorchTensor ? ' (torch.save(tensor))' : ''),
      { byteOffset: 0 },
    );
  }
  const named = namedStateDict(root);
  if (named) return named;
  const seen = new Set<PickleDict>([root]);
  let level: { dict: PickleDict; path: string }[] = [{ dict: root, path: '' }];
  for (let depth = 0; depth <= kMaxSearchDepth && level.length > 0; depth++) {
    const holding = level.filter(({ dict }) => [...dict.items.values()].some((v) => v instanceof TorchTensor));
    if (holding.length === 1) return holding[0]!;
    if (holding.length > 1) {
      throw new WeightsFileError(
        `expected one dict of tensors (a state_dict), found ${holding.length}: ${holding.slice(0, 12).map((h) => `checkpoint${h.path}`).join(', ')}; ` +
          'save the one to load on its own (torch.save(checkpoint[key], path))',
        { byteOffset: 0 },
      );
    }
    const next: { dict: PickleDict; path: string }[] = [];
    for (const { dict, path } of level) {
      for (const [key, value] of dict.items) {
        if (value instanceof PickleDict && !seen.has(value)) {
          seen.add(value);
          next.push({ dict: value, path: `${path}[${typeof key === 'string' ? `'${key}'` : describeValue(key)}]` });
        }
      }
    }
    level = next;
  }
  const keys = [...root.items.keys()].map((k) => (typeof k === 'string' ? k : describeValue(k)));
  throw new WeightsFileError(
    `expected a state_dict (a dict of tensors) or a checkpoint dict holding one, found no tensors in a dict with keys ${listNames(keys)}`,
    { byteOffset: 0 },
  );
}

/**
 * A checkpoint's state_dict under one of kStateDictKeys (the first that holds a dict of
 * tensors), so that tensors elsewhere in the checkpoint (a best score saved as a tensor, an EMA
 * copy, the optimizer's buffers) do not make it ambiguous.
 */
function namedStateDict(root: PickleDict): { dict: PickleDict; path: string } | undefined {
  for (const key of kStateDictKeys) {
    const value = root.items.get(key);
    if (value instanceof PickleDict && [...value.items.values()].some((v) => v instanceof TorchTensor)) return { dict: value, path: `['${key}']` };
  }
  return undefined;
}

function readStateDict(root: PickleValue, budget: OutputBudget): { tensors: Map<string, RawTensor>; ignored: IgnoredTensor[]; path: string } {
  const { dict, path } = findStateDict(root);
  const converted = new Map<TorchStorage, Float32Array>();
  const tensors = new Map<string, RawTensor>();
  const ignored: IgnoredTensor[] = [];
  for (const [key, value] of dict.items) {
    if (!(value instanceof TorchTensor)) continue; // ints, strings, None: not weights
    if (typeof key !== 'string') {
      throw new WeightsFileError(`state_dict key: expected a str naming the tensor, found ${describeValue(key)}`, { byteOffset: value.byteOffset });
    }
    const tensor = readTensor(key, value, converted, budget);
    if ('dtype' in tensor) ignored.push(tensor);
    else tensors.set(key, tensor);
  }
  return { tensors, ignored, path };
}

class OutputBudget {
  private left: number;
  constructor(fileLength: number) {
    this.left = kMaxOutputPerFileByte * fileLength + kOutputAllowance;
  }
  take(bytes: number, tensor: string, byteOffset: number): void {
    if (bytes > this.left) {
      throw new WeightsFileError(
        `expected the tensors to need at most ${kMaxOutputPerFileByte} × the file's size in float32 values, found this one ` +
          `needing ${bytes} bytes with ${this.left} left (a view repeating its storage?)`,
        { tensor, byteOffset },
      );
    }
    this.left -= bytes;
  }
}

/** One tensor: validate its view of the storage, gather it row-major, check every value finite. */
function readTensor(name: string, tensor: TorchTensor, converted: Map<TorchStorage, Float32Array>, budget: OutputBudget): RawTensor | IgnoredTensor {
  const where = { tensor: name, byteOffset: tensor.byteOffset };
  const fail = (message: string): never => {
    throw new WeightsFileError(message, where);
  };
  const storage = tensor.storage;
  if (!(storage instanceof TorchStorage)) return fail(`expected the tensor's storage (a persistent id), found ${describeValue(storage)}`);
  const dtype = storage.type.dtype;
  const integer = kIntegerDtypes.has(dtype);
  if (!kFloatDtypes.has(dtype) && !integer) {
    fail(`expected a float32, float64, float16 or bfloat16 tensor (or an integer buffer, set aside), found dtype ${dtype} (torch.${storage.type.name}), which is not supported`);
  }
  const offset = tensor.offset;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    fail(`storage offset: expected a non-negative int, found ${describeValue(offset)}`);
  }
  const shape = intTuple(tensor.size, 'size', fail);
  const stride = intTuple(tensor.stride, 'stride', fail);
  if (stride.length !== shape.length) fail(`stride: expected ${shape.length} strides (one per dimension of size [${shape.join(', ')}]), found ${stride.length}`);
  const start = offset as number;
  let elements = 1;
  for (const d of shape) elements *= d; // exact while ≤ 2^53; larger fails the budget below
  budget.take(elements * 4, name, tensor.byteOffset);
  // The last element's index. Each term is < 2^106 and there are at most 16, so the sum is finite;
  // past 2^53 it is inexact, but then far beyond any storage, which is all the test needs.
  let last = start;
  for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
  if ((elements > 0 && last >= storage.elements) || start > storage.elements) {
    fail(`size [${shape.join(', ')}], stride [${stride.join(', ')}] at offset ${start} reach element ` +
      `${Number.isSafeInteger(last) ? last : 'beyond 2^53'} of storage '${storage.key}': expected it to hold them, found ${storage.elements} elements`);
  }
  if (integer) return { name, dtype, shape };
  let values = converted.get(storage);
  if (!values) {
    values = toFloat32(storage, name);
    converted.set(storage, values);
  }
  const data = gather(values, start, shape, stride, elements);
  checkFinite(name, data, storage, start, shape, stride);
  return { shape, data };
}

function intTuple(value: PickleValue, what: string, fail: (message: string) => never): number[] {
  const items = value instanceof PickleTuple ? value.items : undefined;
  if (!items || items.length > kMaxTensorRank || !items.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${what}: expected a tuple of at most ${kMaxTensorRank} non-negative ints, found ${describeValue(value)}`);
  }
  return items as number[];
}

/** The whole storage as float32 (float64 rounded to nearest, as torch's .float() does). */
function toFloat32(storage: TorchStorage, tensor: string): Float32Array {
  if (!storage.read) throw new WeightsFileError(`storage '${storage.key}': expected its bytes in the file, found none`, { tensor, byteOffset: storage.byteOffset });
  const bytes = storage.read();
  switch (storage.type.dtype) {
    case 'float32':
      return readFloat32(bytes);
    case 'float16':
      return readFloat16(bytes);
    case 'bfloat16':
      return readBFloat16(bytes);
    default:
      return readFloat64(bytes);
  }
}

/** bfloat16 is float32's top half: widening is exact. */
function readBFloat16(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 2);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < out.length; i++) bits[i] = ((bytes[2 * i + 1]! << 8) | bytes[2 * i]!) << 16;
  return out;
}

function readFloat64(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true); // Float32Array stores round to nearest even
  return out;
}

function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  }
  return out;
}

/** Row-major copy of the view: element (i0, i1, …) is values[offset + Σ ik·stride_k]. */
function gather(values: Float32Array, offset: number, shape: readonly number[], stride: readonly number[], elements: number): Float32Array {
  const out = new Float32Array(elements);
  if (elements === 0) return out;
  const contiguous = shape.every((_, i) => shape[i] === 1 || stride[i] === shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) {
    out.set(values.subarray(offset, offset + elements));
    return out;
  }
  const index = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let n = 0; n < elements; n++) {
    out[n] = values[at]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        at += stride[d]!;
        break;
      }
      at -= (shape[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** The first non-finite value (NaN, ±Inf, or a float64 beyond float32's range) is an error at its place in the file. */
function checkFinite(name: string, data: Float32Array, storage: TorchStorage, offset: number, shape: readonly number[], stride: readonly number[]): void {
  for (let n = 0; n < data.length; n++) {
    if (Number.isFinite(data[n]!)) continue;
    let storageIndex = offset;
    let rest = n;
    for (let d = shape.length - 1; d >= 0; d--) {
      storageIndex += (rest % shape[d]!) * stride[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    const size = storage.type.elementSize;
    const bytes = storage.read!();
    const original = storage.type.dtype === 'float64' ? new DataView(bytes.buffer, bytes.byteOffset).getFloat64(storageIndex * 8, true) : data[n]!;
    const found = Number.isFinite(original) ? `${original}, beyond float32's range` : String(original);
    throw new WeightsFileError(
      `element ${n} (of ${data.length}): expected a finite ${storage.type.dtype} value within float32's range, found ${found}`,
      { tensor: name, byteOffset: storage.exactOffsets ? storage.fileOffset + storageIndex * size : storage.fileOffset },
    );
  }
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 12).map((n) => `'${n.length > 60 ? `${n.slice(0, 60)}…` : n}'`);
  return `[${shown.join(', ')}${names.length > 12 ? `, … (${names.length} in all)` : ''}]`;
}
