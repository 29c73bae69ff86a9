"""Adapters ``siamfcplus`` and ``siamrpnplus``: SiamDW's SiamFC+ and SiamRPN+ tracking loops.

Both follow researchmm/SiamDW ``lib/tracker/siamfc.py`` and ``siamrpn.py`` step by step
(reference sections 2.4, 3.2, 3.3, 3.4) so that with the released weights the boxes equal
SiamDW's:

- crops start at ``round(c - (side + 1) / 2)`` with Python 3's ``round`` (halves to even) and
  are padded with the image mean cast to uint8;
- SiamFC+ rounds its exemplar crop side with ``round``; SiamRPN+ rounds both crop sides with
  Python 2's rounding (halves away from zero, :func:`siambench.ops.python2round`);
- the output box is SiamDW's ``cxy_wh_2_rect``: ``[max(0, cx - w/2), max(0, cy - h/2), w, h]``.

Where the loops start and how their boxes are written is the spec's box policy
(:mod:`siambench.trackers.box_policy`): SiamDW's OTB scripts subtract 1 from the 1-based
ground truth before taking the centre ``x + w/2`` and add 1 back to every box they write
(``siamdw-otb``); its VOT scripts take the polygons as given (``siamdw-vot``).

SiamFC+ (``siamfcplus``): a 3-scale pyramid cut from one crop (SiamDW ``make_scale_pyramid``),
bicubic 16x upsampling, per-scale peak times ``[scale_penalty, 1, scale_penalty]``, the best
map shifted to 0 and normalised, blended with a normalised Hann window, displacement from
``ceil(U / 2)`` scaled with the *current* search size, damped search and target sizes, centre
clipped to the image and sizes to [10, image side]. Its score is the sigmoid of the raw
upsampled response at the chosen peak.

SiamRPN+ (``siamrpnplus``): pysot's SiamRPN loop (anchors, decoding, size and ratio penalty,
cosine window, size smoothing, clipping), run by the shared
:class:`siambench.trackers.rpn_loop.RPNTracker` under SiamDW's arithmetic
(:data:`siambench.trackers.rpn_loop.SIAMDW`: the roundings above, the search side written as
``s_z + (instance - exemplar) / scale_z``, float32 proposals, the previous size in crop pixels),
with sigmoid scores for the 'thinner' head (softmax for 'thicker') and the adaptive search size
for small targets. Its score is the raw classification probability of the chosen anchor.

SiamFC+ keeps its own loop rather than sharing siamfc-pytorch's (:mod:`siambench.trackers.siamfc`):
see that module's docstring for the differences in the algorithm itself.

Spec ``model`` keys:
- siamfcplus: ``arch`` (SiamFCRes22 [default], SiamFCRes22W, SiamFCIncep22, SiamFCNext22;
  SiamDW class names, any case), ``corr_scale`` (0.1), ``fuse_bn`` (true).
- siamrpnplus: ``arch`` (SiamRPNRes22), ``cls_type`` (thinner [the released file] or
  thicker), ``anchor_num`` (5), ``fuse_bn`` (true).
- both: ``channels_last`` (auto: on; NHWC convolutions, see
  :func:`siambench.trackers.network.use_channels_last`).

Spec ``hyper`` keys (SiamDW ``FCConfig`` / ``RPNConfig`` names; defaults are SiamDW's
built-in ones, overridden first by the ``benchmark`` row, then by explicit keys):
- both: ``benchmark`` (optional: OTB2013, OTB2015, VOT2015, VOT2016, VOT2017, any case;
  aliases otb100 -> OTB2015, vot2018 -> VOT2017 (the same 60 sequences)): take SiamDW's tuned
  values from ``experiments/test/{OTB,VOT}/<arch>.yaml`` (:data:`SIAMDW_TEST_HYPER`).
- siamfcplus: num_scale (3), scale_step (1.0375), scale_penalty (0.9745), scale_lr (0.59),
  response_up (16), windowing (cosine | uniform), w_influence (0.35), instance_size (255),
  total_stride (8), context_amount (0.5); exemplar_size and score_size are derived as SiamDW's
  ``renew()`` does (``instance - 128`` and ``(instance - exemplar) // stride + 1``) and, when
  given, must equal those values.
- siamrpnplus: penalty_k (0.055), window_influence (0.42), lr (0.295), windowing (cosine |
  uniform), exemplar_size (127), instance_size (255), total_stride (8), context_amount (0.5),
  ratios ([0.33, 0.5, 1, 2, 3]), scales ([8]), small_target_instance_size (none; 287 with the
  VOT2017 row) and small_target_area_ratio (0.004): the search size used when the init box
  covers less than that fraction of the frame (SiamDW's VOT2017 271/287 rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.models import create_model
from siambench.models.siamdw import load_siamdw_checkpoint
from siambench.trackers.base import TrackResult
from siambench.trackers.network import (
    NetworkTracker,
    prepare_model,
    random_images,
    seeded,
    use_channels_last,
)
from siambench.trackers.registry import TrackerSpec, register_adapter
from siambench.trackers.rpn_loop import SIAMDW, RPNParams, RPNTracker
from siambench.trackers.siamese import (
    check_windowing,
    context_side,
    corner_box,
    score_window,
    search_side,
)
from siambench.trackers.spec_checks import check_keys, config_from, where

# SiamDW experiments/test/{OTB,VOT}/<arch>.yaml, key TEST.<benchmark> (reference section 2.4).
SIAMDW_TEST_HYPER: dict[str, dict[str, dict[str, Any]]] = {
    "siamfcres22": {
        "OTB2013": {"scale_step": 1.0482, "scale_lr": 0.3629, "scale_penalty": 0.9997, "w_influence": 0.3896},
        "OTB2015": {"scale_step": 1.1897, "scale_lr": 0.2226, "scale_penalty": 0.9370, "w_influence": 0.2897},
        "VOT2015": {"scale_step": 1.1190, "scale_lr": 0.4373, "scale_penalty": 0.9811, "w_influence": 0.2569},
        "VOT2016": {"scale_step": 1.1535, "scale_lr": 0.4596, "scale_penalty": 0.9259, "w_influence": 0.3309},
        "VOT2017": {"scale_step": 1.1466, "scale_lr": 0.2061, "scale_penalty": 0.9994, "w_influence": 0.3242},
    },
    "siamfcincep22": {
        "OTB2013": {"scale_step": 1.1767, "scale_lr": 0.2702, "scale_penalty": 0.9370, "w_influence": 0.2376, "instance_size": 263},
        "OTB2015": {"scale_step": 1.1832, "scale_lr": 0.3035, "scale_penalty": 0.9453, "w_influence": 0.2496, "instance_size": 263},
        "VOT2015": {"scale_step": 1.1755, "scale_lr": 0.3407, "scale_penalty": 0.9807, "w_influence": 0.3254},
        "VOT2016": {"scale_step": 1.1859, "scale_lr": 0.5921, "scale_penalty": 0.9359, "w_influence": 0.2616},
        "VOT2017": {"scale_step": 1.1679, "scale_lr": 0.6782, "scale_penalty": 0.9285, "w_influence": 0.2566},
    },
    "siamfcnext22": {
        "OTB2013": {"scale_step": 1.0921, "scale_lr": 0.4428, "scale_penalty": 0.9617, "w_influence": 0.2913, "instance_size": 263},
        "OTB2015": {"scale_step": 1.1390, "scale_lr": 0.1775, "scale_penalty": 0.9593, "w_influence": 0.2094, "instance_size": 263},
        "VOT2015": {"scale_step": 1.1849, "scale_lr": 0.3373, "scale_penalty": 0.9417, "w_influence": 0.2518, "instance_size": 263},
        "VOT2016": {"scale_step": 1.1561, "scale_lr": 0.1615, "scale_penalty": 0.9593, "w_influence": 0.2548, "instance_size": 263},
        "VOT2017": {"scale_step": 1.1531, "scale_lr": 0.5706, "scale_penalty": 0.9489, "w_influence": 0.2581, "instance_size": 255},
    },
    "siamrpnres22": {
        "OTB2013": {"penalty_k": 0.2560, "lr": 0.4390, "window_influence": 0.0740},
        "OTB2015": {"penalty_k": 0.8410, "lr": 0.7140, "window_influence": 0.3900},
        "VOT2015": {"penalty_k": 0.8950, "lr": 0.6540, "window_influence": 0.3700},
        "VOT2016": {"penalty_k": 0.7110, "lr": 0.7010, "window_influence": 0.3550},
        # the 271/287 search sizes are SiamDW's rule for any dataset named *2017*
        "VOT2017": {"penalty_k": 0.038, "lr": 0.388, "window_influence": 0.347,
                    "instance_size": 271, "small_target_instance_size": 287},
    },
}

BENCHMARK_ALIASES = {"otb100": "OTB2015", "vot2018": "VOT2017"}

FC_ARCHS = ("siamfcres22", "siamfcres22w", "siamfcincep22", "siamfcnext22")
RPN_ARCHS = ("siamrpnres22",)


def benchmark_hyper(arch: str, benchmark: str | None, place: str) -> dict[str, Any]:
    """SiamDW's tuned hyper-parameters of `arch` for `benchmark` ({} when it has none)."""
    if benchmark is None:
        return {}
    key = BENCHMARK_ALIASES.get(str(benchmark).lower(), str(benchmark).upper())
    rows = SIAMDW_TEST_HYPER.get(arch, {})
    if key not in rows:
        known = sorted(rows) + sorted(a for a, b in BENCHMARK_ALIASES.items() if b in rows)
        raise SiambenchError(
            f"{place}: SiamDW has no {benchmark!r} hyper-parameters for {arch}; "
            f"known: {', '.join(known) or 'none'}"
        )
    return dict(rows[key])


def _resolve_arch(spec: TrackerSpec, known: Sequence[str], default: str) -> str:
    arch = str(spec.model.get("arch", default)).lower()
    if arch not in known:
        raise SiambenchError(
            f"{where(spec)}: model arch must be one of {', '.join(known)} (any case), "
            f"got {spec.model.get('arch')!r}"
        )
    return arch


def _merged_hyper(spec: TrackerSpec, arch: str) -> dict[str, Any]:
    hyper = dict(spec.hyper)
    merged = benchmark_hyper(arch, hyper.pop("benchmark", None), where(spec))
    merged.update(hyper)
    return merged


def cxy_wh_to_rect(center: np.ndarray, size: np.ndarray) -> np.ndarray:
    """SiamDW's ``cxy_wh_2_rect``: top-left corner clamped at 0, size unchanged."""
    return corner_box(center[0], center[1], float(size[0]), float(size[1]), clamp_at_zero=True)


# --------------------------------------------------------------------------- SiamFC+


@dataclass(frozen=True)
class FCPlusConfig:
    """SiamDW ``FCConfig``; exemplar and score sizes follow from the instance size."""

    num_scale: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    response_up: int = 16
    windowing: str = "cosine"
    w_influence: float = 0.35
    instance_size: int = 255
    total_stride: int = 8
    context_amount: float = 0.5
    exemplar_size: int | None = None
    score_size: int | None = None

    def __post_init__(self) -> None:
        # SiamDW's renew(): the exemplar is always 128 pixels smaller than the search crop.
        exemplar = self.instance_size - 128
        score = (self.instance_size - exemplar) // self.total_stride + 1
        for name, derived in (("exemplar_size", exemplar), ("score_size", score)):
            given = getattr(self, name)
            if given is not None and given != derived:
                raise SiambenchError(
                    f"{name} {given} contradicts instance_size {self.instance_size}: SiamDW "
                    f"derives {name} = {derived} (exemplar = instance - 128)"
                )
            object.__setattr__(self, name, derived)
        check_windowing(self.windowing)

    @property
    def upscale_size(self) -> int:
        return int(self.score_size) * self.response_up

    def scales(self) -> np.ndarray:
        return self.scale_step ** (np.arange(self.num_scale) - math.ceil(self.num_scale // 2))

    def scale_penalties(self) -> np.ndarray:
        penalties = np.full(self.num_scale, self.scale_penalty)
        penalties[self.num_scale // 2] = 1.0
        return penalties


def scale_pyramid(
    image: np.ndarray | torch.Tensor,
    center_xy: Sequence[float],
    sides: Sequence[float],
    out_size: int,
    avg_chans: np.ndarray,
) -> np.ndarray:
    """SiamDW's ``make_scale_pyramid``: (n, out, out, 3) uint8 crops of the given sides.

    The largest side is cropped once, resized so that the smallest side maps to `out_size`,
    and each scale is cut from that patch around its centre ``(1 + side) / 2`` and resized to
    `out_size` (sides ascending, as the scale factors are).
    """
    rounded = [round(float(s)) for s in sides]
    beta = out_size / rounded[0]
    search_side = round(beta * rounded[-1])
    region = ops.crop_patch(image, center_xy, search_side, rounded[-1], avg_chans, "python")
    middle = (1 + search_side) / 2
    crops = [ops.crop_patch(region, (middle, middle), out_size, round(beta * s), avg_chans, "python")
             for s in rounded]
    return torch.stack(crops) if isinstance(image, torch.Tensor) else np.stack(crops)


def fcplus_peak(
    responses: np.ndarray, penalties: np.ndarray, window: np.ndarray, w_influence: float
) -> tuple[int, int, int]:
    """(scale, row, col) of SiamDW's SiamFC+ peak in (n, U, U) upsampled responses.

    Only the per-scale maxima are penalised; the winning map is shifted to 0, normalised to
    sum 1 and blended with `window` (which sums to 1) before its argmax is taken.
    """
    best = int(np.argmax(responses.max(axis=(1, 2)) * penalties))
    response = responses[best] - responses[best].min()
    response = response / response.sum()
    response = (1 - w_influence) * response + w_influence * window
    row, col = np.unravel_index(int(response.argmax()), response.shape)
    return best, int(row), int(col)


class SiamFCPlusTracker(NetworkTracker):
    """SiamDW's SiamFC+ tracker (``lib/tracker/siamfc.py``) around a SiamFC+ model."""

    def __init__(self, model: nn.Module, config: FCPlusConfig, device: torch.device | str = "cpu",
                 channels_last: bool = False) -> None:
        super().__init__(model, device, channels_last)
        self.config = config
        window = score_window(config.upscale_size, config.windowing)
        self.window = window / window.sum()
        self.scales = config.scales()
        self.penalties = config.scale_penalties()
        self.center = np.zeros(2)
        self.size = np.zeros(2)
        self.avg_chans = np.zeros(3)
        self.s_x = self.min_s_x = self.max_s_x = 0.0
        self.image_hw: tuple[int, int] = (0, 0)

    def init(self, frame: np.ndarray | torch.Tensor, box: np.ndarray) -> None:
        cfg = self.config
        self.center, self.size = self.box_policy.start(box)
        self.image_hw = (int(frame.shape[0]), int(frame.shape[1]))
        self.avg_chans = ops.channel_mean(frame)
        s_z = round(float(context_side(self.size[0], self.size[1], cfg.context_amount)))
        scale_z = cfg.exemplar_size / s_z
        z = ops.get_subwindow(frame, self.center, cfg.exemplar_size, s_z, self.avg_chans, "python")
        self.s_x = search_side("padded", s_z, scale_z, cfg.instance_size, cfg.exemplar_size)
        self.min_s_x, self.max_s_x = 0.2 * self.s_x, 5 * self.s_x
        self.set_template(z)

    def search_inputs(self, frame: np.ndarray | torch.Tensor) -> torch.Tensor:
        crops = scale_pyramid(frame, self.center, self.s_x * self.scales, self.config.instance_size,
                              self.avg_chans)
        return ops.stack_patches(crops)

    def finish(self, outputs: torch.Tensor, frame: np.ndarray | torch.Tensor) -> TrackResult:
        cfg = self.config
        scaled_instance = self.s_x * self.scales
        responses = outputs.float().cpu()[:, 0].numpy()
        upsampled = ops.upsample_responses(responses, cfg.upscale_size)
        best, row, col = fcplus_peak(upsampled, self.penalties, self.window, cfg.w_influence)

        # As the original MATLAB SiamFC: the displacement uses the search size before the
        # scale update, not the winning scale's.
        disp = np.array([col, row]) - math.ceil(cfg.upscale_size / 2)
        disp = disp * cfg.total_stride / cfg.response_up * self.s_x / cfg.instance_size
        center = self.center + disp
        lr = cfg.scale_lr
        self.s_x = max(self.min_s_x, min(self.max_s_x, (1 - lr) * self.s_x + lr * scaled_instance[best]))
        size = (1 - lr) * self.size + lr * (self.size * self.scales[best])
        cx, cy, w, h = ops.clip_box(center[0], center[1], size[0], size[1], self.image_hw)
        self.center = np.array([cx, cy])
        self.size = np.array([w, h])
        peak = float(upsampled[best, row, col])
        box = self.box_policy.written(cxy_wh_to_rect(self.center, self.size))
        return TrackResult(box=box, score=1.0 / (1.0 + math.exp(-peak)))


_FC_MODEL_KEYS = {"arch", "corr_scale", "fuse_bn", "channels_last"}


@register_adapter("siamfcplus")
def build_siamfcplus(
    spec: TrackerSpec, device: torch.device | str, weights: Path | None, random_init: bool
) -> SiamFCPlusTracker:
    """Build the ``siamfcplus`` tracker of `spec` (see the module docstring for its keys)."""
    place = where(spec)
    check_keys(spec.model, _FC_MODEL_KEYS, "model", place)
    arch = _resolve_arch(spec, FC_ARCHS, "siamfcres22")
    config = config_from(FCPlusConfig, _merged_hyper(spec, arch), place)
    corr_scale = float(spec.model.get("corr_scale", 0.1))
    model = seeded(lambda: create_model(arch, corr_scale=corr_scale))
    model = prepare_model(
        model, spec, device, weights, random_init,
        random_images(config.exemplar_size, config.instance_size), load_siamdw_checkpoint,
    )
    tracker = SiamFCPlusTracker(model, config, device, use_channels_last(spec.model.get("channels_last"), device))
    tracker.name = spec.name
    return tracker


# --------------------------------------------------------------------------- SiamRPN+


@dataclass(frozen=True)
class RPNPlusConfig:
    """SiamDW ``RPNConfig`` plus the adaptive search size for small targets."""

    penalty_k: float = 0.055
    window_influence: float = 0.42
    lr: float = 0.295
    windowing: str = "cosine"
    exemplar_size: int = 127
    instance_size: int = 255
    total_stride: int = 8
    context_amount: float = 0.5
    ratios: tuple[float, ...] = (0.33, 0.5, 1, 2, 3)
    scales: tuple[float, ...] = (8,)
    small_target_instance_size: int | None = None
    small_target_area_ratio: float = 0.004

    def __post_init__(self) -> None:
        check_windowing(self.windowing)

    def loop_params(self) -> RPNParams:
        """These values under the shared loop's names (SiamDW's score map has no base size)."""
        return RPNParams.from_config(self, stride=self.total_stride)

    @property
    def anchor_num(self) -> int:
        return self.loop_params().anchor_num


def rpnplus_scores(cls: torch.Tensor, cls_type: str) -> np.ndarray:
    """Foreground probability per anchor, (A*S*S,) anchor-major.

    'thinner' heads give one logit per anchor (sigmoid); 'thicker' ones background and
    foreground logits (softmax, background channels first, as pysot).
    """
    if cls_type == "thinner":
        return torch.sigmoid(cls.float()).reshape(-1).cpu().numpy()
    return ops.rpn_scores(cls)


class SiamRPNPlusTracker(RPNTracker):
    """SiamDW's SiamRPN+ tracker (``lib/tracker/siamrpn.py``) around a SiamRPN+ model."""

    def __init__(
        self,
        model: nn.Module,
        config: RPNPlusConfig,
        device: torch.device | str = "cpu",
        cls_type: str = "thinner",
        channels_last: bool = False,
    ) -> None:
        super().__init__(model, config.loop_params(), SIAMDW, device, channels_last)
        self.config = config
        self.cls_type = cls_type

    def foreground(self, cls: torch.Tensor) -> np.ndarray:
        return rpnplus_scores(cls, self.cls_type)


_RPN_MODEL_KEYS = {"arch", "cls_type", "anchor_num", "fuse_bn", "channels_last"}


def _rpn_model_options(spec: TrackerSpec) -> tuple[str, int]:
    cls_type = spec.model.get("cls_type", "thinner")
    if cls_type not in ("thinner", "thicker"):
        raise SiambenchError(f"{where(spec)}: cls_type must be 'thinner' or 'thicker', got {cls_type!r}")
    anchor_num = int(spec.model.get("anchor_num", 5))
    return cls_type, anchor_num


@register_adapter("siamrpnplus")
def build_siamrpnplus(
    spec: TrackerSpec, device: torch.device | str, weights: Path | None, random_init: bool
) -> SiamRPNPlusTracker:
    """Build the ``siamrpnplus`` tracker of `spec` (see the module docstring for its keys)."""
    place = where(spec)
    check_keys(spec.model, _RPN_MODEL_KEYS, "model", place)
    arch = _resolve_arch(spec, RPN_ARCHS, "siamrpnres22")
    cls_type, anchor_num = _rpn_model_options(spec)
    config = config_from(RPNPlusConfig, _merged_hyper(spec, arch), place)
    if config.anchor_num != anchor_num:
        raise SiambenchError(
            f"{place}: {len(config.ratios)} ratios x {len(config.scales)} scales give "
            f"{config.anchor_num} anchors but the model has anchor_num {anchor_num}"
        )
    model = seeded(lambda: create_model(arch, anchor_num=anchor_num, cls_type=cls_type))
    model = prepare_model(
        model, spec, device, weights, random_init,
        random_images(config.exemplar_size, config.instance_size), load_siamdw_checkpoint,
    )
    tracker = SiamRPNPlusTracker(model, config, device, cls_type,
                                 use_channels_last(spec.model.get("channels_last"), device))
    tracker.name = spec.name
    return tracker

