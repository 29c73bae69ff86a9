"""Adapter ``siamrpn``: SiamRPN (DaSiamRPN) and SiamRPN++ with pysot's tracking loop.

The loop is pysot's ``SiamRPNTracker`` step by step (reference section 3.1), so that with the
same weights the boxes equal pysot's: crops with ``floor(x + 0.5)`` corners and uint8 mean
padding, foreground softmax, anchor decoding, scale and aspect-ratio penalty, cosine window,
size smoothing with ``lr = penalty * score * LR``, clipping of centre and size. The loop itself
is :class:`siambench.trackers.rpn_loop.RPNTracker` under pysot's policy
(:data:`siambench.trackers.rpn_loop.PYSOT`); SiamDW's SiamRPN+ runs the same loop.

Spec ``model`` keys (one of two forms):
- ``backbone: {type, kwargs}``, ``neck: {type, kwargs} | null``, ``rpn: {type, kwargs}``:
  pysot's experiment config, lower-cased (types: alexnetlegacy, alexnet, resnet50,
  mobilenetv2; AdjustLayer, AdjustAllLayer; UPChannelRPN, DepthwiseRPN, MultiRPN);
- ``arch: <name>``: a model registered in :mod:`siambench.models` (``siambench models``).
Optional: ``checkpoint_layout: pysot | dasiamrpn`` (DaSiamRPN key names are also recognised
without it), ``fuse_bn: true`` (fold BatchNorm into convolutions after loading),
``channels_last: auto | true | false`` (auto: on; NHWC convolutions are faster on CPU and CUDA).

Spec ``hyper`` keys (pysot cfg.TRACK / cfg.ANCHOR, lower-cased): penalty_k, window_influence,
lr (required); exemplar_size (127), instance_size (255), base_size (8), context_amount (0.5),
anchor_stride (8), anchor_ratios ([0.33, 0.5, 1, 2, 3]), anchor_scales ([8]); DaSiamRPN's
adaptive search size: small_target_instance_size (none), small_target_area_ratio (0.004);
crop_rounding (half_up: pysot; python: round() as DaSiamRPN/SiamDW).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from siambench.errors import SiambenchError
from siambench.models import create_model
from siambench.models.checkpoints import load_checkpoint
from siambench.models.fuse import calibration_images
from siambench.models.siamrpn import build_siamrpn
from siambench.trackers.network import RANDOM_INIT_SEED, prepare_model, seeded, use_channels_last
from siambench.trackers.registry import TrackerSpec, register_adapter
from siambench.trackers.rpn_loop import PYSOT, RPNParams, RPNTracker
from siambench.trackers.spec_checks import check_keys, where


@dataclass(frozen=True)
class SiamRPNConfig:
    """Inference hyper-parameters; defaults are pysot's cfg.TRACK / cfg.ANCHOR."""

    penalty_k: float
    window_influence: float
    lr: float
    exemplar_size: int = 127
    instance_size: int = 255
    base_size: int = 8
    context_amount: float = 0.5
    anchor_stride: int = 8
    anchor_ratios: tuple[float, ...] = (0.33, 0.5, 1, 2, 3)
    anchor_scales: tuple[float, ...] = (8,)
    small_target_instance_size: int | None = None
    small_target_area_ratio: float = 0.004
    crop_rounding: str = "half_up"

    @classmethod
    def from_hyper(cls, hyper: dict[str, Any], where: str = "hyper") -> SiamRPNConfig:
        names = {f.name for f in fields(cls)}
        check_keys(hyper, names, "hyper", where, noun="hyper-parameter(s)")
        missing = [k for k in ("penalty_k", "window_influence", "lr") if k not in hyper]
        if missing:
            raise SiambenchError(f"{where}: missing hyper-parameter(s) {', '.join(missing)}")
        values = dict(hyper)
        for key in ("anchor_ratios", "anchor_scales"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("crop_rounding", "half_up") not in ("half_up", "python"):
            raise SiambenchError(f"{where}: crop_rounding must be 'half_up' or 'python'")
        return cls(**values)

    def loop_params(self) -> RPNParams:
        """These values under the shared loop's names."""
        return RPNParams.from_config(
            self, stride=self.anchor_stride, ratios=self.anchor_ratios, scales=self.anchor_scales
        )

    @property
    def anchor_num(self) -> int:
        return self.loop_params().anchor_num

    def instance_size_for(self, box_area: float, image_area: float) -> int:
        """DaSiamRPN's adaptive search: a larger crop for targets under the area ratio."""
        return self.loop_params().instance_size_for(box_area, image_area)


class SiamRPNTracker(RPNTracker):
    """pysot's SiamRPNTracker around any model with ``template(z)`` and ``track(x) -> (cls, loc)``."""

    def __init__(
        self,
        model: torch.nn.Module,
        config: SiamRPNConfig,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        grad_free: bool = True,
    ) -> None:
        # crop_rounding is a pysot hyper-parameter: DaSiamRPN's specs ask for round()
        policy = dataclasses.replace(PYSOT, crop_rounding=config.crop_rounding)
        super().__init__(model, config.loop_params(), policy, device, channels_last)
        self.config = config
        self.grad_free = grad_free

    @property
    def grad_free(self) -> bool:
        """False runs the network with autograd recording, as pysot does (the unoptimised
        run of :mod:`siambench.bench_trackers`); the results are the same."""
        return self._grad_free

    @grad_free.setter
    def grad_free(self, value: bool) -> None:
        self._grad_free = value


# --------------------------------------------------------------------------- adapter

_MODEL_KEYS = {"arch", "backbone", "neck", "rpn", "checkpoint_layout", "fuse_bn", "channels_last"}


def build_model(spec: TrackerSpec) -> torch.nn.Module:
    """The network a spec describes, with random weights."""
    model = spec.model
    place = where(spec)
    check_keys(model, _MODEL_KEYS, "model", place)
    layout = model.get("checkpoint_layout", "pysot")
    if layout not in ("pysot", "dasiamrpn"):
        raise SiambenchError(f"{place}: checkpoint_layout must be 'pysot' or 'dasiamrpn', got {layout!r}")
    if "arch" in model:
        return create_model(str(model["arch"]))
    if "backbone" not in model or "rpn" not in model:
        raise SiambenchError(f"{place}: model needs 'arch', or 'backbone' and 'rpn' (and 'neck')")
    try:
        return build_siamrpn(model["backbone"], model["rpn"], model.get("neck"))
    except SiambenchError as exc:
        raise SiambenchError(f"{place}: {exc}") from exc


@register_adapter("siamrpn")
def build(
    spec: TrackerSpec,
    device: torch.device | str,
    weights: Path | None,
    random_init: bool,
) -> SiamRPNTracker:
    """Build the tracker of `spec`: model, weights (unless `random_init`), device, fusion."""
    config = SiamRPNConfig.from_hyper(spec.hyper, where(spec))
    device = torch.device(device)
    model = seeded(lambda: build_model(spec))
    model = prepare_model(
        model, spec, device, weights, random_init,
        lambda: (
            calibration_images(config.exemplar_size, RANDOM_INIT_SEED),
            calibration_images(config.instance_size, RANDOM_INIT_SEED + 1),
        ),
        lambda m, path: load_checkpoint(m, path, f"tracker {spec.name!r}"),
    )
    channels_last = use_channels_last(spec.model.get("channels_last"), device)
    tracker = SiamRPNTracker(model, config, device, channels_last)
    tracker.name = spec.name
    return tracker
