/**
 * A state_dict's tensors matched to a network: the loader's step between "the file's tensors"
 * and "the spec's tensors". PyTorch names a tensor by where its module sits in the user's
 * Python object, not by what it is, so the same LeNet arrives as `conv1.weight` (attributes),
 * `0.weight`, `3.weight`, `7.weight` (an `nn.Sequential`, as Dive into Deep Learning saves it),
 * `module.conv1.weight` (DataParallel), `_orig_mod.conv1.weight` (torch.compile) or
 * `model.features.0.weight` (a wrapper). Three tries, in order, the first that fits wins:
 *
 * 1. names: the file's names are the spec's;
 * 2. prefixes: a first name component every tensor shares (`module.`, `_orig_mod.`, `model.`,
 *    …, repeatedly) is stripped, and the rest are the spec's names;
 * 3. order, role and shape: tensors are grouped by module (the name less its last component)
 *    and each group's roles (`weight`, `bias`, `running_mean`, `running_var`) read from the last
 *    component; the spec's layers, first to last, each take the first unused group, in the
 *    file's order, with the same roles and shapes that fit. A file in forward order (what
 *    PyTorch writes for a module whose layers are declared in the order they run) is matched
 *    in that order; a file declared in another order still matches where the shapes tell its
 *    groups apart. Every group must be used.
 *
 * Integer buffers (`num_batches_tracked`) were set aside by the reader; they take no part.
 */
import { denseShapeFits } from '../model/architecture.js';
import { layerOutputShape, type BatchNormSpec, type LayerSpec, type ModelSpec } from '../model/spec.js';
import type { RawTensor } from './types.js';

/** How a file's tensors were matched to a spec, and the tensors under the spec's names. */
export interface TensorMatch {
  readonly how: 'names' | 'prefix' | 'order';
  /** The file's tensors under the spec's tensor names. */
  readonly tensors: ReadonlyMap<string, RawTensor>;
  /** What was matched to what (absent when the names were the spec's). */
  readonly said?: string;
  /** The file's name of each spec tensor, where it differs (for errors that name the file's tensor). */
  readonly fileNames?: ReadonlyMap<string, string>;
}

/** What is wrong with the tensors for a spec: the first problem, with the tensor it is in. */
export interface TensorProblem {
  readonly message: string;
  readonly tensor?: string;
}

/** Longest run of shared leading components stripped (module._orig_mod.model. is three). */
const kMaxPrefixComponents = 4;

/**
 * The file's tensors matched to the spec by names, stripped prefixes, or order, role and
 * shape (see the module comment), or the problem against the spec's own names when none fits.
 *
 * @example
 * const match = matchTensors(seedModel, readPth(d2lParams).tensors);
 * if ('how' in match) match.said; // 'by order, role and shape: 0 → conv1, 3 → conv2, 7 → fc1, …'
 */
export function matchTensors(spec: ModelSpec, tensors: ReadonlyMap<string, RawTensor>): TensorMatch | TensorProblem {
  const byName = tensorProblem(spec, tensors);
  if (!byName) return { how: 'names', tensors };
  const { stripped, prefix } = stripSharedPrefix(tensors);
  const original = (name: string) => `${prefix}${name}`;
  if (prefix && !tensorProblem(spec, stripped)) {
    const fileNames = new Map(spec.tensors.map((t) => [t.name, original(t.name)] as const));
    return { how: 'prefix', tensors: stripped, said: `the prefix '${prefix}' stripped from every name`, fileNames };
  }
  const ordered = matchByOrder(spec, stripped);
  if ('tensors' in ordered) {
    const fileNames = new Map([...ordered.fileNames].map(([specName, fileName]) => [specName, original(fileName)] as const));
    return { ...ordered, said: (prefix ? `the prefix '${prefix}' stripped, then ` : '') + ordered.said, fileNames };
  }
  // A file that shares no name with the network may have been meant to match by order: say
  // where that stopped fitting too.
  const sharesNames = spec.tensors.some((t) => stripped.has(t.name));
  if (sharesNames) return byName;
  return { ...byName, message: `${byName.message}; ${prefix ? `with the prefix '${prefix}' stripped and ` : ''}${ordered.message} ('${original(ordered.tensor)}')` };
}

/** Names and shapes against the spec: missing, unknown, or misshapen tensors. */
export function tensorProblem(spec: ModelSpec, tensors: ReadonlyMap<string, RawTensor>): TensorProblem | undefined {
  const missing = spec.tensors.filter((t) => !tensors.has(t.name));
  if (missing.length > 0) {
    const all = missing.map((t) => t.name).join(', ');
    return {
      message:
        `model '${spec.id}' needs ${spec.tensors.length} tensors; ${missing.length} missing (${all}): ` +
        `expected shape [${missing[0]!.shape.join(', ')}], found no tensor` +
        (tensors.size > 0 ? `; the file has ${[...tensors.keys()].slice(0, 8).join(', ')}${tensors.size > 8 ? ', …' : ''}` : ''),
      tensor: missing[0]!.name,
    };
  }
  const known = new Set(spec.tensors.map((t) => t.name));
  const unknown = [...tensors.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    return {
      message:
        `model '${spec.id}' has no tensor of this name: expected only ${[...known].join(', ')}; ` +
        `found ${unknown.length} unknown (${unknown.slice(0, 8).join(', ')})`,
      tensor: unknown[0]!,
    };
  }
  for (const expected of spec.tensors) {
    const found = tensors.get(expected.name)!;
    if (!shapeFits(spec, expected.name, expected.shape, found.shape)) {
      return {
        message: `wrong shape for model '${spec.id}': expected [${expected.shape.join(', ')}], found [${found.shape.join(', ')}]`,
        tensor: expected.name,
      };
    }
  }
  return undefined;
}

/** A dense weight may be stored [out, in] or [out, c, h, w]; every other shape must match. */
export function shapeFits(spec: ModelSpec, name: string, expected: readonly number[], found: readonly number[]): boolean {
  if (found.length === expected.length && found.every((d, i) => d === expected[i])) return true;
  const index = spec.layers.findIndex((l) => l.kind === 'dense' && l.weight === name);
  const layer = spec.layers[index];
  if (!layer || layer.kind !== 'dense') return false;
  const before = index > 0 ? layerOutputShape(spec.layers[index - 1]!) : [1, spec.inputSize, spec.inputSize];
  const map = before.length === 3 ? { channels: before[0]!, size: before[1]! } : undefined;
  return denseShapeFits(found, layer.outFeatures, layer.inFeatures, map);
}

/**
 * The names with the first components every name shares removed (`module.conv1.weight`,
 * `module.fc1.bias` → `conv1.weight`, `fc1.bias`), as long as each name keeps a module and a
 * role. Nothing shared (or a single tensor): the names as they are.
 */
export function stripSharedPrefix(tensors: ReadonlyMap<string, RawTensor>): { stripped: ReadonlyMap<string, RawTensor>; prefix: string } {
  const names = [...tensors.keys()].map((n) => n.split('.'));
  let shared = 0;
  while (shared < kMaxPrefixComponents && names.length > 1) {
    const first = names[0]![shared];
    if (first === undefined || !names.every((parts) => parts.length >= shared + 3 && parts[shared] === first)) break;
    shared++;
  }
  if (shared === 0) return { stripped: tensors, prefix: '' };
  const stripped = new Map([...tensors].map(([name, t]) => [name.split('.').slice(shared).join('.'), t] as const));
  return { stripped, prefix: `${names[0]!.slice(0, shared).join('.')}.` };
}

/** One module's tensors in the file: `features.0` → { weight, bias }. */
interface FileGroup {
  readonly module: string;
  /** Role (the name's last component, aliases resolved) → the file's name. */
  readonly roles: ReadonlyMap<string, string>;
}

/** Another exporter's word for a role → PyTorch's. */
const kRoleAliases: Readonly<Record<string, string>> = {
  gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var', kernel: 'weight',
  coefficient: 'weight', centres: 'weight',
};

function roleOf(component: string): string {
  return Object.hasOwn(kRoleAliases, component) ? kRoleAliases[component]! : component;
}

/** The file's tensors grouped by module, in the order the file first names each module. */
function fileGroups(tensors: ReadonlyMap<string, RawTensor>): FileGroup[] | undefined {
  const groups = new Map<string, Map<string, string>>();
  for (const name of tensors.keys()) {
    const cut = name.lastIndexOf('.');
    const module = cut < 0 ? '' : name.slice(0, cut);
    const role = roleOf(name.slice(cut + 1));
    let roles = groups.get(module);
    if (!roles) groups.set(module, (roles = new Map()));
    if (roles.has(role)) return undefined; // two names of one role in one module: no telling which
    roles.set(role, name);
  }
  return [...groups].map(([module, roles]) => ({ module, roles }));
}

/** One layer's (or batch norm's) tensors in the spec, by role, in the order the network runs them. */
interface SpecGroup {
  readonly name: string;
  readonly roles: ReadonlyMap<string, string>;
}

/**
 * The spec's tensors grouped as a PyTorch module holds them, first to last: each layer's, and
 * each batch norm's (`spec.batchNorms`: weight, bias, running_mean, running_var) right after
 * the layer it folds into, or in place of the scale-shift layer that runs it.
 */
function specGroups(spec: ModelSpec): SpecGroup[] {
  const batchNorms = spec.batchNorms ?? [];
  const bnRoles = (bn: BatchNormSpec): SpecGroup => ({
    name: bn.name,
    roles: new Map([['weight', bn.weight], ['bias', bn.bias], ['running_mean', bn.runningMean], ['running_var', bn.runningVar]]),
  });
  const groups: SpecGroup[] = [];
  for (const layer of spec.layers) {
    const runs = batchNorms.find((bn) => bn.into.mode === 'scale-shift' && bn.into.layer === layer.name);
    if (runs) groups.push(bnRoles(runs));
    else groups.push({ name: layer.name, roles: layerRoles(layer) });
    for (const bn of batchNorms) if (bn.into.mode === 'fold' && bn.into.layer === layer.name) groups.push(bnRoles(bn));
  }
  return groups.filter((g) => g.roles.size > 0);
}

/** A spec layer's tensors by role: the spec's tensor name for each role its kind gives. */
function layerRoles(layer: LayerSpec): Map<string, string> {
  const roles = new Map<string, string>();
  switch (layer.kind) {
    case 'conv5x5':
    case 'dense':
      roles.set('weight', layer.weight).set('bias', layer.bias);
      break;
    case 'subsample2x2':
      if (layer.trainable) roles.set('weight', layer.trainable.coefficient).set('bias', layer.trainable.bias);
      break;
    case 'rbf':
      roles.set('weight', layer.centres);
      break;
    case 'scale-shift':
      roles.set('weight', layer.scale).set('bias', layer.shift);
      break;
    case 'softmax':
      break;
  }
  return roles;
}

/** Step 3 of the module comment: each layer, first to last, takes the first unused group that fits it. */
function matchByOrder(
  spec: ModelSpec,
  tensors: ReadonlyMap<string, RawTensor>,
): { how: 'order'; tensors: Map<string, RawTensor>; said: string; fileNames: Map<string, string> } | { message: string; tensor: string } {
  const groups = fileGroups(tensors);
  const first = [...tensors.keys()][0] ?? '';
  if (!groups) return { message: 'matched by order, role and shape: expected one tensor per role in each module, found a role named twice', tensor: first };
  const describe = (roles: Iterable<[string, string]>, shapeOf: (name: string) => readonly number[]) =>
    [...roles].map(([role, name]) => `${role} [${shapeOf(name).join(', ')}]`).join(', ');
  const fileNames = new Map<string, string>();
  const shapes = new Map(spec.tensors.map((t) => [t.name, t.shape] as const));
  const used = new Set<number>();
  const renamed = new Map<string, RawTensor>();
  const pairs: string[] = [];
  let inOrder = true;
  for (const layer of specGroups(spec)) {
    const { roles } = layer;
    const fits = (group: FileGroup) =>
      group.roles.size === roles.size &&
      [...roles].every(([role, specName]) => {
        const fileName = group.roles.get(role);
        return fileName !== undefined && shapeFits(spec, specName, shapes.get(specName) ?? [], tensors.get(fileName)!.shape);
      });
    const index = groups.findIndex((g, i) => !used.has(i) && fits(g));
    if (index < 0) {
      const next = groups.find((_, i) => !used.has(i));
      const wanted = describe(roles, (name) => shapes.get(name) ?? []);
      return {
        message: next
          ? `matched by order, role and shape: expected layer '${layer.name}' (${wanted}), found next in the file '${next.module}' (${describe(next.roles, (name) => tensors.get(name)!.shape)})`
          : `matched by order, role and shape: expected layer '${layer.name}' (${wanted}), found no tensors left in the file`,
        tensor: next ? [...next.roles.values()][0]! : first,
      };
    }
    if ([...used].some((i) => i > index)) inOrder = false;
    used.add(index);
    const group = groups[index]!;
    for (const [role, specName] of roles) {
      renamed.set(specName, tensors.get(group.roles.get(role)!)!);
      fileNames.set(specName, group.roles.get(role)!);
    }
    pairs.push(`${group.module || '(top level)'} → ${layer.name}`);
  }
  const extra = groups.find((_, i) => !used.has(i));
  if (extra) {
    return {
      message: `matched by order, role and shape: expected nothing after the network's layers, found '${extra.module}' (${describe(extra.roles, (name) => tensors.get(name)!.shape)}) left over`,
      tensor: [...extra.roles.values()][0]!,
    };
  }
  const shown = pairs.length > 10 ? `${pairs.slice(0, 10).join(', ')}, …` : pairs.join(', ');
  return {
    how: 'order',
    tensors: renamed,
    fileNames,
    said: `matched by ${inOrder ? 'order' : 'shape (not in the file\'s order)'}, role and shape: ${shown}`,
  };
}
