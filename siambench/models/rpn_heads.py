"""Region-proposal heads: SiamRPN's up-channel head and SiamRPN++'s depthwise heads.

Every head maps template features z and search features x to ``cls`` (B, 2A, S, S) and ``loc``
(B, 4A, S, S) with pysot's channel layout: cls channels 0..A-1 are background, A..2A-1
foreground; loc channels are dx of anchors 0..A-1, then dy, dw, dh.

The template side of a head depends only on the first frame, so each head splits its forward
pass into ``kernels(z)`` (computed once by the model's ``template``) and ``correlate(kernels,
x)`` (run every frame). ``forward(z, x)`` composes the two, as pysot's heads do.

Head sizes for 256 channels and 5 anchors: the up-channel head lifts template features to
256*2A and 256*4A channels (18.9M parameters); a depthwise head correlates channel by channel
and predicts with 1x1 convolutions (2.5M parameters), which is SiamRPN++'s point.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from siambench.ops import xcorr_depthwise, xcorr_fast


class UpChannelRPN(nn.Module):
    """SiamRPN / DaSiamRPN head: template features become 2A and 4A correlation kernels."""

    def __init__(self, anchor_num: int = 5, feature_in: int = 256, feature_out: int | None = None):
        super().__init__()
        # pysot ties the correlation width to the input width; DaSiamRPN names it feature_out
        hidden = feature_in if feature_out is None else feature_out
        self.template_cls_conv = nn.Conv2d(feature_in, hidden * 2 * anchor_num, 3)
        self.template_loc_conv = nn.Conv2d(feature_in, hidden * 4 * anchor_num, 3)
        self.search_cls_conv = nn.Conv2d(feature_in, hidden, 3)
        self.search_loc_conv = nn.Conv2d(feature_in, hidden, 3)
        self.loc_adjust = nn.Conv2d(4 * anchor_num, 4 * anchor_num, 1)

    def kernels(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.template_cls_conv(z), self.template_loc_conv(z)

    def correlate(self, kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls_kernel, loc_kernel = kernels
        cls = xcorr_fast(self.search_cls_conv(x), cls_kernel)
        loc = self.loc_adjust(xcorr_fast(self.search_loc_conv(x), loc_kernel))
        return cls, loc

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.correlate(self.kernels(z), x)


def _conv_bn_relu(cin: int, cout: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class DepthwiseXCorr(nn.Module):
    """3x3 conv on both branches, depthwise correlation, then a 1x1 conv head to `out_channels`."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.conv_search = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.head = nn.Sequential(
            nn.Conv2d(hidden, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1),
        )

    def kernels(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(z)

    def correlate(self, kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(xcorr_depthwise(self.conv_search(x), kernel))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.correlate(self.kernels(z), x)


class DepthwiseRPN(nn.Module):
    """Two depthwise branches: ``cls`` with 2A outputs and ``loc`` with 4A."""

    def __init__(self, anchor_num: int = 5, in_channels: int = 256, out_channels: int = 256):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4 * anchor_num)

    def kernels(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls.kernels(z), self.loc.kernels(z)

    def correlate(self, kernels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls.correlate(kernels[0], x), self.loc.correlate(kernels[1], x)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.correlate(self.kernels(z), x)


class MultiRPN(nn.Module):
    """One DepthwiseRPN per feature level (``rpn2``, ``rpn3``, ...), fused by a weighted sum.

    With `weighted`, the fusion weights are ``softmax(cls_weight)`` and ``softmax(loc_weight)``
    (learned, one per level); otherwise the levels are averaged.
    """

    def __init__(self, anchor_num: int, in_channels: Sequence[int], weighted: bool = False):
        super().__init__()
        self.num = len(in_channels)
        self.weighted = weighted
        for i, channels in enumerate(in_channels):
            self.add_module(f"rpn{i + 2}", DepthwiseRPN(anchor_num, channels, channels))
        if weighted:
            self.cls_weight = nn.Parameter(torch.ones(self.num))
            self.loc_weight = nn.Parameter(torch.ones(self.num))

    def _level(self, i: int) -> DepthwiseRPN:
        return getattr(self, f"rpn{i + 2}")

    def kernels(self, zs: Sequence[torch.Tensor]) -> list:
        return [self._level(i).kernels(z) for i, z in enumerate(zs)]

    def _fuse(self, maps: list[torch.Tensor], weight: torch.Tensor | None) -> torch.Tensor:
        if weight is None:
            return sum(maps) / len(maps)
        weight = torch.softmax(weight, dim=0)
        total = 0
        for i, m in enumerate(maps):  # summed in level order, as pysot does
            total = total + m * weight[i]
        return total

    def correlate(self, kernels: list, xs: Sequence[torch.Tensor]):
        outs = [self._level(i).correlate(k, x) for i, (k, x) in enumerate(zip(kernels, xs, strict=True))]
        cls = [o[0] for o in outs]
        loc = [o[1] for o in outs]
        if self.weighted:
            return self._fuse(cls, self.cls_weight), self._fuse(loc, self.loc_weight)
        return self._fuse(cls, None), self._fuse(loc, None)

    def forward(self, zs: Sequence[torch.Tensor], xs: Sequence[torch.Tensor]):
        return self.correlate(self.kernels(zs), xs)
