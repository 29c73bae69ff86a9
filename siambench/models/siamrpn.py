"""The pysot model family: SiamRPN (DaSiamRPN), SiamRPN++ with AlexNet, ResNet-50, MobileNetV2.

A model is ``backbone`` -> optional ``neck`` -> ``rpn_head``, with exactly pysot's attribute
names, so its ``state_dict()`` keys equal those of the released checkpoints.

Architectures are described like pysot's experiment configs, lower-cased::

    {"backbone": {"type": "resnet50", "kwargs": {"used_layers": [2, 3, 4]}},
     "neck": {"type": "AdjustAllLayer", "kwargs": {"in_channels": [...], "out_channels": [...]}},
     "rpn": {"type": "MultiRPN", "kwargs": {"anchor_num": 5, "in_channels": [...], "weighted": True}}}

:func:`build_siamrpn` turns such a description into a model; :data:`PYSOT_ARCHS` holds the
released ones, each registered as a named model (see :mod:`siambench.models`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from siambench.errors import SiambenchError
from siambench.models import register_model
from siambench.models.backbones.alexnet import AlexNet, AlexNetLegacy
from siambench.models.backbones.mobilenet_v2 import MobileNetV2
from siambench.models.backbones.resnet_atrous import resnet50
from siambench.models.necks import AdjustAllLayer, AdjustLayer
from siambench.models.rpn_heads import DepthwiseRPN, MultiRPN, UpChannelRPN

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "alexnetlegacy": AlexNetLegacy,
    "alexnet": AlexNet,
    "resnet50": resnet50,
    "mobilenetv2": MobileNetV2,
}
NECKS: dict[str, Callable[..., nn.Module]] = {
    "AdjustLayer": AdjustLayer,
    "AdjustAllLayer": AdjustAllLayer,
}
RPN_HEADS: dict[str, Callable[..., nn.Module]] = {
    "UPChannelRPN": UpChannelRPN,
    "DepthwiseRPN": DepthwiseRPN,
    "MultiRPN": MultiRPN,
}


class SiamRPN(nn.Module):
    """Siamese region-proposal network with pysot's inference API.

    ``template(z)`` runs the template branch once and keeps the correlation kernels;
    ``track(x)`` returns ``(cls, loc)`` for a search crop against the stored template.
    ``forward(z, x)`` does both without keeping state.
    """

    def __init__(self, backbone: nn.Module, neck: nn.Module | None, rpn_head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.rpn_head = rpn_head
        self._kernels: Any = None

    def features(self, image: torch.Tensor, is_template: bool):
        feats = self.backbone(image)
        if self.neck is not None:
            feats = self.neck(feats, crop=is_template)
        return feats

    def make_template(self, z: torch.Tensor) -> Any:
        """The head's correlation kernels for exemplar `z` (tensors with z's batch size).

        The head's template convolutions depend on the first frame only: they run once here
        rather than on every frame as pysot does (same numbers, less work per frame).
        """
        return self.rpn_head.kernels(self.features(z, is_template=True))

    def track_with(self, kernels: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cls, loc) of search crops `x` against `kernels`, one kernel set per crop (the
        correlations are grouped convolutions, so each batch element has its own template)."""
        return self.rpn_head.correlate(kernels, self.features(x, is_template=False))

    def template(self, z: torch.Tensor) -> None:
        self._kernels = self.make_template(z)

    def track(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._kernels is None:
            raise RuntimeError("call template(z) before track(x)")
        return self.track_with(self._kernels, x)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kernels = self.rpn_head.kernels(self.features(z, is_template=True))
        return self.rpn_head.correlate(kernels, self.features(x, is_template=False))

    def parts(self) -> dict[str, nn.Module]:
        """The named parts whose parameters `siambench models` counts separately."""
        parts = {"backbone": self.backbone, "neck": self.neck, "head": self.rpn_head}
        return {name: module for name, module in parts.items() if module is not None}


def _make(table: dict[str, Callable[..., nn.Module]], part: str, entry: dict) -> nn.Module:
    if not isinstance(entry, dict) or "type" not in entry:
        raise SiambenchError(f"model {part} must be a mapping with 'type' and 'kwargs', got {entry!r}")
    kind = entry["type"]
    if kind not in table:
        raise SiambenchError(f"unknown {part} type {kind!r}; known: {', '.join(sorted(table))}")
    kwargs = dict(entry.get("kwargs") or {})
    try:
        return table[kind](**kwargs)
    except TypeError as exc:
        raise SiambenchError(f"bad kwargs for {part} {kind}: {exc}") from exc


def build_siamrpn(backbone: dict, rpn: dict, neck: dict | None = None) -> SiamRPN:
    """Build a model from a pysot-style description (see the module docstring)."""
    return SiamRPN(
        _make(BACKBONES, "backbone", backbone),
        None if neck is None else _make(NECKS, "neck", neck),
        _make(RPN_HEADS, "rpn", rpn),
    )


_RATIOS_256 = [256, 256, 256]

# The released pysot models (experiments/<name>/config.yaml) and DaSiamRPN's networks.
PYSOT_ARCHS: dict[str, dict] = {
    "siamrpn_alex_upxcorr": {  # DaSiamRPN SiamRPNvot / SiamRPNotb
        "backbone": {"type": "alexnetlegacy", "kwargs": {"width_mult": 1.0}},
        "neck": None,
        "rpn": {"type": "UPChannelRPN", "kwargs": {"anchor_num": 5, "feature_in": 256}},
    },
    "siamrpn_alex_upxcorr_big": {  # DaSiamRPN SiamRPNBIG
        "backbone": {"type": "alexnetlegacy", "kwargs": {"width_mult": 2.0}},
        "neck": None,
        "rpn": {"type": "UPChannelRPN", "kwargs": {"anchor_num": 5, "feature_in": 512}},
    },
    "siamrpn_alex_dwxcorr": {
        "backbone": {"type": "alexnetlegacy", "kwargs": {"width_mult": 1.0}},
        "neck": None,
        "rpn": {"type": "DepthwiseRPN", "kwargs": {"anchor_num": 5, "in_channels": 256, "out_channels": 256}},
    },
    "siamrpn_alex_dwxcorr_16gpu": {
        "backbone": {"type": "alexnet", "kwargs": {"width_mult": 1.0}},
        "neck": None,
        "rpn": {"type": "DepthwiseRPN", "kwargs": {"anchor_num": 5, "in_channels": 256, "out_channels": 256}},
    },
    "siamrpn_r50_l234_dwxcorr": {
        "backbone": {"type": "resnet50", "kwargs": {"used_layers": [2, 3, 4]}},
        "neck": {"type": "AdjustAllLayer", "kwargs": {"in_channels": [512, 1024, 2048], "out_channels": _RATIOS_256}},
        "rpn": {"type": "MultiRPN", "kwargs": {"anchor_num": 5, "in_channels": _RATIOS_256, "weighted": True}},
    },
    "siamrpn_r50_l234_dwxcorr_otb": {
        "backbone": {"type": "resnet50", "kwargs": {"used_layers": [2, 3, 4]}},
        "neck": {"type": "AdjustAllLayer", "kwargs": {"in_channels": [512, 1024, 2048], "out_channels": _RATIOS_256}},
        "rpn": {"type": "MultiRPN", "kwargs": {"anchor_num": 5, "in_channels": _RATIOS_256, "weighted": False}},
    },
    "siamrpn_r50_l234_dwxcorr_lt": {
        "backbone": {"type": "resnet50", "kwargs": {"used_layers": [2, 3, 4]}},
        "neck": {"type": "AdjustAllLayer", "kwargs": {"in_channels": [512, 1024, 2048], "out_channels": [128, 256, 512]}},
        "rpn": {"type": "MultiRPN", "kwargs": {"anchor_num": 5, "in_channels": [128, 256, 512], "weighted": True}},
    },
    "siamrpn_mobilev2_l234_dwxcorr": {
        "backbone": {"type": "mobilenetv2", "kwargs": {"used_layers": [3, 5, 7], "width_mult": 1.4}},
        "neck": {"type": "AdjustAllLayer", "kwargs": {"in_channels": [44, 134, 448], "out_channels": _RATIOS_256}},
        "rpn": {"type": "MultiRPN", "kwargs": {"anchor_num": 5, "in_channels": _RATIOS_256, "weighted": False}},
    },
}


def _build_named(arch: str) -> SiamRPN:
    return build_siamrpn(**copy.deepcopy(PYSOT_ARCHS[arch]))


for _arch in PYSOT_ARCHS:
    register_model(functools.partial(_build_named, _arch), name=_arch)
