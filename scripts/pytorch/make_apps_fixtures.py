"""Real-PyTorch fixtures for `npm run eval` on CIFAR-10 files and the demo's picture input.

Needs PyTorch, numpy and Pillow (Debian: `apt-get install python3-torch python3-pil`), then:

    /usr/bin/python3 scripts/pytorch/make_apps_fixtures.py --out tests/fixtures/apps

PyTorch's CIFAR-10 tutorial `Net`, exactly as the tutorial writes it (conv 3→6 5×5, ReLU,
max pool, conv 6→16 5×5, ReLU, max pool, fc 400→120→84→10), trained from
torch.manual_seed(SEED) with Adam for a few epochs on synthetic 32×32 colour images (no
download here: each class is a hue and a stripe direction, with noise), and saved as the
tutorial saves it. The tutorial's input transform is ToTensor() then
Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)): x = (byte / 255 − 0.5) / 0.5, written out here
by hand (no torchvision).

    cifar_net.pth              torch.save(net.state_dict(), './cifar_net.pth'), as the tutorial
    cifar10-sample.bin         CIFAR-10 binary format: 40 records of one label byte and the
                               R, G and B planes of a 32×32 image (synthetic, 4 per class)
    cifar_net.logits.f32       PyTorch's logits for those 40 images, from a fresh Net loaded from
                               cifar_net.pth: 40 × 10 little-endian float32, row-major
    picture.png                a 96×64 RGB picture of class PICTURE_CLASS's pattern (no colour
                               chunks), for the demo's picture input
    picture.logits.f32         PyTorch's logits for picture.png as the demo reads it: the centre
                               64×64 square, averaged over 2×2 blocks to 32×32 (area resampling),
                               / 255, normalised: 1 × 10 float32
    picture.seen.u8            that 32×32 picture before normalisation, round(value · 255), planar
                               R, G, B (3,072 bytes): what the demo's "seen" canvas must show
    summary.json               what each file holds and how it was made

Deterministic (one thread, seeded): a second run writes the same files.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_bn_colour_fixtures import Net  # noqa: E402  (the CIFAR-10 tutorial's Net, as the tutorial writes it)

SEED = 19
EPOCHS = 4
TRAIN_IMAGES = 2000
SAMPLE_PER_CLASS = 4
PICTURE_CLASS = 6  # frog: the hue and stripes of class 6


def hue_rgb(k: int) -> np.ndarray:
    """A saturated colour for class k (hue k·36°), as floats in [0, 1]."""
    h = (k * 36 % 360) / 60.0
    x = 1 - abs(h % 2 - 1)
    rgb = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)][int(h) % 6]
    return np.array(rgb, dtype=np.float64)


def class_images(label: int, count: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """count images of class `label`: its hue, stripes across (label < 5) or down, noise. [count, 3, H, W] uint8."""
    ys, xs = np.mgrid[0:height, 0:width]
    out = np.empty((count, 3, height, width), dtype=np.uint8)
    for i in range(count):
        period = rng.uniform(5, 9) * width / 32
        phase = rng.uniform(0, 2 * np.pi)
        coordinate = ys if label < 5 else xs
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * coordinate / period + phase)
        colour = hue_rgb(label)[:, None, None] * (0.35 + 0.65 * stripes)[None]
        image = colour * rng.uniform(0.7, 1.0) + rng.normal(0, 0.08, (3, height, width))
        out[i] = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    return out


def normalise(images: np.ndarray) -> torch.Tensor:
    """ToTensor() then Normalize((0.5,)*3, (0.5,)*3): bytes → (byte/255 − 0.5)/0.5, float32."""
    return torch.from_numpy(((images.astype(np.float32) / 255.0) - 0.5) / 0.5)


def dataset(per_class: int, rng: np.random.Generator):
    labels = np.repeat(np.arange(10), per_class)
    images = np.concatenate([class_images(k, per_class, 32, 32, rng) for k in range(10)])
    order = rng.permutation(len(labels))
    return images[order], labels[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='tests/fixtures/apps')
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)

    train_images, train_labels = dataset(TRAIN_IMAGES // 10, rng)
    net = Net()
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    x_train, y_train = normalise(train_images), torch.from_numpy(train_labels).long()
    for epoch in range(EPOCHS):
        for first in range(0, len(y_train), 50):
            optimiser.zero_grad()
            loss = F.cross_entropy(net(x_train[first:first + 50]), y_train[first:first + 50])
            loss.backward()
            optimiser.step()
        print(f'epoch {epoch + 1}: loss {loss.item():.4f}', file=sys.stderr)
    torch.save(net.state_dict(), out / 'cifar_net.pth')

    # What a user of the file does: a fresh Net, load_state_dict, eval, classify.
    fresh = Net()
    fresh.load_state_dict(torch.load(out / 'cifar_net.pth'))
    fresh.eval()

    sample_images, sample_labels = dataset(SAMPLE_PER_CLASS, rng)
    records = np.concatenate([sample_labels.astype(np.uint8)[:, None], sample_images.reshape(len(sample_labels), -1)], axis=1)
    (out / 'cifar10-sample.bin').write_bytes(records.astype(np.uint8).tobytes())
    with torch.no_grad():
        logits = fresh(normalise(sample_images)).numpy().astype('<f4')
    (out / 'cifar_net.logits.f32').write_bytes(logits.tobytes())
    predicted = logits.argmax(1)
    accuracy = float((predicted == sample_labels).mean())

    picture = class_images(PICTURE_CLASS, 1, 96, 64, rng)[0]  # [3, 64, 96]
    Image.fromarray(np.transpose(picture, (1, 2, 0)), 'RGB').save(out / 'picture.png', optimize=False)
    square = picture[:, :, 16:80].astype(np.float64)  # the centre 64×64
    area = square.reshape(3, 32, 2, 32, 2).mean(axis=(2, 4)) / 255.0  # 2×2 blocks: area resampling to 32×32
    with torch.no_grad():
        picture_logits = fresh(torch.from_numpy(((area - 0.5) / 0.5).astype(np.float32))[None]).numpy().astype('<f4')
    (out / 'picture.logits.f32').write_bytes(picture_logits.tobytes())
    (out / 'picture.seen.u8').write_bytes(np.round(area * 255).astype(np.uint8).tobytes())

    summary = {
        'made_by': 'scripts/pytorch/make_apps_fixtures.py',
        'torch': torch.__version__,
        'seed': SEED,
        'cifar_net.pth': 'torch.save(net.state_dict(), path) of the CIFAR-10 tutorial Net, trained on synthetic colour images',
        'cifar10-sample.bin': {'records': int(len(sample_labels)), 'labels': sample_labels.tolist()},
        'cifar_net.logits.f32': {'shape': [int(len(sample_labels)), 10], 'predicted': predicted.tolist(), 'accuracy': accuracy},
        'picture.png': {'width': 96, 'height': 64, 'pattern_of_class': PICTURE_CLASS},
        'picture.logits.f32': {'shape': [1, 10], 'predicted': int(picture_logits.argmax()), 'logits': [round(float(v), 6) for v in picture_logits[0]]},
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    print(json.dumps({k: summary[k] for k in ('cifar_net.logits.f32', 'picture.logits.f32')}), file=sys.stderr)


if __name__ == '__main__':
    main()
