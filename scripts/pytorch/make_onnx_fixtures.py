"""Small ONNX files written by real torch.onnx.export, for the ONNX reader's tests.

Needs PyTorch and the onnx package (Debian: `apt-get install python3-torch python3-onnx`, then
Debian's /usr/bin/python3). Remake the committed files with

    /usr/bin/python3 scripts/pytorch/make_onnx_fixtures.py

Each fixture is a LeNet-family network with few channels (so the files are a few KB and the
fuzz test can try every truncation), exported as a user would: `torch.onnx.export(model.eval(),
x, f, opset_version=…, dynamic_axes={'input': {0: 'batch'}, …})`. The nets differ in what the
exporter makes of them: opsets 9, 11, 13 and 17; the zero `Pad` torch puts before each
`AveragePool` (an attribute before opset 11, a Constant input after); `x.view(x.size(0), -1)`,
the tutorial's `x.view(-1, num_flat_features(x))` (Shape → Gather → Mul → Concat chains),
`torch.flatten`, `nn.Flatten`, a static batch (a folded [1, -1] shape); Sequential names
(`features.0.weight`); a conv without bias; a conv that covers its whole input (C5); a Linear
with no bias (MatMul on a folded, transposed initializer named `onnx::MatMul_…`); `x @ W + b`
(MatMul + Add); the scaled tanh 1.7159·tanh(2/3·x); ReLU after max pooling; Softmax and
LogSoftmax; initializers kept as graph inputs (keep_initializers_as_inputs=True).

A few more are the exported files edited with the onnx package, where torch does not write
the form but other producers do: typed fields (float_data, double_data, int32_data holding
float16 bits) instead of raw_data; float16 and double initializers; Dropout and Identity nodes.
And some that must be refused, each for one reason (LeakyReLU, a 3×3 kernel, stride 2,
ceil_mode, three input channels, a residual branch, a nonzero Pad, external data).

Beside each `<name>.onnx` the script writes `<name>.json`: how it was made (torch and onnx
versions, opset, options), PyTorch's state_dict (every tensor's shape and float32 values, as
the file should yield them, as base64 of little-endian float32), and PyTorch's output for a fixed input batch (see `test_input`),
so the test can run the mapped network and compare with PyTorch.
"""
import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.checker
import onnx.helper
import onnx.numpy_helper
import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parent.parent.parent
OUT = REPO / 'tests' / 'fixtures' / 'onnx'
BATCH = 3


def test_input(size: int) -> torch.Tensor:
    """[3, 1, size, size]: x[i] = ((i · 7919) mod 256) / 255 over the flat index (the test makes the same)."""
    i = np.arange(BATCH * size * size, dtype=np.int64)
    values = ((i * 7919) % 256).astype(np.float32) / np.float32(255)
    return torch.from_numpy(values.reshape(BATCH, 1, size, size))


class TinySeed(nn.Module):
    """The seed's shape (sigmoid, average pooling, conv1 padding 2, log-softmax) with few maps."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5, padding=2)
        self.conv2 = nn.Conv2d(2, 3, 5)
        self.fc1 = nn.Linear(3 * 5 * 5, 8)
        self.fc2 = nn.Linear(8, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.sigmoid(self.conv1(x)), 2, 2)
        x = F.avg_pool2d(torch.sigmoid(self.conv2(x)), 2, 2)
        x = x.view(x.size(0), -1)
        x = torch.sigmoid(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class TinyTutorial(nn.Module):
    """PyTorch's "Neural Networks" tutorial net (32×32, ReLU, max pooling, num_flat_features)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 5)
        self.conv2 = nn.Conv2d(3, 4, 5)
        self.fc1 = nn.Linear(4 * 5 * 5, 12)
        self.fc2 = nn.Linear(12, 9)
        self.fc3 = nn.Linear(9, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def num_flat_features(self, x):
        size = x.size()[1:]
        n = 1
        for s in size:
            n *= s
        return n


class TinyClassic(nn.Module):
    """Keras/LeCun style: tanh, average pooling, C5 as a conv over the whole 5×5 map, Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 2, 5, bias=False), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(2, 3, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(3, 6, 5), nn.Tanh(),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 10), nn.Softmax(dim=-1))

    def forward(self, x):
        return self.classifier(self.features(x))


class TinyScaledTanh(nn.Module):
    """The paper's scaled tanh, ReLU after max pooling, `x @ W + b` and a Linear with no bias."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5)
        self.conv2 = nn.Conv2d(2, 3, 5, padding=1)
        self.W = nn.Parameter(torch.randn(3 * 5 * 5, 6) * 0.2)
        self.b = nn.Parameter(torch.randn(6) * 0.2)
        self.out = nn.Linear(6, 10, bias=False)

    def forward(self, x):
        x = F.max_pool2d(1.7159 * torch.tanh(2 / 3 * self.conv1(x)), 2)
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = torch.flatten(x, 1)
        x = torch.sigmoid(x @ self.W + self.b)
        return self.out(x)


class TinyCaffe(nn.Module):
    """Caffe's LeNet shape (no activation after the convs, max pooling, ReLU dense), reshape(shape[0], -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5)
        self.conv2 = nn.Conv2d(2, 5, 5)
        self.ip1 = nn.Linear(5 * 4 * 4, 11)
        self.ip2 = nn.Linear(11, 10)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2, 2)
        x = F.max_pool2d(self.conv2(x), 2, 2)
        x = F.relu(self.ip1(x.reshape(x.shape[0], -1)))
        return self.ip2(x)


# Nets the reader must refuse, each for one reason.
class LeakyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5)
        self.fc = nn.Linear(2 * 12 * 12, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(F.leaky_relu(self.conv1(x)), 2), 1))


class Kernel3Net(LeakyNet):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 13 * 13, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(torch.relu(self.conv1(x)), 2), 1))


class Stride2Net(LeakyNet):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5, stride=2)
        self.fc = nn.Linear(2 * 6 * 6, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(torch.relu(self.conv1(x)), 2), 1))


class CeilNet(LeakyNet):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5)
        self.fc = nn.Linear(2 * 12 * 12, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(torch.relu(self.conv1(x)), 2, ceil_mode=True), 1))


class RgbNet(LeakyNet):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 5)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(torch.relu(self.conv1(x)), 2), 1))


class ResidualNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5, padding=2)
        self.conv2 = nn.Conv2d(2, 2, 5, padding=2)
        self.fc = nn.Linear(2 * 14 * 14, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = x + torch.relu(self.conv2(x))
        return self.fc(torch.flatten(F.max_pool2d(x, 2), 1))


def export(model: nn.Module, size: int, opset: int, *, dynamic: bool = True, channels: int = 1, **options) -> onnx.ModelProto:
    buffer = io.BytesIO()
    kwargs = dict(opset_version=opset, input_names=['input'], output_names=['output'], do_constant_folding=True)
    if dynamic:
        kwargs['dynamic_axes'] = {'input': {0: 'batch'}, 'output': {0: 'batch'}}
    kwargs.update(options)
    with torch.no_grad():
        torch.onnx.export(model.eval(), torch.zeros(1, channels, size, size), buffer, **kwargs)
    return onnx.load_from_string(buffer.getvalue())


def tensor_json(t: np.ndarray) -> dict:
    """Shape and the float32 values' little-endian bytes in base64 (exact, and a third the size of decimal)."""
    values = np.ascontiguousarray(t, dtype='<f4')
    return {'shape': list(t.shape), 'f32_base64': base64.b64encode(values.tobytes()).decode('ascii')}


def save(name: str, proto: onnx.ModelProto, info: dict, state: dict | None = None, output: np.ndarray | None = None) -> None:
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    (OUT / f'{name}.onnx').write_bytes(data)
    record = {
        'made_by': 'scripts/pytorch/make_onnx_fixtures.py',
        'torch': torch.__version__,
        'onnx': onnx.__version__,
        **info,
        'ops': [n.op_type for n in proto.graph.node],
    }
    if state is not None:
        record['state_dict'] = {k: tensor_json(v) for k, v in state.items()}
    if output is not None:
        record['input'] = f'test_input({info["input_size"]}): [{BATCH}, 1, s, s], x[i] = ((i * 7919) % 256) / 255'
        record['output'] = tensor_json(output)
    (OUT / f'{name}.json').write_text(json.dumps(record, indent=1) + '\n')
    print(f'{name}.onnx: {len(data):,} bytes, opset {info.get("opset")}, ops {sorted(set(record["ops"]))}')


def state_of(model: nn.Module) -> dict:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def good(name: str, make, size: int, opset: int, **options) -> tuple:
    torch.manual_seed(sum(map(ord, name)))
    model = make().eval()
    proto = export(model, size, opset, **options)
    with torch.no_grad():
        output = model(test_input(size)).numpy()
    info = {'net': make.__name__, 'opset': opset, 'input_size': size, 'options': {k: str(v) for k, v in options.items()}}
    save(name, proto, info, state_of(model), output)
    return model, proto, info, output


def retyped(proto: onnx.ModelProto, encode) -> onnx.ModelProto:
    """A copy whose float initializers are re-encoded by encode(name, array) -> TensorProto."""
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    for i, init in enumerate(copy.graph.initializer):
        if init.data_type == onnx.TensorProto.FLOAT:
            copy.graph.initializer[i].CopyFrom(encode(init.name, onnx.numpy_helper.to_array(init)))
    return copy


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    good('seed-op9', TinySeed, 28, 9)
    model, seed13, info, output = good('seed-op13', TinySeed, 28, 13)
    good('tutorial-op11', TinyTutorial, 32, 11)
    good('classic-op17-static', TinyClassic, 32, 17, dynamic=False)
    good('classic-op9-keepinit', TinyClassic, 32, 9, keep_initializers_as_inputs=True)
    good('scaled-tanh-op13', TinyScaledTanh, 28, 13)
    good('caffe-op13-static', TinyCaffe, 28, 13, dynamic=False)

    state = state_of(model)
    # Typed fields: float_data (packed) for every float initializer, as onnx.helper writes without raw=True.
    typed = retyped(seed13, lambda n, a: onnx.helper.make_tensor(n, onnx.TensorProto.FLOAT, a.shape, a.reshape(-1).tolist()))
    save('seed-op13-float-data', typed, {**info, 'edit': 'float initializers as float_data'}, state, output)
    # Doubles: raw_data for conv weights, double_data for the rest.
    def as_double(name, array):
        values = array.astype(np.float64)
        if name.startswith('conv'):
            return onnx.numpy_helper.from_array(values, name)
        return onnx.helper.make_tensor(name, onnx.TensorProto.DOUBLE, values.shape, values.reshape(-1).tolist())
    save('seed-op13-double', retyped(seed13, as_double), {**info, 'edit': 'initializers as DOUBLE (raw_data and double_data)'}, state, output)
    # Float16: raw_data for conv weights, int32_data (the ONNX typed field for float16 bits) for the rest.
    def as_half(name, array):
        halves = array.astype(np.float16)
        if name.startswith('conv'):
            return onnx.numpy_helper.from_array(halves, name)
        bits = halves.view(np.uint16).astype(np.int32).reshape(-1).tolist()
        tensor = onnx.TensorProto(name=name, data_type=onnx.TensorProto.FLOAT16, dims=list(halves.shape))
        tensor.int32_data.extend(bits)
        return tensor
    half = retyped(seed13, as_half)
    for value in list(half.graph.input) + list(half.graph.output):
        value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT16
    half_state = {k: v.astype(np.float16).astype(np.float32) for k, v in state.items()}
    save('seed-op13-float16', half, {**info, 'edit': 'FLOAT16 model: initializers raw_data (conv) and int32_data (fc)'}, half_state)

    # Dropout (opset 13: data, ratio, training_mode inputs; two outputs) and Identity, as other exporters leave them.
    dropout = onnx.ModelProto()
    dropout.CopyFrom(seed13)
    graph = dropout.graph
    gemm = next(i for i, n in enumerate(graph.node) if n.op_type == 'Gemm')
    source = graph.node[gemm].input[0]
    graph.initializer.append(onnx.numpy_helper.from_array(np.array(0.5, dtype=np.float32), 'dropout.ratio'))
    graph.initializer.append(onnx.numpy_helper.from_array(np.array(False), 'dropout.training_mode'))
    nodes = [
        onnx.helper.make_node('Identity', [source], ['identity_out'], name='identity'),
        onnx.helper.make_node('Dropout', ['identity_out', 'dropout.ratio', 'dropout.training_mode'], ['dropout_out', 'dropout_mask'], name='dropout'),
    ]
    graph.node[gemm].input[0] = 'dropout_out'
    for k, node in enumerate(nodes):
        graph.node.insert(gemm + k, node)
    save('seed-op13-dropout-identity', dropout, {**info, 'edit': 'Identity and Dropout (inference) before the first Gemm'}, state, output)

    # Refused: each for one reason (the test checks the message).
    def bad(name, make, size=28, opset=13, **options):
        torch.manual_seed(1)
        proto = export(make(), size, opset, **options)
        save(name, proto, {'net': make.__name__, 'opset': opset, 'input_size': size, 'refused': True})
    bad('refuse-leaky-relu', LeakyNet)
    bad('refuse-kernel3', Kernel3Net)
    bad('refuse-stride2', Stride2Net)
    bad('refuse-ceil-mode', CeilNet)
    bad('refuse-rgb', RgbNet, channels=3)
    bad('refuse-residual', ResidualNet)

    nonzero = onnx.ModelProto()
    nonzero.CopyFrom(seed13)
    pad_constant = next(n for n in nonzero.graph.node if n.op_type == 'Pad').input[1]
    for node in nonzero.graph.node:
        if node.output[0] == pad_constant:
            node.attribute[0].t.CopyFrom(onnx.numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64)))
    save('refuse-nonzero-pad', nonzero, {**info, 'edit': 'the first Pad pads 1 on each side', 'refused': True})

    external = onnx.ModelProto()
    external.CopyFrom(seed13)
    weight = next(i for i in external.graph.initializer if i.name == 'conv1.weight')
    weight.ClearField('raw_data')
    weight.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (('location', 'weights.bin'), ('offset', '0'), ('length', str(4 * 2 * 25))):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    data = external.SerializeToString()  # not check_model: the data file does not exist
    (OUT / 'refuse-external-data.onnx').write_bytes(data)
    (OUT / 'refuse-external-data.json').write_text(json.dumps({**info, 'edit': 'conv1.weight in an external file', 'refused': True}, indent=1) + '\n')
    print(f'refuse-external-data.onnx: {len(data):,} bytes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
