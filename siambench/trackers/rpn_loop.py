"""The one SiamRPN tracking loop, shared by pysot's SiamRPN/SiamRPN++ and SiamDW's SiamRPN+.

Both originals run the same algorithm (reference sections 3.1 and 3.2): crop a context square
around the target, score and decode the anchors, penalise size and aspect-ratio changes, blend
in a window, move the centre to the best proposal and smooth the size towards it with
``lr = penalty * score * LR``, clip centre and size to the frame. What differs is arithmetic
convention, and to reproduce each original's numbers bit for bit those conventions are kept as
the explicit fields of :class:`RPNPolicy`; :data:`PYSOT` and :data:`SIAMDW` are the two sets.

The network's outputs stay on its device until they are scored, as in both originals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.trackers.base import TrackResult
from siambench.trackers.network import NetworkTracker
from siambench.trackers.siamese import (
    SEARCH_SIZE_RULES,
    check_windowing,
    context_side,
    corner_box,
    score_window,
    search_side,
)

#: crop-side rounding: Python 3's round() (halves to even) or Python 2's (halves away from 0)
SIZE_ROUNDINGS: dict[str, Callable[[float], float]] = {
    "python3": round,
    "python2": ops.python2round,
}


@dataclass(frozen=True)
class RPNPolicy:
    """The arithmetic conventions in which pysot's and SiamDW's RPN loops differ."""

    #: first crop pixel: "half_up" floor(x + 0.5) (pysot) or "python" round() (DaSiamRPN, SiamDW)
    crop_rounding: ops.Rounding = "half_up"
    #: crop sides: "python3" round() (pysot) or "python2" (SiamDW's python2round)
    size_rounding: str = "python3"
    #: search side from the context side s_z (:func:`siambench.trackers.siamese.search_side`):
    #: "scaled" s_z * instance / exemplar (pysot) or "padded" s_z + (instance - exemplar) / scale_z
    #: (SiamDW); equal in exact arithmetic only
    search_size: str = "scaled"
    #: Both originals' scale_z is a numpy float64 (``exemplar / np.sqrt(...)``) and their
    #: proposals float32 (the network's output), so the precision of ``pred / scale_z`` is
    #: numpy's era: numpy 1.x (value-based casting) keeps float32, numpy 2 (NEP 50) promotes to
    #: float64. siambench runs pysot as under numpy 2 (False: float64, pysot's current setup)
    #: and SiamDW as under numpy 1.x (True: a Python-float s_z, which numpy 2 does not promote,
    #: keeps float32), the numpy SiamDW was released with (PyTorch 0.3/0.4, 2019). The penalty
    #: and the smoothed size follow neither era exactly (effects below 5e-6 px).
    float32_proposal: bool = False
    #: SiamDW maps the previous size into crop pixels for the penalty (its aspect ratio too)
    #: and back for the size smoothing; pysot uses the frame-pixel size in both
    size_in_crop: bool = False
    #: SiamDW's output box (``cxy_wh_2_rect``) clamps its top-left corner at 0; pysot's does not
    clamp_corner: bool = False

    def __post_init__(self) -> None:
        if self.crop_rounding not in ("half_up", "python"):
            raise SiambenchError(f"crop_rounding must be 'half_up' or 'python', got {self.crop_rounding!r}")
        if self.size_rounding not in SIZE_ROUNDINGS:
            raise SiambenchError(f"size_rounding must be one of {', '.join(SIZE_ROUNDINGS)}")
        if self.search_size not in SEARCH_SIZE_RULES:
            raise SiambenchError(f"search_size must be one of {', '.join(SEARCH_SIZE_RULES)}")

    def round_size(self, side: float) -> float:
        return SIZE_ROUNDINGS[self.size_rounding](side)


PYSOT = RPNPolicy()
SIAMDW = RPNPolicy(
    crop_rounding="python",
    size_rounding="python2",
    search_size="padded",
    float32_proposal=True,
    size_in_crop=True,
    clamp_corner=True,
)


@dataclass(frozen=True)
class RPNParams:
    """The loop's numbers, whatever a spec calls them (pysot cfg.TRACK or SiamDW RPNConfig)."""

    penalty_k: float
    window_influence: float
    lr: float
    exemplar_size: int
    instance_size: int
    context_amount: float
    stride: int
    ratios: tuple[float, ...]
    scales: tuple[float, ...]
    base_size: int = 0
    windowing: str = "cosine"
    #: DaSiamRPN's and SiamDW's (VOT2017: 271/287) adaptive search: a larger crop for targets
    #: covering less than `small_target_area_ratio` of the frame
    small_target_instance_size: int | None = None
    small_target_area_ratio: float = 0.004

    def __post_init__(self) -> None:
        check_windowing(self.windowing)

    @classmethod
    def from_config(cls, config: object, **renamed: Any) -> RPNParams:
        """The loop's numbers from an adapter's config: every field `config` has under the
        loop's name, plus `renamed` for those it names otherwise."""
        shared = {
            f.name: getattr(config, f.name)
            for f in fields(cls)
            if f.name not in renamed and hasattr(config, f.name)
        }
        return cls(**shared, **renamed)

    @property
    def anchor_num(self) -> int:
        return len(self.ratios) * len(self.scales)

    def instance_size_for(self, box_area: float, image_area: float) -> int:
        """The search size for a target of `box_area` in a frame of `image_area`."""
        small = self.small_target_instance_size
        if small is not None and box_area / image_area < self.small_target_area_ratio:
            return int(small)
        return int(self.instance_size)

    def score_size(self, instance_size: int) -> int:
        return ops.score_size(instance_size, self.exemplar_size, self.stride, self.base_size)


def select_proposal(
    score: np.ndarray,
    pred: np.ndarray,
    window: np.ndarray,
    prev_size: Sequence[float],
    penalty_k: float,
    window_influence: float,
    scale: float = 1.0,
) -> tuple[int, np.ndarray]:
    """Index of the chosen proposal and the size-change penalty of every proposal.

    `pred` is (4, N) decoded boxes in search-crop pixels; `prev_size` the previous target
    size, which `scale` maps into those units (see :func:`siambench.ops.size_change_penalty`).
    The choice maximises ``penalty * score * (1 - wi) + window * wi``.
    """
    penalty = ops.size_change_penalty(pred[2], pred[3], prev_size[0], prev_size[1], penalty_k, scale)
    pscore = penalty * score * (1 - window_influence) + window * window_influence
    best = int(np.nanargmax(pscore)) if np.isfinite(pscore).any() else 0
    return best, penalty


class RPNTracker(NetworkTracker):
    """The SiamRPN loop around any model with ``template(z)`` and ``track(x) -> (cls, loc)``.

    Subclasses give the spec-facing config and :meth:`foreground`, the head's activation.
    """

    def __init__(
        self,
        model: nn.Module,
        params: RPNParams,
        policy: RPNPolicy,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
    ) -> None:
        super().__init__(model, device, channels_last)
        self.params = params
        self.policy = policy
        self._grids: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.center = np.zeros(2)
        self.size = np.zeros(2)
        self.avg_chans = np.zeros(3)
        self.instance_size = params.instance_size

    def foreground(self, cls: torch.Tensor) -> np.ndarray:
        """Foreground probability per anchor (A*S*S,): softmax over (background, foreground)."""
        return ops.rpn_scores(cls)

    def grid(self, instance_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Anchors (A*S*S, 4) and flattened window (A*S*S,) for one search size (cached: the
        adaptive search uses two)."""
        if instance_size not in self._grids:
            p = self.params
            side = p.score_size(instance_size)
            anchors = ops.generate_anchors(p.stride, p.ratios, p.scales, side)
            window = np.tile(score_window(side, p.windowing).ravel(), p.anchor_num)
            self._grids[instance_size] = (anchors, window)
        return self._grids[instance_size]

    def _context_size(self) -> float:
        """The unrounded context side s_z, in the type the policy's precision needs."""
        side = context_side(self.size[0], self.size[1], self.params.context_amount)
        return float(side) if self.policy.float32_proposal else side

    def init(self, frame: np.ndarray | torch.Tensor, box: np.ndarray) -> None:
        p = self.params
        self.center, self.size = self.box_policy.start(box)
        w, h = self.size
        self.instance_size = p.instance_size_for(w * h, frame.shape[0] * frame.shape[1])
        self.grid(self.instance_size)
        self.avg_chans = ops.channel_mean(frame)
        s_z = self.policy.round_size(self._context_size())
        z = ops.get_subwindow(
            frame, self.center, p.exemplar_size, s_z, self.avg_chans, self.policy.crop_rounding
        )
        self.set_template(z)

    def _search_scale(self) -> tuple[float, float]:
        """(scale_z, s_x): crop pixels per frame pixel, and the unrounded search side."""
        s_z = self._context_size()
        scale_z = self.params.exemplar_size / s_z
        s_x = search_side(self.policy.search_size, s_z, scale_z, self.instance_size, self.params.exemplar_size)
        return scale_z, s_x

    def search_inputs(self, frame: np.ndarray | torch.Tensor) -> torch.Tensor:
        _, s_x = self._search_scale()
        return ops.get_subwindow(
            frame, self.center, self.instance_size, self.policy.round_size(s_x), self.avg_chans,
            self.policy.crop_rounding,
        )

    def finish(self, outputs: tuple[torch.Tensor, torch.Tensor], frame: np.ndarray | torch.Tensor) -> TrackResult:
        cls, loc = outputs
        anchors, window = self.grid(self.instance_size)
        scale_z, _ = self._search_scale()
        score = self.foreground(cls)
        deltas = ops.rpn_deltas(loc)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred = ops.decode_deltas(deltas, anchors)
            return self._update(score, pred, window, scale_z, tuple(frame.shape[:2]))

    def _update(
        self,
        score: np.ndarray,
        pred: np.ndarray,
        window: np.ndarray,
        scale_z: float,
        image_hw: tuple[int, int],
    ) -> TrackResult:
        """Pick the best proposal and move the state to it (the loop after the network)."""
        p, policy = self.params, self.policy
        if policy.size_in_crop:
            prev, prev_scale = self.size * scale_z, 1.0
        else:
            prev, prev_scale = self.size, scale_z
        best, penalty = select_proposal(
            score, pred, window, prev, p.penalty_k, p.window_influence, prev_scale
        )
        bbox = pred[:, best] / scale_z
        lr = penalty[best] * score[best] * p.lr
        # SiamDW maps the size into the crop and back; the round trip is kept for bit-equality
        base = prev / scale_z if policy.size_in_crop else self.size
        cx = bbox[0] + self.center[0]
        cy = bbox[1] + self.center[1]
        # the centre jumps to the proposal; only the size is smoothed
        width = base[0] * (1 - lr) + bbox[2] * lr
        height = base[1] * (1 - lr) + bbox[3] * lr
        if not np.all(np.isfinite([cx, cy, width, height])):
            # Only a degenerate network (random weights) gets here, where the originals would
            # crash on the next crop: keep the previous state instead.
            cx, cy = self.center
            width, height = self.size
        # the frame being tracked gives the bounds (pysot; SiamDW keeps the first frame's size,
        # the same within a sequence)
        cx, cy, width, height = ops.clip_box(cx, cy, width, height, image_hw)
        self.center = np.array([cx, cy])
        self.size = np.array([width, height])
        box = corner_box(cx, cy, width, height, clamp_at_zero=policy.clamp_corner)
        box = self.box_policy.written(box)
        return TrackResult(box=box, score=float(score[best]))

