"""Cropping-inside-residual (CIR) backbones of SiamDW ("Deeper and Wider Siamese Networks").

Every unit ends by cutting one pixel off each side of its output, *after* the residual
addition (and ReLU): the 3x3 conv with padding 1 contaminates exactly that border with
zero padding, so the crop keeps only padding-free features. n stacked units shrink a map
by 2n pixels per side pair; a 127 exemplar ends at 5x5 and a 255 search region at 21x21,
with total stride 8.

Module and attribute names mirror SiamDW's ``lib/models/modules.py`` and ``backbones.py``
so that the released checkpoints load unchanged: each backbone is a thin wrapper whose
``features`` attribute holds the network, hence keys like ``features.features.conv1.weight``
once the wrapper sits in a model's ``features`` slot.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def center_crop(x: torch.Tensor, border: int = 1) -> torch.Tensor:
    """Remove `border` pixels from each side of an NCHW map (SiamDW's crop layer)."""
    return x[:, :, border:-border, border:-border]


def _init_weights(module: nn.Module) -> None:
    # SiamDW initialisation: He-normal (fan_out) convs, identity BN.
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class CIRBottleneck(nn.Module):
    """The CIR unit (SiamDW ``Bottleneck_CI``; ``Bottleneck_BIG_CI`` when ``wide``).

    1x1 -> 3x3 -> 1x1 (x4) bottleneck with an optional 1x1 projection shortcut; after the
    addition an optional ReLU, then a 1-pixel centre crop. ``wide`` doubles the 3x3 conv's
    channels (the CIResNet-22W variant).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        last_relu: bool,
        downsample: nn.Module | None = None,
        wide: bool = False,
    ) -> None:
        super().__init__()
        mid = planes * 2 if wide else planes
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, mid, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.last_relu = last_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        out = out + residual
        if self.last_relu:
            out = self.relu(out)
        return center_crop(out)


class CIResNet(nn.Module):
    """SiamDW ``ResNet``: a 7x7/2 stem, a 2-pixel crop and a 2x2 pool, then CIR stages.

    A stage flagged in ``pool_flags`` is a CIR-D stage: its first unit keeps stride 1 and is
    followed by the shared 2x2 max-pool (so that stage's Sequential index 1 holds the pool).
    The first unit of every stage ends with ReLU; the last unit takes ``last_relus[stage]``.
    """

    def __init__(
        self,
        layers: tuple[int, int] = (3, 4),
        last_relus: tuple[bool, bool] = (True, False),
        pool_flags: tuple[bool, bool] = (False, True),
        stem_channels: int = 64,
        planes: tuple[int, int] = (64, 128),
        wide: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = stem_channels
        self.wide = wide
        self.conv1 = nn.Conv2d(3, stem_channels, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.layer1 = self._make_stage(planes[0], layers[0], last_relus[0], pool_flags[0])
        self.layer2 = self._make_stage(planes[1], layers[1], last_relus[1], pool_flags[1])
        _init_weights(self)

    def _make_stage(self, planes: int, blocks: int, last_relu: bool, pool: bool) -> nn.Sequential:
        out_channels = planes * CIRBottleneck.expansion
        downsample = None
        if self.inplanes != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out_channels, kernel_size=1, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        units: list[nn.Module] = [
            CIRBottleneck(self.inplanes, planes, True, downsample, wide=self.wide)
        ]
        if pool:
            units.append(self.maxpool)
        self.inplanes = out_channels
        for i in range(1, blocks):
            relu = last_relu if i == blocks - 1 else True
            units.append(CIRBottleneck(self.inplanes, planes, relu, wide=self.wide))
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        # The stem conv pads by 3; cutting 2 pixels per side drops what that padding touched.
        x = self.maxpool(center_crop(x, 2))
        return self.layer2(self.layer1(x))


class _Branch3x3(nn.Module):
    """Bottleneck branch of a CIR-Inception unit (SiamDW ``BasicConv2d_3x3``), no shortcut."""

    def __init__(self, inplanes: int, planes: int, last_relu: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.last_relu = last_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out) if self.last_relu else out


class _Branch1x1(nn.Module):
    """1x1 branch of a CIR-Inception unit (SiamDW ``BasicConv2d_1x1``; its BN uses eps 1e-3)."""

    def __init__(self, inplanes: int, planes: int, last_relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(planes, eps=0.001)
        self.last_relu = last_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(self.conv(x))
        return F.relu(out) if self.last_relu else out


class CIRInceptionUnit(nn.Module):
    """SiamDW ``InceptionM``: concatenated 3x3 and 1x1 branches (5*planes channels), cropped."""

    def __init__(self, inplanes: int, planes: int, last_relu: bool = True) -> None:
        super().__init__()
        self.branch3x3 = _Branch3x3(inplanes, planes, last_relu)
        self.branch1x1 = _Branch1x1(inplanes, planes, last_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return center_crop(torch.cat([self.branch3x3(x), self.branch1x1(x)], 1))


class CIRInception(nn.Module):
    """SiamDW ``Inception`` (CIResIncep-22): unpadded 7x7/2 stem, 3x3/2 pool, 3 + 4 units."""

    def __init__(self, layers: tuple[int, int] = (3, 4)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.layer1 = self._make_stage(64, 64, layers[0], pool=False, last_relu=True)
        self.layer2 = self._make_stage(320, 128, layers[1], pool=True, last_relu=False)
        _init_weights(self)

    def _make_stage(
        self, inplanes: int, planes: int, blocks: int, pool: bool, last_relu: bool
    ) -> nn.Sequential:
        units: list[nn.Module] = []
        for i in range(blocks):
            if i == 1 and pool:
                units.append(self.maxpool)
            relu = last_relu if i == blocks - 1 else True
            units.append(CIRInceptionUnit(inplanes if i == 0 else planes * 5, planes, relu))
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool1(self.relu(self.bn1(self.conv1(x))))
        return self.layer2(self.layer1(x))


class CIRNeXtUnit(nn.Module):
    """SiamDW ``BasicBlock_C``: grouped bottleneck; BN (and ReLU) *after* the addition, cropped."""

    def __init__(
        self,
        inplanes: int,
        bottleneck_width: int = 4,
        cardinality: int = 32,
        expansion: int = 2,
        last_relu: bool = True,
    ) -> None:
        super().__init__()
        inner = cardinality * bottleneck_width
        out_channels = inner * expansion
        self.basic = nn.Sequential(
            OrderedDict(
                [
                    ("conv1_0", nn.Conv2d(inplanes, inner, 1, bias=False)),
                    ("bn1", nn.BatchNorm2d(inner)),
                    ("act0", nn.ReLU()),
                    (
                        "conv3_0",
                        nn.Conv2d(inner, inner, 3, padding=1, groups=cardinality, bias=False),
                    ),
                    ("bn2", nn.BatchNorm2d(inner)),
                    ("act1", nn.ReLU()),
                    ("conv1_1", nn.Conv2d(inner, out_channels, 1, bias=False)),
                    ("bn3", nn.BatchNorm2d(out_channels)),
                ]
            )
        )
        # Projection shortcut without BN, only where the channel count changes.
        self.shortcut = nn.Sequential()
        if inplanes != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(inplanes, out_channels, 1, bias=False))
        self.bn0 = nn.BatchNorm2d(out_channels)
        self.last_relu = last_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn0(self.basic(x) + self.shortcut(x))
        if self.last_relu:
            out = F.relu(out)
        return center_crop(out)


class CIRNeXt(nn.Module):
    """SiamDW ``ResNeXt`` (CIResNeXt-22): biased unpadded 7x7/2 stem, 3x3/2 pool, 3 + 4 units."""

    def __init__(
        self,
        layers: tuple[int, int] = (3, 4),
        cardinality: int = 32,
        bottleneck_width: int = 4,
        expansion: int = 2,
    ) -> None:
        super().__init__()
        self.cardinality = cardinality
        self.bottleneck_width = bottleneck_width
        self.expansion = expansion
        self.inplanes = 64
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv0 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0)
        self.bn0 = nn.BatchNorm2d(64)
        self.layer1 = self._make_stage(layers[0], last_relu=True, pool=False)
        self.layer2 = self._make_stage(layers[1], last_relu=False, pool=True)
        _init_weights(self)

    def _make_stage(self, blocks: int, last_relu: bool, pool: bool) -> nn.Sequential:
        units: list[nn.Module] = []
        for i in range(blocks):
            relu = last_relu if i == blocks - 1 else True
            units.append(
                CIRNeXtUnit(
                    self.inplanes, self.bottleneck_width, self.cardinality, self.expansion, relu
                )
            )
            self.inplanes = self.expansion * self.bottleneck_width * self.cardinality
            if i == 0 and pool:
                units.append(self.maxpool)
        # Each later stage doubles the bottleneck width, as in SiamDW.
        self.bottleneck_width *= 2
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool1(F.relu(self.bn0(self.conv0(x))))
        return self.layer2(self.layer1(x))


class CIRBackbone(nn.Module):
    """Wrapper holding a CIR network as ``features`` (SiamDW's ``ResNet22`` & co.)."""

    def __init__(self, body: nn.Module, out_channels: int) -> None:
        super().__init__()
        self.features = body
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def ciresnet22() -> CIRBackbone:
    """CIResNet-22: [3, 4] CIR units, 512 output channels."""
    return CIRBackbone(CIResNet(), 512)


def ciresnet22w() -> CIRBackbone:
    """CIResNet-22W: CIResNet-22 with doubled 3x3 convs, 512 output channels."""
    return CIRBackbone(CIResNet(wide=True), 512)


def cirincep22() -> CIRBackbone:
    """CIResInception-22: [3, 4] CIR-Inception units, 640 output channels."""
    return CIRBackbone(CIRInception(), 640)


def cirnext22() -> CIRBackbone:
    """CIResNeXt-22: [3, 4] CIR-NeXt units (cardinality 32, width 4), 512 output channels."""
    return CIRBackbone(CIRNeXt(), 512)
