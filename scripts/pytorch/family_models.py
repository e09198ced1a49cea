"""Members of the LeNet-5 family as their users write them in PyTorch.

Each class is the nn.Module of a well-known source, with that source's attribute names (they
become the state_dict() keys and the ONNX initializer names), so files saved from them are the
files people actually hold:

    seed               LeNet5Seed (lenet5_seed.py): the project's seed variant; sigmoid, average
                       pooling, 28×28 input, conv1 padding 2.
    pytorch-tutorial   Net: PyTorch's "Neural Networks" tutorial (beginner/blitz), verbatim;
                       ReLU, max pooling, 32×32 input, no padding. Same tensor names and shapes
                       as the seed, which is why its safetensors file used to load as the seed.
    lenet-tanh         LeNet5Tanh: a Keras-style tanh LeNet-5 in nn.Sequential form
                       (features.0, features.3, classifier.0, classifier.2, classifier.4),
                       flattened with x.view(x.size(0), -1).
    caffe-lenet        CaffeLeNet: Caffe's examples/mnist/lenet_train_test.prototxt (conv1 20,
                       pool1, conv2 50, pool2, ip1 500, relu1, ip2); no activation after the
                       convolutions, exactly as in Caffe; flattened with x.view(-1, 800).
    lenet-logsoftmax   LeNet5LogSoftmax: the seed layout with ReLU and max pooling, ending in
                       F.log_softmax(x, dim=1) as PyTorch's examples/mnist does (trained with
                       NLLLoss).

Helper modules for the readers' test files:

    SeedMatMul         the seed network with its dense layers written as `x @ self.weight.t() +
                       self.bias` (state_dict keys identical to the seed's), so ONNX export emits
                       MatMul + Add instead of Gemm.
    SoftplusNet        a tiny net with a Softplus activation (outside the family).
    Conv3x3Net         a tiny net with a 3×3 convolution (outside the family).

`MODELS` maps the family names to (constructor, input side). Inputs are [N, 1, side, side]
float32 MNIST pixel / 255, zero-padded from 28×28 to the side (see `preprocess`).
"""
from typing import Callable, Dict, Tuple

import torch
from torch import nn
import torch.nn.functional as F

from lenet5_seed import LeNet5Seed


class Net(nn.Module):
    """PyTorch's "Neural Networks" tutorial network, as the tutorial writes it (32×32 input)."""

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution
        # kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        # Max pooling over a (2, 2) window
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        # If the size is a square, you can specify with a single number
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)  # flatten all dimensions except the batch dimension
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class LeNet5Tanh(nn.Module):
    """Keras-style LeNet-5: tanh everywhere, average pooling, 28×28 input with 'same' padding on conv1.

    state_dict keys: features.0.{weight,bias} [6,1,5,5], features.3.{weight,bias} [16,6,5,5],
    classifier.0 [120,400], classifier.2 [84,120], classifier.4 [10,84]. Flattens with the
    common `x.view(x.size(0), -1)` idiom (so its ONNX export has a computed Reshape).
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.Tanh(),
            nn.Linear(120, 84),
            nn.Tanh(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)  # ONNX: Shape → Gather → Unsqueeze → Concat → Reshape
        return self.classifier(x)


class CaffeLeNet(nn.Module):
    """Caffe's MNIST LeNet (examples/mnist/lenet_train_test.prototxt), layer for layer.

    conv1 20@5×5 → pool1 max 2×2/2 → conv2 50@5×5 → pool2 max 2×2/2 → ip1 800→500 → relu1 →
    ip2 500→10. No activation after the convolutions (Caffe's net has none). Input 28×28,
    pixel × 0.00390625 (= / 256 in Caffe; this project uses / 255, see the fixture summary).
    Flattens with `x.view(-1, 800)` (a constant-shape Reshape in ONNX), as Caffe ports often do.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, kernel_size=5, stride=1)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(20, 50, kernel_size=5, stride=1)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.ip1 = nn.Linear(50 * 4 * 4, 500)
        self.relu1 = nn.ReLU(inplace=True)
        self.ip2 = nn.Linear(500, 10)

    def forward(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = x.view(-1, 800)  # ONNX: Reshape with a constant shape [-1, 800]
        x = self.relu1(self.ip1(x))
        return self.ip2(x)


class LeNet5LogSoftmax(nn.Module):
    """The seed layout with ReLU and max pooling, ending in log_softmax (PyTorch examples/mnist style)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return F.log_softmax(x, dim=1)


class MatMulLinear(nn.Module):
    """A dense layer written by hand, `x @ self.weight.t() + self.bias`: same parameters as nn.Linear."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        reference = nn.Linear(in_features, out_features)  # nn.Linear's initialisation
        with torch.no_grad():
            self.weight.copy_(reference.weight)
            self.bias.copy_(reference.bias)

    def forward(self, x):
        return x @ self.weight.t() + self.bias


class SeedMatMul(nn.Module):
    """LeNet5Seed with hand-written dense layers (MatMul + Add in ONNX); the same state_dict keys."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2, stride=1)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = MatMulLinear(16 * 5 * 5, 120)
        self.fc2 = MatMulLinear(120, 84)
        self.fc3 = MatMulLinear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.sigmoid(self.conv1(x)), kernel_size=2, stride=2)
        x = F.avg_pool2d(torch.sigmoid(self.conv2(x)), kernel_size=2, stride=2)
        x = torch.flatten(x, 1)
        x = torch.sigmoid(self.fc1(x))
        x = torch.sigmoid(self.fc2(x))
        return self.fc3(x)


class SoftplusNet(nn.Module):
    """Outside the family: conv1 5×5 → Softplus → max pool → fc 6·12·12 → 10 (28×28 input)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.fc1 = nn.Linear(6 * 12 * 12, 10)

    def forward(self, x):
        x = F.max_pool2d(F.softplus(self.conv1(x)), 2)
        return self.fc1(torch.flatten(x, 1))


class Conv3x3Net(nn.Module):
    """Outside the family: conv1 3×3 (padding 1) → ReLU → max pool → fc 4·14·14 → 10 (28×28 input)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return self.fc1(torch.flatten(x, 1))


# name → (constructor, input side)
MODELS: Dict[str, Tuple[Callable[[], nn.Module], int]] = {
    'seed': (LeNet5Seed, 28),
    'pytorch-tutorial': (Net, 32),
    'lenet-tanh': (LeNet5Tanh, 28),
    'caffe-lenet': (CaffeLeNet, 28),
    'lenet-logsoftmax': (LeNet5LogSoftmax, 28),
}


def preprocess(images28: torch.Tensor, side: int) -> torch.Tensor:
    """[N, 1, 28, 28] pixel / 255 → [N, 1, side, side], zero-padded equally on every side (28 → 32 pads 2)."""
    pad = side - 28
    if pad < 0 or pad % 2:
        raise ValueError(f'input side {side}: expected 28 + an even number')
    return F.pad(images28, (pad // 2,) * 4) if pad else images28


if __name__ == '__main__':
    for name, (make, side) in MODELS.items():
        model = make()
        count = sum(p.numel() for p in model.parameters())
        print(f'{name}: {type(model).__name__}, input {side}×{side}, {count} parameters')
        for key, tensor in model.state_dict().items():
            print(f'  {key} {list(tensor.shape)}')
