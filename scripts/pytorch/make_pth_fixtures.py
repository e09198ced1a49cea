"""Small PyTorch `.pth` files for the `.pth` reader's tests (src/formats/pth.ts).

Needs PyTorch (on Debian: `apt-get install python3-torch`, then run Debian's /usr/bin/python3).
Remake the committed files with

    /usr/bin/python3 scripts/pytorch/make_pth_fixtures.py

Each file is written by `torch.save` exactly as a PyTorch user writes it, then read back with
`torch.load` to make sure PyTorch itself reads it (or, for the files the reader must refuse,
that PyTorch reads it as what the refusal says it is). `expected.json` records, for every
file the reader must accept, each tensor's shape and its values as PyTorch's `.float()` gives
them (row-major, float32 values written as the shortest decimal that round-trips), and for
every file it must refuse, what the file holds. The tensors are tiny (a LeNet-ish net of 687
parameters), so the reader is compared element by element.

Files (tests/fixtures/pth/):
  lenet.pth            state_dict of TinyLeNet, float32 (PyTorch's zip format, pickle protocol 2)
  lenet-f64.pth        float64 weights drawn in float64 (not float32 values widened), so
                       reading them rounds exactly as `.float()` does
  lenet-f16.pth        float16 copy;  lenet-bf16.pth  bfloat16 copy
  lenet-protocol4.pth  the float32 state_dict saved with pickle_protocol=4 (FRAME, MEMOIZE,
                       SHORT_BINUNICODE, STACK_GLOBAL)
  lenet-legacy.pth     the float32 state_dict in the legacy non-zip format
                       (_use_new_zipfile_serialization=False)
  views.pth            non-contiguous views sharing storages: offsets, transposes, column
                       slices, a stride-0 expand, two names for one tensor
  parameters.pth       nn.Parameter values (torch._utils._rebuild_parameter) and a tensor
                       pickled as torch 2.x pickles tensors with Python attributes
                       (torch._tensor._rebuild_from_type_v2)
  checkpoint.pth       {'model': state_dict, 'optimizer': SGD-with-momentum state, 'epoch': 3}
  ambiguous.pth        {'model': state_dict, 'ema': state_dict}: two dicts of tensors
  module.pth           torch.save(model): a whole pickled module (refused)
  module-legacy.pth    the same in the legacy format, where the class is a persistent id (refused)
  torchscript.pt       torch.jit.save(torch.jit.script(model)): a TorchScript archive (refused)
  batchnorm.pth        a state_dict with BatchNorm's int64 num_batches_tracked (refused)
  int-tensor.pth       a state_dict with an int32 tensor (refused)
  nan.pth              a state_dict with a NaN (refused, naming the tensor)
  overflow-f64.pth     a float64 value beyond float32's range (refused, naming the tensor)
  tensor.pth           torch.save(tensor): one tensor, not a dict (refused)
"""
import json
import re
import sys
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = REPO / 'tests' / 'fixtures' / 'pth'


class TinyLeNet(nn.Module):
    """LeNet-ish and tiny: 28x28 -> conv 2@5x5 -> pool -> conv 3@5x5 -> pool -> 8 -> 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5)
        self.conv2 = nn.Conv2d(2, 3, 5)
        self.fc1 = nn.Linear(3 * 4 * 4, 8)
        self.fc2 = nn.Linear(8, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
        x = F.max_pool2d(torch.tanh(self.conv2(x)), 2)
        return self.fc2(torch.tanh(self.fc1(x.flatten(1))))


class TinyBatchNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 5)
        self.bn1 = nn.BatchNorm2d(2)


def float32_values(tensor):
    """Row-major float32 values as Python floats (exact: every float32 is a double)."""
    return [float(v) for v in tensor.detach().float().contiguous().view(-1).tolist()]


def describe_tensors(state):
    return {name: {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'values': float32_values(t)}
            for name, t in state.items() if isinstance(t, torch.Tensor)}


class TensorWithState:
    """Pickles like torch 2.x pickles a tensor that carries Python attributes:
    torch._tensor._rebuild_from_type_v2(torch._utils._rebuild_tensor_v2, torch.Tensor, args, state)."""

    def __init__(self, tensor, state):
        self.tensor, self.state = tensor, state

    def __reduce_ex__(self, proto):
        func, args = self.tensor._reduce_ex_internal(proto)
        return (torch._tensor._rebuild_from_type_v2, (func, torch.Tensor, args, self.state))


def check_loads(path, expected):
    """torch.load must give back exactly the expected tensors (shape and float32 values)."""
    loaded = torch.load(path)
    for key in expected.get('path', []):
        loaded = loaded[key]
    for name, want in expected['tensors'].items():
        got = loaded[name]
        assert list(got.shape) == want['shape'], (path, name)
        assert float32_values(got) == want['values'], (path, name)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(5)
    net = TinyLeNet()
    state = net.state_dict()
    files = {}

    def save(name, obj, how, accept=None, **kwargs):
        path = OUT / name
        torch.save(obj, path, **kwargs)
        entry = {'how': how}
        if accept is not None:
            entry.update(accept)
            check_loads(path, entry)
        files[name] = entry
        return path

    save('lenet.pth', state, 'torch.save(TinyLeNet().state_dict(), path)',
         {'tensors': describe_tensors(state)})

    gen = torch.Generator().manual_seed(64)
    state64 = OrderedDict((k, (torch.rand(v.shape, generator=gen, dtype=torch.float64) - 0.5) * 2.0 ** torch.randint(-20, 20, (), generator=gen).item())
                          for k, v in state.items())
    net64 = TinyLeNet().double()
    net64.load_state_dict(state64)
    save('lenet-f64.pth', net64.state_dict(), 'TinyLeNet().double() with float64 weights drawn in float64, state_dict saved',
         {'tensors': describe_tensors(net64.state_dict())})
    for dtype, name in [(torch.float16, 'lenet-f16.pth'), (torch.bfloat16, 'lenet-bf16.pth')]:
        converted = TinyLeNet().to(dtype)
        converted.load_state_dict(state)
        save(name, converted.state_dict(), f'the float32 net .to({dtype}), state_dict saved',
             {'tensors': describe_tensors(converted.state_dict())})
    save('lenet-protocol4.pth', state, 'torch.save(state_dict, path, pickle_protocol=4)',
         {'tensors': describe_tensors(state)}, pickle_protocol=4)
    save('lenet-legacy.pth', state, 'torch.save(state_dict, path, _use_new_zipfile_serialization=False)',
         {'tensors': describe_tensors(state)}, _use_new_zipfile_serialization=False)

    base = torch.arange(1.0, 25.0).reshape(4, 6) / 8.0  # storage of 24 floats
    other = torch.linspace(-1.0, 1.0, 7, dtype=torch.float64)
    views = OrderedDict([
        ('whole', base),
        ('row_slice', base[1:3]),                 # offset 6, contiguous
        ('transposed', base.t()),                 # stride (1, 6)
        ('columns', base[:, 2:5]),                # offset 2, stride (6, 1)
        ('every_other', base.view(-1)[3::5]),     # offset 3, stride (5,)
        ('element', base[3, 5]),                  # 0-d tensor, offset 23
        ('expanded', base[0, :1].expand(3, 4)),   # stride (0, 0)
        ('same_as_whole', base),                  # the same tensor under two names
        ('double_tail', other[4:]),               # float64 storage, offset 4
        ('empty', base[:, 6:]),                   # shape (4, 0)
    ])
    save('views.pth', views, 'an OrderedDict of views of two storages (offsets, strides, expand, 0-d, empty)',
         {'tensors': describe_tensors(views)})

    weight = nn.Parameter(torch.tensor([[0.5, -1.5], [2.25, 3.0]]))
    with_state = torch.tensor([1.0, 2.0, -4.0])
    params = {'weight': weight, 'bias': nn.Parameter(torch.tensor([0.125, -0.25]), requires_grad=False),
              'scaled': TensorWithState(with_state, {'note': 'attribute'})}
    save('parameters.pth', params, 'nn.Parameter values and a tensor pickled via _rebuild_from_type_v2 (torch 2.x style)',
         {'tensors': {'weight': describe_tensors({'w': weight})['w'], 'bias': describe_tensors({'b': params['bias']})['b'],
                      'scaled': describe_tensors({'s': with_state})['s']}})

    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.rand(2, 1, 28, 28, generator=gen)).sum().backward()
    optimizer.step()
    stepped = net.state_dict()
    save('checkpoint.pth', {'model': stepped, 'optimizer': optimizer.state_dict(), 'epoch': 3},
         "{'model': state_dict, 'optimizer': SGD momentum state (tensors too), 'epoch': 3}",
         {'path': ['model'], 'tensors': describe_tensors(stepped)})
    save('ambiguous.pth', {'model': stepped, 'ema': state, 'epoch': 3}, "{'model': state_dict, 'ema': state_dict, 'epoch': 3}")

    save('module.pth', net, 'torch.save(model): a whole pickled TinyLeNet (class __main__.TinyLeNet)')
    save('module-legacy.pth', net, 'torch.save(model, path, _use_new_zipfile_serialization=False)',
         _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(net), OUT / 'torchscript.pt')
    files['torchscript.pt'] = {'how': 'torch.jit.save(torch.jit.script(model), path): TorchScript, not a state_dict'}
    save('batchnorm.pth', TinyBatchNormNet().state_dict(), 'state_dict with BatchNorm2d (int64 num_batches_tracked)')
    save('int-tensor.pth', OrderedDict([('fc.weight', torch.ones(2, 2)), ('fc.index', torch.tensor([1, 2], dtype=torch.int32))]),
         'state_dict with an int32 tensor')
    save('nan.pth', OrderedDict([('fc.weight', torch.ones(2, 2)), ('fc.bias', torch.tensor([1.0, float('nan')]))]),
         "state_dict whose 'fc.bias'[1] is NaN")
    save('overflow-f64.pth', OrderedDict([('fc.weight', torch.tensor([[1.0, -1e39]], dtype=torch.float64))]),
         "float64 state_dict whose 'fc.weight'[0, 1] is -1e39 (beyond float32)")
    save('tensor.pth', torch.ones(3), 'torch.save(tensor): one tensor, not a state_dict')

    text = json.dumps({
        'generator': 'scripts/pytorch/make_pth_fixtures.py',
        'torch': torch.__version__,
        'python': sys.version.split()[0],
        'files': files,
    }, indent=1)
    # One line per list of numbers (shapes, values): the file stays small and diffable.
    text = re.sub(r'\[[-0-9.e+,\s]*\]', lambda m: re.sub(r'\s+', '', m.group(0)), text)
    (OUT / 'expected.json').write_text(text + '\n')
    for name in sorted(files):
        print(f'{name:22} {(OUT / name).stat().st_size:6} bytes  {files[name]["how"]}')


if __name__ == '__main__':
    main()
