"""SiamDW's SiamFC+ and SiamRPN+ models (researchmm/SiamDW ``lib/models/``).

Both put a CIR backbone (:mod:`siambench.models.backbones.ciresnet`) in ``features`` and a
correlation head in ``connect_model``, so state-dict keys equal SiamDW's own, e.g.
``features.features.layer2.2.conv1.weight`` and ``connect_model.template_cls.weight``.

- SiamFC+ (``siamfcres22``, ``siamfcres22w``, ``siamfcincep22``, ``siamfcnext22``): the head
  has no parameters; the response is ``0.1 * xcorr(search, template)``, one channel.
- SiamRPN+ (``siamrpnres22``): SiamDW's ``RPN_Up`` up-channel head on CIResNet-22 (512
  channels). ``cls_type="thinner"`` (the released ``CIResNet22_RPN.pth``) has A sigmoid
  classification channels and 256 hidden channels; ``"thicker"`` has 2A softmax channels
  (background first) and 512 hidden channels.

Inference API, as in SiamDW: ``template(z)`` remembers the exemplar, ``track(x)`` scores one
or more search crops against it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from siambench.models import register_model
from siambench.models.backbones.ciresnet import (
    CIRBackbone,
    ciresnet22,
    ciresnet22w,
    cirincep22,
    cirnext22,
)
from siambench.models.checkpoints import load_state, read_checkpoint
from siambench.ops import xcorr_fast

#: SiamDW's fixed scale on the SiamFC+ correlation response.
CORR_SCALE = 0.1

#: Key prefixes that released SiamDW files carry but no SiamDW model uses (the SiamFC+ file
#: ``CIResNet22.pth`` holds a leftover ``connect_model.loc_adjust``; SiamDW issue #24).
UNUSED_KEY_PREFIXES = ("connect_model.loc_adjust.",)


class CorrUp(nn.Module):
    """SiamDW ``Corr_Up``: parameter-free cross-correlation scaled by `scale` (0.1)."""

    def __init__(self, scale: float = CORR_SCALE) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> torch.Tensor:
        # One template against several search crops (the scale pyramid) is what SiamDW's
        # eval branch computes with a plain conv; expanding the template gives the same sums.
        if z_f.size(0) == 1 and x_f.size(0) > 1:
            z_f = z_f.expand(x_f.size(0), -1, -1, -1)
        return self.scale * xcorr_fast(x_f, z_f)


class RPNUp(nn.Module):
    """SiamDW ``RPN_Up``: up-channel RPN head (same semantics as pysot's ``UPChannelRPN``)."""

    def __init__(
        self,
        anchor_num: int = 5,
        in_channels: int = 512,
        hidden: int = 256,
        cls_type: str = "thinner",
    ) -> None:
        super().__init__()
        if cls_type not in ("thinner", "thicker"):
            raise ValueError(f"cls_type must be 'thinner' or 'thicker', got {cls_type!r}")
        cls_channels = anchor_num if cls_type == "thinner" else 2 * anchor_num
        reg_channels = 4 * anchor_num
        self.template_cls = nn.Conv2d(in_channels, hidden * cls_channels, kernel_size=3)
        self.template_reg = nn.Conv2d(in_channels, hidden * reg_channels, kernel_size=3)
        self.search_cls = nn.Conv2d(in_channels, hidden, kernel_size=3)
        self.search_reg = nn.Conv2d(in_channels, hidden, kernel_size=3)
        self.adjust = nn.Conv2d(reg_channels, reg_channels, kernel_size=1)

    def kernels(self, z_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classification and regression kernels from template features."""
        return self.template_cls(z_f), self.template_reg(z_f)

    def correlate(
        self, kernels: tuple[torch.Tensor, torch.Tensor], x_f: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(cls, loc) maps of search features against precomputed kernels."""
        cls_kernel, reg_kernel = kernels
        cls = xcorr_fast(self.search_cls(x_f), cls_kernel)
        loc = self.adjust(xcorr_fast(self.search_reg(x_f), reg_kernel))
        return cls, loc

    def forward(
        self, z_f: torch.Tensor, x_f: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.correlate(self.kernels(z_f), x_f)


class SiamFCPlus(nn.Module):
    """SiamFC+ : a CIR backbone and the 0.1-scaled correlation head."""

    def __init__(self, backbone: CIRBackbone, corr_scale: float = CORR_SCALE) -> None:
        super().__init__()
        self.features = backbone
        self.connect_model = CorrUp(corr_scale)
        self.zf: torch.Tensor | None = None

    def make_template(self, z: torch.Tensor) -> torch.Tensor:
        """The exemplar's features (1, C, 5, 5 for a 127 crop), without keeping them."""
        return self.features(z)

    def track_with(self, zf: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Responses of search crops against `zf` (one exemplar for all, or one per crop)."""
        return self.connect_model(zf, self.features(x))

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """Remember the exemplar's features (1, C, 5, 5 for a 127 crop) and return them."""
        self.zf = self.make_template(z)
        return self.zf

    def track(self, x: torch.Tensor) -> torch.Tensor:
        """Responses (N, 1, 17, 17) of N search crops (255) against the remembered exemplar."""
        if self.zf is None:
            raise RuntimeError("template() must be called before track()")
        return self.track_with(self.zf, x)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.connect_model(self.features(z), self.features(x))


class SiamRPNPlus(nn.Module):
    """SiamRPN+ : CIResNet-22 and SiamDW's up-channel RPN head."""

    def __init__(self, anchor_num: int = 5, cls_type: str = "thinner") -> None:
        super().__init__()
        self.anchor_num = anchor_num
        self.cls_type = cls_type
        self.features = ciresnet22()
        hidden = 256 if cls_type == "thinner" else 512
        self.connect_model = RPNUp(anchor_num, self.features.out_channels, hidden, cls_type)
        self.kernels: tuple[torch.Tensor, torch.Tensor] | None = None

    def make_template(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exemplar's correlation kernels, without keeping them."""
        return self.connect_model.kernels(self.features(z))

    def track_with(
        self, kernels: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(cls, loc) of search crops against `kernels`, one kernel set per crop."""
        return self.connect_model.correlate(kernels, self.features(x))

    def template(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the exemplar's correlation kernels once; every later frame reuses them."""
        self.kernels = self.make_template(z)
        return self.kernels

    def track(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cls, loc) maps, (1, A or 2A, 17, 17) and (1, 4A, 17, 17) for a 255 search crop."""
        if self.kernels is None:
            raise RuntimeError("template() must be called before track()")
        return self.track_with(self.kernels, x)

    def forward(
        self, z: torch.Tensor, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.connect_model(self.features(z), self.features(x))


@register_model(name="siamfcres22")
def siamfcres22(corr_scale: float = CORR_SCALE) -> SiamFCPlus:
    """SiamFC+ with CIResNet-22 (SiamDW ``SiamFCRes22``, checkpoint ``CIResNet22.pth``)."""
    return SiamFCPlus(ciresnet22(), corr_scale)


@register_model(name="siamfcres22w")
def siamfcres22w(corr_scale: float = CORR_SCALE) -> SiamFCPlus:
    """SiamFC+ with CIResNet-22W (SiamDW ``SiamFCRes22W``)."""
    return SiamFCPlus(ciresnet22w(), corr_scale)


@register_model(name="siamfcincep22")
def siamfcincep22(corr_scale: float = CORR_SCALE) -> SiamFCPlus:
    """SiamFC+ with CIResInception-22 (SiamDW ``SiamFCIncep22``)."""
    return SiamFCPlus(cirincep22(), corr_scale)


@register_model(name="siamfcnext22")
def siamfcnext22(corr_scale: float = CORR_SCALE) -> SiamFCPlus:
    """SiamFC+ with CIResNeXt-22 (SiamDW ``SiamFCNext22``)."""
    return SiamFCPlus(cirnext22(), corr_scale)


@register_model(name="siamrpnres22")
def siamrpnres22(anchor_num: int = 5, cls_type: str = "thinner") -> SiamRPNPlus:
    """SiamRPN+ with CIResNet-22 (SiamDW ``SiamRPNRes22``; released weights are 'thinner')."""
    return SiamRPNPlus(anchor_num, cls_type)


def load_siamdw_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a released SiamDW file into `model` strictly, as the file is.

    Wrappers (``{"state_dict": ...}``, ``module.`` prefixes) and the missing BatchNorm counters
    of files saved with PyTorch 0.3 are handled by :mod:`siambench.models.checkpoints`; the
    keys SiamDW itself ignores (:data:`UNUSED_KEY_PREFIXES`) are dropped here. Everything else
    must match key for key and shape for shape.
    """
    state = read_checkpoint(path)
    state = {k: v for k, v in state.items() if not k.startswith(UNUSED_KEY_PREFIXES)}
    return load_state(model, state, path)
