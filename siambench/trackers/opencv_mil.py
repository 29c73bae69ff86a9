"""OpenCV's MIL tracker behind the siambench Tracker interface.

A non-Siamese baseline that needs no weights and no GPU. It shows that the protocols, the
result layouts and the scoring make no Siamese assumption, and it gives the test suite a real
tracker to run on real frames.

MIL draws random Haar features and samples; OpenCV takes them from the C library's ``rand()``
and from its own generator. Both are seeded at every ``init`` so that two runs on the same
frames give the same trajectory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from siambench.errors import SiambenchError
from siambench.trackers.base import Tracker, TrackResult
from siambench.trackers.registry import TrackerSpec, register_adapter

_PARAM_NAMES = (
    "samplerInitInRadius",
    "samplerInitMaxNegNum",
    "samplerSearchWinSize",
    "samplerTrackInRadius",
    "samplerTrackMaxPosNum",
    "samplerTrackMaxNegNum",
    "featureSetNumFeatures",
)


def _create_mil(params: Any) -> Any:
    # The factory's name changed between OpenCV 4.5 (TrackerMIL_create) and later releases.
    factory = getattr(cv2, "TrackerMIL_create", None) or cv2.TrackerMIL.create
    return factory(params)


def _seed_c_rand(seed: int) -> None:
    """Seed the C library's rand(), which OpenCV's Haar feature generator draws from."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.srand(ctypes.c_uint(seed))
    except (OSError, AttributeError, TypeError):
        # No C library to reach (unusual platforms): runs stay valid, only not repeatable.
        pass


def _int_rect(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer (x, y, w, h) inside the image, as OpenCV's trackers take them.

    The corner is floored so that pysot's half-pixel init box [x + 0.5, y + 0.5, w, h] maps back
    to the annotated integer corner.
    """
    x, y, w, h = (float(v) for v in box)
    x0 = min(max(math.floor(x), 0), width - 1)
    y0 = min(max(math.floor(y), 0), height - 1)
    w0 = max(1, min(round(w), width - x0))
    h0 = max(1, min(round(h), height - y0))
    return x0, y0, w0, h0


class OpenCVMILTracker(Tracker):
    """cv2.TrackerMIL; reports no confidence (score NaN)."""

    name = "opencv-mil"

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        self._params = cv2.TrackerMIL_Params()
        for key, value in (params or {}).items():
            if key not in _PARAM_NAMES:
                raise SiambenchError(
                    f"unknown opencv-mil parameter {key!r}; expected one of {', '.join(_PARAM_NAMES)}"
                )
            setattr(self._params, key, type(getattr(self._params, key))(value))
        self._seed = int(seed)
        self._tracker: Any = None
        self._box = np.zeros(4)

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        cv2.setRNGSeed(self._seed)
        _seed_c_rand(self._seed)
        self._tracker = _create_mil(self._params)
        rect = _int_rect(np.asarray(box, dtype=np.float64), frame.shape[1], frame.shape[0])
        self._tracker.init(frame, rect)
        self._box = np.asarray(rect, dtype=np.float64)

    def track(self, frame: np.ndarray) -> TrackResult:
        if self._tracker is None:
            raise SiambenchError("opencv-mil: track() called before init()")
        found, rect = self._tracker.update(frame)
        if found:
            self._box = np.asarray(rect, dtype=np.float64)
        # When MIL reports no target it keeps its last position, as the other trackers do.
        return TrackResult(box=self._box.copy(), score=float("nan"))


@register_adapter("opencv-mil")
def build(spec: TrackerSpec, device: Any, weights: Path | None, random_init: bool) -> Tracker:
    """Build the MIL tracker. It runs on the CPU whatever the device, and loads no weights."""
    if weights is not None:
        raise SiambenchError(f"tracker {spec.name!r} (opencv-mil) has no weights; drop --weights")
    hyper = dict(spec.hyper)
    seed = hyper.pop("seed", 0)
    tracker = OpenCVMILTracker(hyper, seed=seed)
    tracker.name = spec.name
    return tracker
