"""The one inference interface every tracker adapter implements.

Frames are BGR uint8 arrays of shape (H, W, 3), as read by OpenCV. Boxes are axis-aligned
(x, y, w, h) in 0-based pixel coordinates, as numpy float arrays. A tracker is initialised once
on a frame and a box, then called frame by frame. The init box is siambench's
(:func:`siambench.regions.axis_aligned`); a tracker's :attr:`Tracker.box_policy` says where the
original it reproduces starts from that box and how it writes its boxes
(:mod:`siambench.trackers.box_policy`).

Trackers whose per-frame network call can share a batch with other sequences' calls also
implement :class:`BatchedTracker`; the batched engine (:mod:`siambench.execution.batched`) asks
:func:`can_batch`, never the tracker's name, and runs the others one sequence at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from siambench.trackers.box_policy import PYSOT_BOXES, BoxPolicy


@dataclass(frozen=True)
class TrackResult:
    """What a tracker returns for one frame."""

    box: np.ndarray  # (4,) float64: x, y, w, h
    score: float  # confidence in [0, 1] where the tracker has one, NaN otherwise


class Tracker(ABC):
    """Initialise on a frame and a box, then track frame by frame."""

    #: registry name, e.g. "siamrpnpp"
    name: str = ""
    #: the original's box conventions (set from the spec's ``box_policy`` by create_tracker)
    box_policy: BoxPolicy = PYSOT_BOXES

    @abstractmethod
    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        """Start tracking the target at `box` (x, y, w, h) in `frame`."""

    @abstractmethod
    def track(self, frame: np.ndarray) -> TrackResult:
        """Locate the target in the next frame."""

    @property
    def model_seconds(self) -> float:
        """Seconds spent inside the network since construction (0 for trackers without one)."""
        return 0.0


class BatchedTracker(Tracker):
    """A tracker whose ``track`` is three steps, so that many sequences can share the middle one.

    ``track(frame)`` is ``finish(forward(template, search_inputs(frame)), frame)``: the search
    crop(s) cut from the frame around the current state, the network on the crops against the
    template kept by ``init``, and the tracker's own post-processing (penalties, window,
    smoothing, scales), which updates the state. The engine stacks the crops and templates of
    many jobs, runs one :meth:`forward` and hands each job its slice of the outputs.
    """

    #: the per-job template state ``init`` computed: a tensor, or a tuple / list of them,
    #: each with batch size 1 (stacked along the batch by the engine)
    template: Any = None
    #: where the network runs, and in which precision (see siambench.trackers.network)
    device: Any = "cpu"
    precision: str = "fp32"
    #: False where the network cannot take a batch of any size (fixed-shape ONNX graphs)
    batchable: bool = True

    def to_input(self, crops: Any) -> Any:
        """Stacked crops as the network's input (on its device)."""
        return crops

    @abstractmethod
    def spawn(self) -> BatchedTracker:
        """A tracker with the same network (shared, not copied) and a fresh state."""

    @abstractmethod
    def search_inputs(self, frame: Any) -> Any:
        """The (k, 3, S, S) search crops for `frame` from the current state (k: scales)."""

    @abstractmethod
    def forward(self, template: Any, crops: Any) -> Any:
        """The network on stacked `crops` against `template` stacked to the same batch."""

    @abstractmethod
    def finish(self, outputs: Any, frame: Any) -> TrackResult:
        """This job's outputs (its rows of the batch) -> the box; moves the state on."""


def can_batch(tracker: Tracker) -> bool:
    """Whether `tracker` can run in the batched engine (see :class:`BatchedTracker`)."""
    return isinstance(tracker, BatchedTracker) and tracker.batchable
