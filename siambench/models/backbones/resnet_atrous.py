"""SiamRPN++'s ResNet-50: stride 8 kept from layer2 on by dilation instead of striding.

Differences from torchvision's ResNet-50, all needed to load pysot's released weights and keep
features aligned with the crop centre:
- ``conv1`` has padding 0; the 3x3 convolutions of stride 2 have padding 0 too
  (``padding = 2 - stride``), so no zero border shifts the features;
- layer3 and layer4 have stride 1 and dilation 2 and 4; the first block of a dilated stage uses
  half the dilation, and its shortcut is a 3x3 convolution rather than 1x1;
- layer2's shortcut is also a 3x3 convolution (stride 2, padding 0).

Feature sizes: template 127 -> 15x15 at layers 2-4, search 255 -> 31x31.
``forward`` returns the outputs named by `used_layers` (0: conv1 after ReLU, 1-4: layers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

EXPANSION = 4


def init_pysot_resnet(model: nn.Module) -> None:
    """pysot's ResNet initialisation (He, fan-out; identity BatchNorm), so that random-weight
    runs have sensible activations."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (possibly strided or dilated), 1x1 expand, plus the shortcut."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        if downsample is not None and dilation > 1:
            dilation //= 2  # the first block of a dilated stage bridges the dilation change
        if stride != 1 and dilation != 1:
            raise ValueError("a block is either strided or dilated, not both")
        padding = dilation if dilation > 1 else 2 - stride
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(
            planes, planes, 3, stride=stride, padding=padding, dilation=dilation, bias=False
        )
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _shortcut(inplanes: int, outplanes: int, stride: int, dilation: int) -> nn.Sequential:
    if stride == 1 and dilation == 1:
        conv = nn.Conv2d(inplanes, outplanes, 1, bias=False)
    elif dilation > 1:
        conv = nn.Conv2d(
            inplanes, outplanes, 3, stride=stride, padding=dilation // 2,
            dilation=dilation // 2, bias=False,
        )
    else:
        conv = nn.Conv2d(inplanes, outplanes, 3, stride=stride, padding=0, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(outplanes))


class ResNetAtrous(nn.Module):
    """ResNet with Bottleneck blocks, layer3/4 dilated; layers not in `used_layers` > 2 are absent."""

    def __init__(self, blocks: Sequence[int], used_layers: Sequence[int]) -> None:
        super().__init__()
        self.used_layers = list(used_layers)
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, blocks[0])
        self.layer2 = self._make_layer(128, blocks[1], stride=2)
        # pysot builds layer3/layer4 only when they are used (SiamMask stops at layer3)
        self.layer3 = self._make_layer(256, blocks[2], dilation=2) if 3 in used_layers else None
        self.layer4 = self._make_layer(512, blocks[3], dilation=4) if 4 in used_layers else None
        self.out_channels = [[64, 256, 512, 1024, 2048][i] for i in self.used_layers]
        self._init_weights()

    def _make_layer(self, planes: int, count: int, stride: int = 1, dilation: int = 1):
        downsample = None
        if stride != 1 or self.inplanes != planes * EXPANSION:
            downsample = _shortcut(self.inplanes, planes * EXPANSION, stride, dilation)
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, dilation)]
        self.inplanes = planes * EXPANSION
        layers += [Bottleneck(self.inplanes, planes, dilation=dilation) for _ in range(1, count)]
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        init_pysot_resnet(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        c1 = self.relu(self.bn1(self.conv1(x)))
        p1 = self.layer1(self.maxpool(c1))
        p2 = self.layer2(p1)
        p3 = p2 if self.layer3 is None else self.layer3(p2)
        p4 = p3 if self.layer4 is None else self.layer4(p3)
        stages = (c1, p1, p2, p3, p4)
        out = [stages[i] for i in self.used_layers]
        return out[0] if len(out) == 1 else out


def resnet50(used_layers: Sequence[int] = (2, 3, 4)) -> ResNetAtrous:
    """The ResNet-50 of SiamRPN++ (3, 4, 6, 3 blocks)."""
    return ResNetAtrous((3, 4, 6, 3), used_layers)
