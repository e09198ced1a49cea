"""The seed variant of LeNet-5: the PyTorch module given in LENET5.md, unchanged.

Its state_dict() keys (conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc1.weight,
fc1.bias, fc2.weight, fc2.bias, fc3.weight, fc3.bias) are the tensor names lenet5-webgpu
expects, so

    from safetensors.torch import save_file
    save_file(LeNet5Seed().state_dict(), 'seed.safetensors')

writes a file the engine loads with no renaming and no metadata. (Without the safetensors
library, `from safetensors_compat import save_file` writes the same bytes.)

Input: [N, 1, 28, 28] float32, MNIST pixel / 255 (0 = background, 1 = ink).
Output: [N, 10] logits; the class is the argmax.
"""
import torch
from torch import nn
import torch.nn.functional as F


class LeNet5Seed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2, stride=1)  # 28×28 → 6@28×28
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)  # 6@14×14 → 16@10×10 (dense, no table)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(torch.sigmoid(self.conv1(x)), kernel_size=2, stride=2)
        x = F.avg_pool2d(torch.sigmoid(self.conv2(x)), kernel_size=2, stride=2)
        x = torch.flatten(x, 1)  # channel-major: index c·25 + y·5 + x
        x = torch.sigmoid(self.fc1(x))
        x = torch.sigmoid(self.fc2(x))
        return self.fc3(x)


if __name__ == '__main__':
    model = LeNet5Seed()
    print(sum(p.numel() for p in model.parameters()), 'parameters')  # 61706
    for name, tensor in model.state_dict().items():
        print(name, list(tensor.shape))
