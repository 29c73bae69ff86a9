"""SiamRPN++'s neck: 1x1 convolutions to a common width, and a centre crop of the template.

The crop keeps the central 7x7 of the 15x15 template features: it cuts the border cells whose
receptive fields are mostly padding and makes the head 8x cheaper. pysot decides whether to
crop from the map width (< 20); here the model says which input it is processing
(``crop=True`` for the template), which is the same for the released input sizes and stays
correct for small search crops.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class AdjustLayer(nn.Module):
    """1x1 conv (no bias) + BN, then an optional centre crop of `center_size`."""

    def __init__(self, in_channels: int, out_channels: int, center_size: int = 7) -> None:
        super().__init__()
        self.downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.center_size = center_size

    def forward(self, x: torch.Tensor, crop: bool | None = None) -> torch.Tensor:
        x = self.downsample(x)
        if crop is None:
            crop = x.size(3) < 20  # pysot's rule, for callers that do not say
        if crop:
            left = (x.size(3) - self.center_size) // 2
            x = x[:, :, left : left + self.center_size, left : left + self.center_size]
        return x


class AdjustAllLayer(nn.Module):
    """One AdjustLayer per backbone output.

    A single entry is named ``downsample`` (SiamMask's keys); several are ``downsample2``,
    ``downsample3``, ... after the ResNet layers they usually follow.
    """

    def __init__(
        self, in_channels: Sequence[int], out_channels: Sequence[int], center_size: int = 7
    ) -> None:
        super().__init__()
        self.num = len(out_channels)
        if self.num == 1:
            self.downsample = AdjustLayer(in_channels[0], out_channels[0], center_size)
        else:
            for i, (cin, cout) in enumerate(zip(in_channels, out_channels, strict=True)):
                self.add_module(f"downsample{i + 2}", AdjustLayer(cin, cout, center_size))

    def forward(
        self, features: torch.Tensor | list[torch.Tensor], crop: bool | None = None
    ) -> torch.Tensor | list[torch.Tensor]:
        if self.num == 1:
            return self.downsample(features, crop)
        return [getattr(self, f"downsample{i + 2}")(f, crop) for i, f in enumerate(features)]
