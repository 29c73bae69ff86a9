"""Each tracker starts where its original starts: the box policies against the originals' numbers.

The expected start states (centre, size, crop side) were computed by hand from the originals'
scripts at the revisions of the reference document (section 0), for the first ground-truth
lines of OTB Couple ``51 47 25 62`` and Crossing ``205 151 17 50`` (OTB100
*/groundtruth_rect.txt, 1-based) and VOT2018 ants1's first polygon. siamfc-pytorch keeps its
state in float32 (siamfc/siamfc.py:118-122): its polygon numbers below are the float32 values,
hence the 1e-5 tolerance there.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from siambench.errors import InputError
from siambench.protocols import run_ope
from siambench.regions import axis_aligned
from siambench.trackers.base import Tracker, TrackResult
from siambench.trackers.box_policy import BOX_POLICIES, PYSOT_BOXES, box_policy_of
from siambench.trackers.registry import TrackerSpec, list_trackers, load_spec, parse_spec
from siambench.trackers.siamdw import (
    FCPlusConfig,
    RPNPlusConfig,
    SiamFCPlusTracker,
    SiamRPNPlusTracker,
)
from siambench.trackers.siamfc import SiamFCConfig, SiamFCTracker
from siambench.trackers.siamrpn import SiamRPNConfig, SiamRPNTracker

COUPLE = [51, 47, 25, 62]
CROSSING = [205, 151, 17, 50]
ANTS1 = [137.21, 458.36, 156.83, 460.78, 148.35, 529.41, 128.72, 526.99]
ANTS1_SIZE = (24.256231789032594, 59.781759822510274)  # pysot/SiamDW/DaSiamRPN: s * (x2 - x1) + 1

# (policy, ground truth, centre, size) as each original computes them
STARTS = [
    # pysot tools/test.py:81-83 (get_axis_aligned_bbox: cx = x + w/2, pysot/utils/bbox.py:132),
    # siamrpn_tracker.py:75-77 (centre = bbox[0] + (bbox[2] - 1)/2)
    ("pysot", COUPLE, (63.5, 78.0), (25, 62)),
    ("pysot", CROSSING, (213.5, 176.0), (17, 50)),
    ("pysot", ANTS1, (142.7775, 493.885), ANTS1_SIZE),  # bbox.py:114-126
    # siamfc-pytorch siamfc/siamfc.py:118-122: [y, x] = box - 1 + (size - 1)/2, float32; on VOT
    # the box is got10k's _corner2rect [cx - w/2, cy - h/2, w, h] (got10k/datasets/vot.py)
    ("siamfc-pytorch", COUPLE, (62.0, 76.5), (25, 62)),
    ("siamfc-pytorch", CROSSING, (212.0, 174.5), (17, 50)),
    ("siamfc-pytorch", ANTS1, (141.27749633789062, 492.385009765625), ANTS1_SIZE),
    # SiamDW lib/utils/utils.py:180 (gt - [1, 1, 0, 0]) and :390-391 (cx = x + w/2),
    # siamese_tracking/test_siamrpn.py:78-81 and test_siamfc.py:81-84
    ("siamdw-otb", COUPLE, (62.5, 77.0), (25, 62)),
    ("siamdw-otb", CROSSING, (212.5, 175.0), (17, 50)),
    # SiamDW VOT: utils.py:197 (polygons as given), :373-384 (vertex mean)
    ("siamdw-vot", ANTS1, (142.7775, 493.885), ANTS1_SIZE),
    # DaSiamRPN code/test_otb.py:81 (gt - [1, 1, 0, 0], integers) and :30, utils.py:98
    # (rect[0] + rect[2]/2 under Python 2.7, README: integer division for integer sizes)
    ("dasiamrpn-otb", COUPLE, (62.0, 77.0), (25, 62)),
    ("dasiamrpn-otb", CROSSING, (212.0, 175.0), (17, 50)),
    # DaSiamRPN code/vot_SiamRPN.py:33-40, utils.py:101-118
    ("dasiamrpn-vot", ANTS1, (142.7775, 493.885), ANTS1_SIZE),
]

# Frame 1's written line: pysot tools/test.py:82-84/158 its init box; siamfc-pytorch
# siamfc.py:218 boxes[0] = box; SiamDW test_siam*.py:86 + :109/113 gt[f] (0-based) plus 1;
# DaSiamRPN test_otb.py:33 + :63-64 gt[f], 0-based, written as it is.
FIRST_LINES = [
    ("pysot", COUPLE, [51.5, 47.5, 25, 62]),
    ("siamfc-pytorch", COUPLE, COUPLE),
    ("siamdw-otb", CROSSING, CROSSING),
    ("dasiamrpn-otb", COUPLE, [50, 46, 25, 62]),
    ("dasiamrpn-otb", CROSSING, [204, 150, 17, 50]),
]


@pytest.mark.parametrize(("policy", "gt", "centre", "size"), STARTS)
def test_policy_start_is_the_originals(policy, gt, centre, size):
    got_centre, got_size = BOX_POLICIES[policy].start(axis_aligned(np.array(gt, dtype=float)))
    np.testing.assert_allclose(got_centre, centre, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got_size, size, rtol=1e-6)


@pytest.mark.parametrize(("policy", "gt", "line"), FIRST_LINES)
def test_first_line_is_what_the_original_writes(policy, gt, line):
    np.testing.assert_array_equal(BOX_POLICIES[policy].first_line(axis_aligned(np.array(gt, dtype=float))), line)


def test_written_boxes_move_back_by_the_origin():
    box = np.array([10.0, 20.0, 5.0, 6.0])
    # siamfc.py:208-211 (+1), SiamDW test_siam*.py:109 (+1 on x, y), DaSiamRPN test_otb.py:36
    for name in ("siamfc-pytorch", "siamdw-otb", "dasiamrpn-otb"):
        np.testing.assert_array_equal(BOX_POLICIES[name].written(box), [11, 21, 5, 6])
    for name in ("pysot", "siamdw-vot", "dasiamrpn-vot"):
        np.testing.assert_array_equal(BOX_POLICIES[name].written(box), box)


# ----------------------------------------------------------------- through the adapters' init


class _Template(nn.Module):
    """A network whose template branch keeps the crop (no weights: only the init is tested)."""

    def make_template(self, z: torch.Tensor) -> torch.Tensor:
        return z


FRAME = np.zeros((720, 1280, 3), dtype=np.uint8)


def _init(tracker, policy: str, gt):
    tracker.box_policy = BOX_POLICIES[policy]
    tracker.init(FRAME, axis_aligned(np.array(gt, dtype=float)))
    return tracker


# (policy, gt, z_sz, x_sz): siamfc-pytorch siamfc.py:137-141, float32 (crop side round(z_sz))
SIAMFC_SIDES = [
    ("siamfc-pytorch", COUPLE, 85.01029205322266, 170.68995666503906),
    ("siamfc-pytorch", CROSSING, 64.93650817871094, 130.38433837890625),
    ("siamfc-pytorch", ANTS1, 82.13932800292969, 164.92543029785156),
]


@pytest.mark.parametrize(("policy", "gt", "z_sz", "x_sz"), SIAMFC_SIDES)
def test_siamfc_init_reaches_siamfc_pytorch_state(policy, gt, z_sz, x_sz):
    tracker = _init(SiamFCTracker(_Template(), SiamFCConfig()), policy, gt)
    centre, size = next((c, s) for p, g, c, s in STARTS if p == policy and g == gt)
    np.testing.assert_allclose(tracker.center, centre, atol=1e-5)
    np.testing.assert_allclose(tracker.size, size, rtol=1e-6)
    np.testing.assert_allclose([tracker.z_sz, tracker.x_sz], [z_sz, x_sz], rtol=1e-6)
    assert round(tracker.z_sz) == round(z_sz)


# (policy, gt, s_z, s_x): SiamDW lib/tracker/siamfc.py:43-52 (round, then s_z + 2 * pad).
# The values do not depend on numpy's version (numpy 1.x: round() gives a float64, numpy 2 an
# int; the same number).
SIAMFCPLUS_SIDES = [
    ("siamdw-otb", COUPLE, 85, 170.6692913385827),
    ("siamdw-otb", CROSSING, 65, 130.51181102362204),
    ("siamdw-vot", ANTS1, 82, 164.64566929133858),
]


@pytest.mark.parametrize(("policy", "gt", "s_z", "s_x"), SIAMFCPLUS_SIDES)
def test_siamfcplus_init_reaches_siamdw_state(policy, gt, s_z, s_x):
    tracker = _init(SiamFCPlusTracker(_Template(), FCPlusConfig()), policy, gt)
    centre, size = next((c, s) for p, g, c, s in STARTS if p == policy and g == gt)
    np.testing.assert_allclose(tracker.center, centre, atol=1e-9)
    np.testing.assert_allclose(tracker.size, size, rtol=1e-9)
    assert tracker.s_x == pytest.approx(s_x, rel=1e-12)
    assert tuple(tracker.template.shape[-2:]) == (127, 127)


# (tracker, policy, gt, s_z): exemplar crop sides, pysot siamrpn_tracker.py:78-82 round(),
# SiamDW lib/tracker/siamrpn.py:66-68 python2round, DaSiamRPN run_SiamRPN.py:136-138 round()
# (Python 2: halves away from zero; no half here)
RPN_SIDES = [
    ("pysot", "pysot", COUPLE, 85),
    ("pysot", "pysot", CROSSING, 65),
    ("pysot", "pysot", ANTS1, 82),
    ("pysot", "dasiamrpn-otb", COUPLE, 85),
    ("pysot", "dasiamrpn-otb", CROSSING, 65),
    ("pysot", "dasiamrpn-vot", ANTS1, 82),
    ("siamdw", "siamdw-otb", COUPLE, 85),
    ("siamdw", "siamdw-otb", CROSSING, 65),
    ("siamdw", "siamdw-vot", ANTS1, 82),
]


@pytest.mark.parametrize(("loop", "policy", "gt", "s_z"), RPN_SIDES)
def test_rpn_init_reaches_the_originals_state(loop, policy, gt, s_z):
    if loop == "pysot":
        config = SiamRPNConfig.from_hyper({"penalty_k": 0.05, "window_influence": 0.42, "lr": 0.38})
        tracker = SiamRPNTracker(_Template(), config)
    else:
        tracker = SiamRPNPlusTracker(_Template(), RPNPlusConfig())
    _init(tracker, policy, gt)
    centre, size = next((c, s) for p, g, c, s in STARTS if p == policy and g == gt)
    np.testing.assert_allclose(tracker.center, centre, atol=1e-9)
    np.testing.assert_allclose(tracker.size, size, rtol=1e-9)
    assert tracker.policy.round_size(tracker._context_size()) == s_z


# ----------------------------------------------------------------- specs and the protocol


def test_every_spec_names_a_known_policy():
    for name in list_trackers():
        spec = load_spec(name)
        if spec.source is not None and spec.source.parent.name == "trackers":
            assert spec.box_policy in BOX_POLICIES, name
    assert load_spec("siamfcplus").box_policy == "siamdw-otb"
    assert load_spec("siamrpnplus-vot").box_policy == "siamdw-vot"
    assert load_spec("siamfc").box_policy == "siamfc-pytorch"


def test_unknown_policy_is_an_input_error(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nadapter: siamfc\nbox_policy: pysott\n")
    with pytest.raises(InputError, match="box_policy"):
        parse_spec(path)


def test_policy_enters_the_spec_hash_and_default_follows_the_adapter():
    plain = TrackerSpec(name="t", adapter="siamfc")
    named = TrackerSpec(name="t", adapter="siamfc", box_policy="siamfc-pytorch")
    other = TrackerSpec(name="t", adapter="siamfc", box_policy="pysot")
    assert plain.spec_hash() == named.spec_hash() != other.spec_hash()


class _Still(Tracker):
    """Reports its init box (as its original would write it) on every frame."""

    def init(self, frame, box):
        self.center, self.size = self.box_policy.start(box)

    def track(self, frame):
        w, h = self.size
        box = np.array([self.center[0] - w / 2, self.center[1] - h / 2, w, h])
        return TrackResult(self.box_policy.written(box), 1.0)


class _Seq:
    name = "couple"
    groundtruth = np.array([COUPLE, COUPLE], dtype=float)

    def init_box(self):
        return axis_aligned(self.groundtruth[0])


@pytest.mark.parametrize("policy", ["pysot", "siamdw-otb", "dasiamrpn-otb"])
def test_ope_writes_the_originals_first_line_and_boxes(policy):
    tracker = _Still()
    tracker.box_policy = BOX_POLICIES[policy]
    frames = [FRAME[:240, :320]] * 2
    boxes = run_ope(tracker, _Seq(), frames).boxes
    expected_first = BOX_POLICIES[policy].first_line(_Seq().init_box())
    np.testing.assert_array_equal(boxes[0], expected_first)
    # the still tracker's second box: centre and size of its original's start, written back
    expected = {"pysot": [51, 47, 25, 62], "siamdw-otb": [51, 47, 25, 62], "dasiamrpn-otb": [50.5, 47, 25, 62]}
    np.testing.assert_allclose(boxes[1], expected[policy])


def test_trackers_without_a_policy_run_under_pysots():
    assert box_policy_of(object()) is PYSOT_BOXES
    assert box_policy_of(_Still()) is PYSOT_BOXES
