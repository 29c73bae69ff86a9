"""The original SiamFC with its AlexNet-style backbone, as in huanglianghua/siamfc-pytorch.

pysot ships no SiamFC, so the reference is siamfc-pytorch (``siamfc/backbones.py``
``AlexNetV1``, ``heads.py``): five conv stages (conv2, conv4 and conv5 in two groups), BN with
eps 1e-6 and momentum 0.05 after the first four, no BN or ReLU after conv5, and a
parameter-free head scaling the cross-correlation by 0.001. Keys equal siamfc-pytorch's
(``backbone.conv1.0.weight`` ... ``backbone.conv5.0.bias``; 2,336,320 parameters), so its
released ``siamfc_alexnet_e50.pth`` loads unchanged. A 127 exemplar gives 6x6x256 features, a
255 search crop 22x22x256 and the response 17x17.

siamfc-pytorch was trained on RGB input, while siambench frames are BGR as OpenCV reads them:
the tracker adapter converts (its ``rgb`` hyper-parameter), not the model.
"""

from __future__ import annotations

import torch
from torch import nn

from siambench.models import register_model
from siambench.ops import xcorr_fast

#: siamfc-pytorch's fixed scale on the correlation response.
OUT_SCALE = 0.001


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-6, momentum=0.05)


class AlexNetV1(nn.Module):
    """siamfc-pytorch's ``AlexNetV1`` backbone (total stride 8, 256 output channels)."""

    out_channels = 256

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 96, 11, 2), _bn(96), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2)
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(96, 256, 5, 1, groups=2), _bn(256), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2)
        )
        self.conv3 = nn.Sequential(nn.Conv2d(256, 384, 3, 1), _bn(384), nn.ReLU(inplace=True))
        self.conv4 = nn.Sequential(
            nn.Conv2d(384, 384, 3, 1, groups=2), _bn(384), nn.ReLU(inplace=True)
        )
        self.conv5 = nn.Sequential(nn.Conv2d(384, 256, 3, 1, groups=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))


class SiamFCHead(nn.Module):
    """Cross-correlation of search features with template features, times `out_scale`."""

    def __init__(self, out_scale: float = OUT_SCALE) -> None:
        super().__init__()
        self.out_scale = out_scale

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
        # siamfc-pytorch correlates every search crop of the scale pyramid with one template.
        if z_f.size(0) == 1 and x_f.size(0) > 1:
            z_f = z_f.expand(x_f.size(0), -1, -1, -1)
        return self.out_scale * xcorr_fast(x_f, z_f)


class SiamFC(nn.Module):
    """SiamFC: shared AlexNetV1 embedding and the scaled correlation head."""

    def __init__(self, out_scale: float = OUT_SCALE) -> None:
        super().__init__()
        self.backbone = AlexNetV1()
        self.head = SiamFCHead(out_scale)
        self.zf: torch.Tensor | None = None
        _init_weights(self)

    def make_template(self, z: torch.Tensor) -> torch.Tensor:
        """The exemplar's features (1, 256, 6, 6 for a 127 crop), without keeping them."""
        return self.backbone(z)

    def track_with(self, zf: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Responses (N, 1, 17, 17) of N search crops against `zf`: one exemplar for all, or
        one per crop (the batched engine stacks each crop's exemplar along the batch)."""
        return self.head(zf, self.backbone(x))

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """Remember the exemplar's features (1, 256, 6, 6 for a 127 crop) and return them."""
        self.zf = self.make_template(z)
        return self.zf

    def track(self, x: torch.Tensor) -> torch.Tensor:
        """Responses (N, 1, 17, 17) of N search crops (255) against the remembered exemplar."""
        if self.zf is None:
            raise RuntimeError("template() must be called before track()")
        return self.track_with(self.zf, x)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(z), self.backbone(x))


def _init_weights(model: nn.Module) -> None:
    # siamfc-pytorch's ops.init_weights: Xavier-uniform convs with zero bias, identity BN.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


@register_model(name="siamfc_alexnet")
def siamfc_alexnet(out_scale: float = OUT_SCALE) -> SiamFC:
    """SiamFC with siamfc-pytorch's AlexNetV1 (checkpoint ``siamfc_alexnet_e50.pth``)."""
    return SiamFC(out_scale)
