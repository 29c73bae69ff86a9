"""Box conventions per original: where a tracker starts and which boxes it writes.

Every original turns the first ground truth into its internal centre and size in its own way,
and writes its boxes back in its own way; with trained weights a 1 px start offset moves
every crop of the first frames. A :class:`BoxPolicy` names one original's convention, each
tracker spec names its policy (``box_policy``), and the adapters and the protocol driver apply
it:

- :meth:`BoxPolicy.start`: siambench's init box (pysot's ``[cx - (w-1)/2, cy - (h-1)/2, w,
  h]`` of :func:`siambench.regions.axis_aligned`, for OTB / GOT-10k / LaSOT 4-value boxes and
  VOT polygons alike) -> the centre and size the original tracks from;
- :meth:`BoxPolicy.written`: a box the tracking loop reports in its own pixel frame -> the box
  the original writes (scripts that move a 1-based ground truth to 0-based add the 1 back);
- :meth:`BoxPolicy.first_line`: the init box -> the line the original writes for frame 1.

The originals' scripts (revisions in the reference document, section 0):

===============  ==========================================================================
policy           script and convention
===============  ==========================================================================
pysot            tools/test.py: centre ``x + w/2`` of the ground truth as given (polygons:
                 the vertex mean), frame 1 written as its init box ``[x + .5, y + .5, w, h]``
siamfc-pytorch   got10k toolkit + siamfc/siamfc.py ``init``: the box moved to 0-based and
                 centred at ``x - 1 + (w - 1)/2``, every box written 1-based again, frame 1
                 written as the ground truth itself (polygons: got10k's ``_corner2rect``)
siamdw-otb       SiamDW siamese_tracking/test_siam*.py on OTB: ``gt - [1, 1, 0, 0]``, centre
                 ``x + w/2``, ``+1`` on every box written, frame 1 the ground truth itself
siamdw-vot       the same scripts on VOT: polygons as given, centre the vertex mean
dasiamrpn-otb    DaSiamRPN code/test_otb.py (Python 2.7): ``gt - [1, 1, 0, 0]``, centre
                 ``x + w/2`` with Python 2's integer division for integer sizes, ``+1`` on
                 the boxes it tracks, frame 1 written as the 0-based ground truth
dasiamrpn-vot    DaSiamRPN code/vot_SiamRPN.py: polygons as given, centre the vertex mean
===============  ==========================================================================

Polygons under an OTB policy, and 4-value boxes under a VOT one, get the same rule as the
other form (the originals' scripts never see them). Precision: siambench keeps the state in
float64; siamfc-pytorch keeps it in float32 (start centres differ by < 4e-6 px for VOT
polygons, 0 for OTB's integer boxes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from siambench.errors import SiambenchError

CENTRE_RULES = ("half", "pixel", "python2_half")
FIRST_LINES = ("init_box", "groundtruth", "shifted_groundtruth")


@dataclass(frozen=True)
class BoxPolicy:
    """One original's conventions for the start state and the written boxes."""

    name: str
    #: pixels the original's script subtracts from x and y of the ground truth before it
    #: tracks (a 1-based box made 0-based), and adds back to every box it tracks and writes
    origin: float = 0.0
    #: the centre of the (shifted) ground-truth rectangle: "half" ``x + w/2``; "pixel"
    #: ``x + (w - 1)/2`` (siamfc-pytorch); "python2_half" ``x + w/2`` with the floor
    #: division Python 2 applies to integer sizes (DaSiamRPN)
    centre: str = "half"
    #: frame 1's line: "init_box" (pysot's ``[x + .5, y + .5, w, h]``), "groundtruth" (the
    #: ground truth itself) or "shifted_groundtruth" (the ground truth less `origin`)
    first: str = "init_box"

    def __post_init__(self) -> None:
        if self.centre not in CENTRE_RULES:
            raise SiambenchError(f"box policy centre must be one of {', '.join(CENTRE_RULES)}")
        if self.first not in FIRST_LINES:
            raise SiambenchError(f"box policy first line must be one of {', '.join(FIRST_LINES)}")

    def start(self, box: Any) -> tuple[np.ndarray, np.ndarray]:
        """(cx, cy) and (w, h) the original tracks from, for siambench's init `box`."""
        x, y, w, h = _groundtruth_rect(box)
        x, y = x - self.origin, y - self.origin
        return np.array([self._centre(x, w), self._centre(y, h)]), np.array([w, h])

    def written(self, box: np.ndarray) -> np.ndarray:
        """A box the tracking loop reports (its own pixel frame) as the original writes it."""
        if not self.origin:
            return box
        return box + np.array([self.origin, self.origin, 0.0, 0.0])

    def first_line(self, box: Any) -> np.ndarray:
        """What the original writes for the frame a tracker is initialised on with `box`."""
        if self.first == "init_box":
            return np.asarray(box, dtype=np.float64)[:4].copy()
        rect = _groundtruth_rect(box)
        if self.first == "shifted_groundtruth":
            rect[:2] -= self.origin
        return rect

    def _centre(self, corner: float, side: float) -> float:
        if self.centre == "pixel":
            return corner + (side - 1) / 2
        if self.centre == "python2_half" and float(side).is_integer():
            return corner + math.floor(side / 2)
        return corner + side / 2


def _groundtruth_rect(box: Any) -> np.ndarray:
    """The ground truth's own (x, y, w, h) behind siambench's init box.

    :func:`siambench.regions.axis_aligned` writes a 4-value box ``[x, y, w, h]`` as
    ``[x + .5, y + .5, w, h]`` and a polygon as its centred box ``[cx - (w-1)/2, ...]``; half a
    pixel less gives the box itself, or the polygon's ``[cx - w/2, cy - h/2, w, h]`` (VOT's and
    got10k's rectangle).
    """
    x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64)[:4])
    return np.array([x - 0.5, y - 0.5, w, h])


PYSOT_BOXES = BoxPolicy("pysot")

#: name -> policy, the values a spec's ``box_policy`` may take
BOX_POLICIES: dict[str, BoxPolicy] = {
    p.name: p
    for p in (
        PYSOT_BOXES,
        BoxPolicy("siamfc-pytorch", origin=1.0, centre="pixel", first="groundtruth"),
        BoxPolicy("siamdw-otb", origin=1.0, first="groundtruth"),
        BoxPolicy("siamdw-vot", first="groundtruth"),
        BoxPolicy("dasiamrpn-otb", origin=1.0, centre="python2_half", first="shifted_groundtruth"),
        BoxPolicy("dasiamrpn-vot", first="groundtruth"),
    )
}


def get_box_policy(name: str) -> BoxPolicy:
    """The policy called `name`."""
    if name not in BOX_POLICIES:
        raise SiambenchError(f"unknown box policy {name!r}; expected one of {', '.join(BOX_POLICIES)}")
    return BOX_POLICIES[name]


def box_policy_of(tracker: Any) -> BoxPolicy:
    """The policy a tracker runs under (pysot's for trackers that name none, e.g. plugins')."""
    policy = getattr(tracker, "box_policy", None)
    return policy if isinstance(policy, BoxPolicy) else PYSOT_BOXES
