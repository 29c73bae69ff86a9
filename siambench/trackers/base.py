"""The one inference interface every tracker adapter implements.

Frames are BGR uint8 arrays of shape (H, W, 3), as read by OpenCV. Boxes are axis-aligned
(x, y, w, h) in 0-based pixel coordinates, as numpy float arrays. A tracker is initialised once
on a frame and a box, then called frame by frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrackResult:
    """What a tracker returns for one frame."""

    box: np.ndarray  # (4,) float64: x, y, w, h
    score: float  # confidence in [0, 1] where the tracker has one, NaN otherwise


class Tracker(ABC):
    """Initialise on a frame and a box, then track frame by frame."""

    #: registry name, e.g. "siamrpnpp"
    name: str = ""

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
