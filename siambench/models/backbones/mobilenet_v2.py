"""pysot's MobileNetV2 for SiamRPN++: stride 8 with dilated later stages.

Differences from the canonical MobileNetV2, all visible in the released checkpoint:
- the first convolution (``layer0``) has padding 0;
- every inverted residual keeps its 1x1 expansion convolution, even with expansion 1;
- the stages after the third have stride 1 and dilations 2, 2, 4, 4 instead of striding; the
  first block of a stage whose dilation grows uses half the new dilation;
- the 3x3 depthwise convolution has ``padding = 2 - stride`` (or the dilation).

With ``width_mult=1.4`` and ``used_layers=[3, 5, 7]`` the outputs have 44, 134 and 448 channels,
15x15 for a 127 template and 31x31 for a 255 search crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# expansion t, channels c, blocks n, stride s, dilation d of layer1..layer7
STAGES = (
    (1, 16, 1, 1, 1),
    (6, 24, 2, 2, 1),
    (6, 32, 3, 2, 1),
    (6, 64, 4, 1, 2),
    (6, 96, 3, 1, 2),
    (6, 160, 3, 1, 4),
    (6, 320, 1, 1, 4),
)


class InvertedResidual(nn.Module):
    """1x1 expand, 3x3 depthwise, 1x1 project; residual when shape is kept."""

    def __init__(self, inp: int, oup: int, stride: int, expand: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = inp * expand
        padding = dilation if dilation > 1 else 2 - stride
        self.use_residual = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(
                hidden, hidden, 3, stride, padding, dilation=dilation, groups=hidden, bias=False
            ),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """``layer0`` (stem) and ``layer1`` .. ``layer7``; returns the layers in `used_layers`."""

    def __init__(self, width_mult: float = 1.0, used_layers: Sequence[int] = (3, 5, 7)) -> None:
        super().__init__()
        self.used_layers = list(used_layers)
        channels = int(32 * width_mult)
        self.layer0 = nn.Sequential(
            nn.Conv2d(3, channels, 3, 2, 0, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU6(inplace=True),
        )
        stage_channels = [channels]
        last_dilation = 1
        for index, (expand, base, count, stride, dilation) in enumerate(STAGES, start=1):
            out = int(base * width_mult)
            first_dilation = dilation if dilation == last_dilation else max(dilation // 2, 1)
            blocks = [InvertedResidual(channels, out, stride, expand, first_dilation)]
            blocks += [InvertedResidual(out, out, 1, expand, dilation) for _ in range(1, count)]
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
            channels = out
            last_dilation = dilation
            stage_channels.append(out)
        self.out_channels = [stage_channels[i] for i in self.used_layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        outputs = []
        for index in range(len(STAGES) + 1):
            x = getattr(self, f"layer{index}")(x)
            outputs.append(x)
        out = [outputs[i] for i in self.used_layers]
        return out[0] if len(out) == 1 else out
