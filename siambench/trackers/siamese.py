"""Target-state pieces every Siamese tracking loop shares (SiamFC, SiamRPN and SiamDW's).

All of them keep the target as a centre and a size, crop a context square around it and
report an (x, y, w, h) box; they differ only in the conventions a parameter names here.
"""

from __future__ import annotations

import numpy as np

from siambench import ops
from siambench.errors import SiambenchError

WINDOWINGS = ("cosine", "uniform")
SEARCH_SIZE_RULES = ("scaled", "padded")


def context_side(w: float, h: float, context_amount: float) -> np.float64:
    """Side of the square around a w x h target padded by `context_amount` of its perimeter.

    A numpy float64 (callers that need a Python float convert it): pysot's loop relies on
    its type, see :class:`siambench.trackers.rpn_loop.RPNPolicy`.
    """
    pad = context_amount * (w + h)
    return np.sqrt((w + pad) * (h + pad))


def search_side(rule: str, s_z: float, scale_z: float, instance_size: int, exemplar_size: int) -> float:
    """The unrounded side of the search square around a context square of side `s_z`.

    ``scaled``: ``s_z * (instance / exemplar)`` (pysot); ``padded``: ``s_z`` plus
    the extra crop pixels mapped back, ``s_z + (instance - exemplar) / scale_z`` (SiamDW). Equal
    in exact arithmetic only, so each is written as its original writes it.
    """
    if rule == "scaled":
        return s_z * (instance_size / exemplar_size)
    if rule == "padded":
        return s_z + 2 * ((instance_size - exemplar_size) / 2) / scale_z
    raise SiambenchError(f"search size rule must be one of {', '.join(SEARCH_SIZE_RULES)}, got {rule!r}")


def corner_box(cx: float, cy: float, w: float, h: float, clamp_at_zero: bool = False) -> np.ndarray:
    """(x, y, w, h) of the box centred on (cx, cy); SiamDW (``cxy_wh_2_rect``) clamps x, y at 0."""
    x, y = cx - w / 2, cy - h / 2
    if clamp_at_zero:
        x, y = max(0.0, x), max(0.0, y)
    return np.array([x, y, w, h], dtype=np.float64)


def check_windowing(windowing: str) -> None:
    """Reject a windowing name SiamDW does not have."""
    if windowing not in WINDOWINGS:
        raise SiambenchError(f"windowing must be 'cosine' or 'uniform', got {windowing!r}")


def score_window(size: int, windowing: str) -> np.ndarray:
    """SiamDW's displacement prior over a size x size map: Hann (``cosine``) or flat (``uniform``)."""
    check_windowing(windowing)
    return ops.cosine_window(size) if windowing == "cosine" else np.ones((size, size))
