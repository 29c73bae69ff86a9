"""A narrow, padded ResNet with SiamRPN++'s geometry, small enough to train on a CPU.

It exists for the spatial-bias analysis (``siambench analyze shift``): the SiamRPN++ paper's
point is that the zero padding inside a deep backbone's residual units breaks the strict
translation invariance an unpadded AlexNet has, so a network trained on centred targets learns
to prefer the centre. This backbone keeps what matters for that effect from pysot's ResNet-50
(``resnet_atrous``) and shrinks the rest:

- ``conv1`` 7x7 stride 2 without padding and stride-2 3x3 convolutions without padding, so the
  feature grid stays aligned with the crop centre (odd sizes: 127 -> 15, 255 -> 31);
- every other 3x3 convolution is padded (1, or the dilation), as in ResNet: the padding whose
  border effect the analysis measures;
- stride 8, kept after layer2 by dilating layer3 (dilation 2).

Basic (two 3x3) blocks of 16 / 32 / 64 channels, two per stage: about 0.2 M parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from siambench.models.backbones.resnet_atrous import init_pysot_resnet


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BN and a shortcut (1x1, or 3x3 when the block strides)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        # stride-2 convs without padding keep the grid centred (pysot's `padding = 2 - stride`)
        first_pad = 0 if stride == 2 else dilation
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, first_pad, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            kernel = 3 if stride == 2 else 1
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, kernel, stride, 0, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class SmallResNet(nn.Module):
    """Stem, then three stages of basic blocks (strides 1, 2, 1 with dilation 2)."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64), blocks: int = 2) -> None:
        super().__init__()
        stem = widths[0]
        self.conv1 = nn.Conv2d(3, stem, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._stage(stem, widths[0], blocks, 1, 1)
        self.layer2 = self._stage(widths[0], widths[1], blocks, 2, 1)
        self.layer3 = self._stage(widths[1], widths[2], blocks, 1, 2)
        self.out_channels = widths[2]
        init_pysot_resnet(self)

    @staticmethod
    def _stage(inplanes: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
        units = [BasicBlock(inplanes, planes, stride, dilation)]
        units += [BasicBlock(planes, planes, 1, dilation) for _ in range(1, blocks)]
        return nn.Sequential(*units)


    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))
