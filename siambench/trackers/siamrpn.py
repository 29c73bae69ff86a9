"""Adapter ``siamrpn``: SiamRPN (DaSiamRPN) and SiamRPN++ with pysot's tracking loop.

The loop is pysot's ``SiamRPNTracker`` step by step (reference section 3.1), so that with the
same weights the boxes equal pysot's: crops with ``floor(x + 0.5)`` corners and uint8 mean
padding, foreground softmax, anchor decoding, scale and aspect-ratio penalty, cosine window,
size smoothing with ``lr = penalty * score * LR``, clipping of centre and size.

Spec ``model`` keys (one of two forms):
- ``backbone: {type, kwargs}``, ``neck: {type, kwargs} | null``, ``rpn: {type, kwargs}``:
  pysot's experiment config, lower-cased (types: alexnetlegacy, alexnet, resnet50,
  mobilenetv2; AdjustLayer, AdjustAllLayer; UPChannelRPN, DepthwiseRPN, MultiRPN);
- ``arch: <name>``: a model registered in :mod:`siambench.models` (``siambench models``).
Optional: ``checkpoint_layout: pysot | dasiamrpn`` (DaSiamRPN key names are also recognised
without it), ``fuse_bn: true`` (fold BatchNorm into convolutions after loading),
``channels_last: auto | true | false`` (auto: on CUDA only, where it pays).

Spec ``hyper`` keys (pysot cfg.TRACK / cfg.ANCHOR, lower-cased): penalty_k, window_influence,
lr (required); exemplar_size (127), instance_size (255), base_size (8), context_amount (0.5),
anchor_stride (8), anchor_ratios ([0.33, 0.5, 1, 2, 3]), anchor_scales ([8]); DaSiamRPN's
adaptive search size: small_target_instance_size (none), small_target_area_ratio (0.004);
crop_rounding (half_up: pysot; python: round() as DaSiamRPN/SiamDW).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from siambench import ops
from siambench.errors import SiambenchError
from siambench.models import create_model
from siambench.models.checkpoints import load_checkpoint
from siambench.models.fuse import calibrate_batchnorm, calibration_images, fuse_bn
from siambench.models.siamrpn import build_siamrpn
from siambench.trackers.base import Tracker, TrackResult
from siambench.trackers.registry import TrackerSpec, register_adapter

RANDOM_INIT_SEED = 0  # --random-init builds the same network every time


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
        unknown = sorted(set(hyper) - names)
        if unknown:
            raise SiambenchError(
                f"{where}: unknown hyper-parameter(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(names))}"
            )
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

    @property
    def anchor_num(self) -> int:
        return len(self.anchor_ratios) * len(self.anchor_scales)

    def instance_size_for(self, box_area: float, image_area: float) -> int:
        """DaSiamRPN's adaptive search: a larger crop for targets under the area ratio."""
        small = self.small_target_instance_size
        if small is not None and box_area / image_area < self.small_target_area_ratio:
            return int(small)
        return int(self.instance_size)


class SiamRPNTracker(Tracker):
    """pysot's SiamRPNTracker around any model with ``template(z)`` and ``track(x) -> (cls, loc)``."""

    def __init__(
        self,
        model: torch.nn.Module,
        config: SiamRPNConfig,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        grad_free: bool = True,
    ) -> None:
        self.model = model.eval()
        # grad_free=False runs the network with autograd recording, as pysot does (for the
        # speed comparison in siambench.bench_trackers); results are the same
        self.grad_free = grad_free
        self.config = config
        self.device = torch.device(device)
        self.channels_last = channels_last
        self._model_seconds = 0.0
        self._grids: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.center = np.zeros(2)
        self.size = np.zeros(2)
        self.avg_chans = np.zeros(3)
        self.instance_size = config.instance_size

    @property
    def model_seconds(self) -> float:
        return self._model_seconds

    def _grid(self, instance_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Anchors and window for one search size (cached: DaSiamRPN uses two sizes)."""
        if instance_size not in self._grids:
            cfg = self.config
            side = ops.score_size(instance_size, cfg.exemplar_size, cfg.anchor_stride, cfg.base_size)
            anchors = ops.generate_anchors(cfg.anchor_stride, cfg.anchor_ratios, cfg.anchor_scales, side)
            window = ops.cosine_window(side, repeat=cfg.anchor_num)
            self._grids[instance_size] = (anchors, window)
        return self._grids[instance_size]

    def _to_input(self, patch: torch.Tensor) -> torch.Tensor:
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        return patch.to(self.device, memory_format=memory_format, non_blocking=True)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _context_size(self) -> np.float64:
        """Side of the context square around the target (pysot's s_z, unrounded).

        Kept a numpy float64, not a Python float: numpy 2 promotes float32 arrays divided by a
        numpy float64 to float64 but keeps them float32 with a Python float, and the decoded
        boxes must take pysot's precision to give pysot's numbers.
        """
        w, h = self.size
        pad = self.config.context_amount * (w + h)
        return np.sqrt((w + pad) * (h + pad))

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        cfg = self.config
        x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64)[:4])
        self.center = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
        self.size = np.array([w, h])
        self.image_hw = frame.shape[:2]
        self.instance_size = cfg.instance_size_for(w * h, frame.shape[0] * frame.shape[1])
        self._grid(self.instance_size)
        self.avg_chans = ops.channel_mean(frame)
        s_z = round(self._context_size())
        z = ops.get_subwindow(
            frame, self.center, cfg.exemplar_size, s_z, self.avg_chans, cfg.crop_rounding
        )
        z = self._to_input(z)
        with torch.inference_mode(self.grad_free):
            start = time.perf_counter()
            self.model.template(z)
            self._sync()
            self._model_seconds += time.perf_counter() - start

    def track(self, frame: np.ndarray) -> TrackResult:
        cfg = self.config
        anchors, window = self._grid(self.instance_size)
        s_z = self._context_size()
        scale_z = cfg.exemplar_size / s_z
        s_x = s_z * (self.instance_size / cfg.exemplar_size)
        x = ops.get_subwindow(
            frame, self.center, self.instance_size, round(s_x), self.avg_chans, cfg.crop_rounding
        )
        x = self._to_input(x)
        with torch.inference_mode(self.grad_free):
            start = time.perf_counter()
            cls, loc = self.model.track(x)
            self._sync()
            self._model_seconds += time.perf_counter() - start
        score = ops.rpn_scores(cls)
        deltas = ops.rpn_deltas(loc)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred = ops.decode_deltas(deltas, anchors)
            return self._update(score, pred, window, scale_z, frame.shape[:2])

    def _update(
        self,
        score: np.ndarray,
        pred: np.ndarray,
        window: np.ndarray,
        scale_z: float,
        image_hw: tuple[int, int],
    ) -> TrackResult:
        """Pick the best proposal and move the state to it (pysot's track(), after the network)."""
        cfg = self.config
        penalty = ops.size_change_penalty(
            pred[2], pred[3], self.size[0], self.size[1], cfg.penalty_k, scale_z
        )
        pscore = penalty * score
        pscore = pscore * (1 - cfg.window_influence) + window * cfg.window_influence
        best = int(np.nanargmax(pscore)) if np.isfinite(pscore).any() else 0
        bbox = pred[:, best] / scale_z
        lr = penalty[best] * score[best] * cfg.lr
        cx = bbox[0] + self.center[0]
        cy = bbox[1] + self.center[1]
        # the centre jumps to the proposal; only the size is smoothed
        width = self.size[0] * (1 - lr) + bbox[2] * lr
        height = self.size[1] * (1 - lr) + bbox[3] * lr
        if not np.all(np.isfinite([cx, cy, width, height])):
            # Only a degenerate network (random weights) gets here, where pysot would crash
            # on the next crop: keep the previous state instead.
            cx, cy = self.center
            width, height = self.size
        cx, cy, width, height = ops.clip_box(cx, cy, width, height, image_hw)
        self.center = np.array([cx, cy])
        self.size = np.array([width, height])
        box = np.array([cx - width / 2, cy - height / 2, width, height], dtype=np.float64)
        return TrackResult(box=box, score=float(score[best]))


# --------------------------------------------------------------------------- adapter

_MODEL_KEYS = {"arch", "backbone", "neck", "rpn", "checkpoint_layout", "fuse_bn", "channels_last"}


def build_model(spec: TrackerSpec) -> torch.nn.Module:
    """The network a spec describes, with random weights."""
    model = spec.model
    where = f"tracker {spec.name!r}" + (f" ({spec.source})" if spec.source else "")
    unknown = sorted(set(model) - _MODEL_KEYS)
    if unknown:
        raise SiambenchError(
            f"{where}: unknown model key(s) {', '.join(unknown)}; expected {', '.join(sorted(_MODEL_KEYS))}"
        )
    layout = model.get("checkpoint_layout", "pysot")
    if layout not in ("pysot", "dasiamrpn"):
        raise SiambenchError(f"{where}: checkpoint_layout must be 'pysot' or 'dasiamrpn', got {layout!r}")
    if "arch" in model:
        return create_model(str(model["arch"]))
    if "backbone" not in model or "rpn" not in model:
        raise SiambenchError(f"{where}: model needs 'arch', or 'backbone' and 'rpn' (and 'neck')")
    try:
        return build_siamrpn(model["backbone"], model["rpn"], model.get("neck"))
    except SiambenchError as exc:
        raise SiambenchError(f"{where}: {exc}") from exc


def _use_channels_last(setting: Any, device: torch.device) -> bool:
    if setting in (None, "auto"):
        # cuDNN runs NHWC convolutions on tensor cores; on the CPU it measured within noise
        return device.type == "cuda"
    return bool(setting)


@register_adapter("siamrpn")
def build(
    spec: TrackerSpec,
    device: torch.device | str,
    weights: Path | None,
    random_init: bool,
) -> SiamRPNTracker:
    """Build the tracker of `spec`: model, weights (unless `random_init`), device, fusion."""
    where = f"tracker {spec.name!r}" + (f" ({spec.source})" if spec.source else "")
    config = SiamRPNConfig.from_hyper(spec.hyper, where)
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model = build_model(spec)
        if random_init:
            z = calibration_images(config.exemplar_size, RANDOM_INIT_SEED)
            x = calibration_images(config.instance_size, RANDOM_INIT_SEED + 1)
            calibrate_batchnorm(model, z, x)
    if weights is not None and not random_init:
        load_checkpoint(model, weights, f"tracker {spec.name!r}")
    elif not random_init:
        raise SiambenchError(f"{where}: no weights given (use --weights FILE or --random-init)")
    model.eval()
    if spec.model.get("fuse_bn", True):
        fuse_bn(model)
    channels_last = _use_channels_last(spec.model.get("channels_last"), device)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    tracker = SiamRPNTracker(model, config, device, channels_last)
    tracker.name = spec.name
    return tracker
