"""The BN AlexNet of SiamRPN (DaSiamRPN) and pysot's SiamRPN-AlexNet models.

Five convolutions without padding, each followed by BatchNorm; max-pooling after the first two,
ReLU after all but the last. Total stride 8: a 127 template gives 6x6 features, a 255 search
crop 22x22 and a 287 crop 26x26. Every convolution has a bias.

Two key layouts exist for the same network:
- :class:`AlexNetLegacy`, one ``nn.Sequential`` named ``features`` (indices 0,1,4,5,8,9,11,12,
  14,15 hold weights), used by the released ``siamrpn_alex_dwxcorr`` and, under the name
  ``featureExtract``, by DaSiamRPN;
- :class:`AlexNet`, grouped into ``layer1`` .. ``layer5``, used by pysot's training config
  ``siamrpn_alex_dwxcorr_16gpu``.
"""

from __future__ import annotations

import torch
from torch import nn

BASE_CHANNELS = (96, 256, 384, 384, 256)


def alexnet_channels(width_mult: float = 1.0) -> list[int]:
    """Output channels of the five convolutions; the input's 3 channels are never scaled."""
    return [int(c * width_mult) for c in BASE_CHANNELS]


def _stages(width_mult: float) -> list[list[nn.Module]]:
    c1, c2, c3, c4, c5 = alexnet_channels(width_mult)
    return [
        [nn.Conv2d(3, c1, 11, stride=2), nn.BatchNorm2d(c1), nn.MaxPool2d(3, 2), nn.ReLU(True)],
        [nn.Conv2d(c1, c2, 5), nn.BatchNorm2d(c2), nn.MaxPool2d(3, 2), nn.ReLU(True)],
        [nn.Conv2d(c2, c3, 3), nn.BatchNorm2d(c3), nn.ReLU(True)],
        [nn.Conv2d(c3, c4, 3), nn.BatchNorm2d(c4), nn.ReLU(True)],
        # no ReLU after the last BN: the correlation sees signed features
        [nn.Conv2d(c4, c5, 3), nn.BatchNorm2d(c5)],
    ]


class AlexNetLegacy(nn.Module):
    """AlexNet as one flat ``features`` Sequential."""

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        self.features = nn.Sequential(*[m for stage in _stages(width_mult) for m in stage])
        self.out_channels = alexnet_channels(width_mult)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class AlexNet(nn.Module):
    """AlexNet with each convolution stage in its own ``layerK`` Sequential."""

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        for index, stage in enumerate(_stages(width_mult), start=1):
            self.add_module(f"layer{index}", nn.Sequential(*stage))
        self.out_channels = alexnet_channels(width_mult)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(1, 6):
            x = getattr(self, f"layer{index}")(x)
        return x
