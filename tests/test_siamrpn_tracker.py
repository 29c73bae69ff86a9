"""The siamrpn adapter's tracking loop: mechanics on a stub network, determinism on real ones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from siambench import ops
from siambench.errors import InputError, SiambenchError
from siambench.trackers.registry import TrackerSpec
from siambench.trackers.siamrpn import SiamRPNConfig, SiamRPNTracker, build

torch.set_num_threads(1)

A, S = 5, 5  # anchors; score size for exemplar 127, instance 159, stride 8, base 0
HYPER = dict(penalty_k=0.0, window_influence=0.0, lr=0.5, instance_size=159, base_size=0)


class StubModel(torch.nn.Module):
    """Returns fixed cls/loc maps and records the crops it is given."""

    def __init__(self, cls: torch.Tensor, loc: torch.Tensor) -> None:
        super().__init__()
        self.cls, self.loc = cls, loc
        self.templates: list[torch.Tensor] = []
        self.searches: list[torch.Tensor] = []

    def make_template(self, z: torch.Tensor) -> None:
        self.templates.append(z.clone())

    def track_with(self, template, x: torch.Tensor):
        self.searches.append(x.clone())
        return self.cls, self.loc


def _maps(best: tuple[int, int, int], fg_logit: float, deltas: tuple[float, ...]):
    """cls with one confident anchor (a, y, x) and loc with `deltas` at every position."""
    a, y, x = best
    cls = torch.zeros(1, 2 * A, S, S)
    cls[0, A:] = -20.0  # every other anchor is background
    cls[0, A + a, y, x] = fg_logit
    loc = torch.zeros(1, 4 * A, S, S)
    for k, value in enumerate(deltas):
        loc[0, k * A : (k + 1) * A] = value
    return cls, loc


def _frame(height: int = 120, width: int = 160, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_stub_update_matches_pysot_formulas() -> None:
    fg = math.log(3.0)  # foreground probability 0.75
    dx, dy, dw, dh = 0.25, -0.5, math.log(1.5), 0.0
    best = (2, 1, 3)  # the square 64x64 anchor, grid cell x=3, y=1
    stub = StubModel(*_maps(best, fg, (dx, dy, dw, dh)))
    tracker = SiamRPNTracker(stub, SiamRPNConfig.from_hyper(HYPER))
    frame = _frame()
    tracker.init(frame, np.array([50.0, 40.0, 30.0, 20.0]))
    center = (50 + 29 / 2, 40 + 19 / 2)  # pysot: x + (w - 1) / 2
    assert np.allclose(tracker.center, center)

    result = tracker.track(frame)
    # by hand: s_z = sqrt((30 + 25) * (20 + 25)), scale_z = 127 / s_z
    s_z = math.sqrt(55 * 45)
    scale_z = 127 / s_z
    anchor_cx, anchor_cy = -16 + 8 * 3, -16 + 8 * 1  # origin -(5 // 2) * 8
    score = 0.75
    lr = score * 0.5  # penalty 1 with penalty_k 0
    cx = center[0] + (dx * 64 + anchor_cx) / scale_z
    cy = center[1] + (dy * 64 + anchor_cy) / scale_z
    width = 30 * (1 - lr) + 1.5 * 64 / scale_z * lr
    height = 20 * (1 - lr) + 64 / scale_z * lr
    assert result.score == pytest.approx(score, rel=1e-6)
    assert np.allclose(result.box, [cx - width / 2, cy - height / 2, width, height])
    assert np.allclose(tracker.size, [width, height])
    # the search crop: round(s_x) with s_x = s_z * 159 / 127, resized to 159
    assert stub.searches[0].shape == (1, 3, 159, 159)
    expected = ops.get_subwindow(frame, center, 159, round(s_z * 159 / 127), ops.channel_mean(frame))
    assert torch.equal(stub.searches[0], expected)
    expected_z = ops.get_subwindow(frame, center, 127, round(s_z), ops.channel_mean(frame))
    assert torch.equal(stub.templates[0], expected_z)


def test_penalty_and_window_steer_the_choice() -> None:
    # two equally confident anchors: the centre cell (window 1) and a corner cell (window 0)
    cls = torch.full((1, 2 * A, S, S), -20.0)
    cls[0, :A] = 0.0
    cls[0, A + 2, 2, 2] = 2.0
    cls[0, A + 2, 0, 0] = 2.0
    loc = torch.zeros(1, 4 * A, S, S)
    hyper = dict(HYPER, window_influence=0.5)
    tracker = SiamRPNTracker(StubModel(cls, loc), SiamRPNConfig.from_hyper(hyper))
    frame = _frame()
    tracker.init(frame, np.array([60.0, 50.0, 20.0, 20.0]))
    before = tracker.center.copy()
    tracker.track(frame)
    assert np.allclose(tracker.center, before)  # centre cell wins, zero offset

    # a size change is penalised: same score, the 64x64 anchor (unchanged shape) beats 104x32
    cls = torch.full((1, 2 * A, S, S), -20.0)
    cls[0, :A] = 0.0
    cls[0, A + 0, 2, 2] = 2.0
    cls[0, A + 2, 2, 2] = 2.0
    hyper = dict(HYPER, penalty_k=0.5)
    tracker = SiamRPNTracker(StubModel(cls, loc), SiamRPNConfig.from_hyper(hyper))
    tracker.init(frame, np.array([60.0, 50.0, 20.0, 20.0]))
    tracker.track(frame)
    assert tracker.size[0] == pytest.approx(tracker.size[1])


def test_clipping_keeps_centre_in_image_and_size_in_bounds() -> None:
    stub = StubModel(*_maps((2, 4, 4), 10.0, (50.0, 50.0, -5.0, 8.0)))
    hyper = dict(HYPER, lr=1.0)
    tracker = SiamRPNTracker(stub, SiamRPNConfig.from_hyper(hyper))
    frame = _frame(100, 140)
    tracker.init(frame, np.array([100.0, 70.0, 20.0, 15.0]))
    result = tracker.track(frame)
    cx, cy = result.box[0] + result.box[2] / 2, result.box[1] + result.box[3] / 2
    assert (cx, cy) == (140.0, 100.0)  # far to the bottom right: clipped to the border
    assert result.box[2] == 10.0 and result.box[3] == 100.0  # width >= 10, height <= H


def test_adaptive_instance_size() -> None:
    hyper = dict(HYPER, instance_size=271, small_target_instance_size=287)
    config = SiamRPNConfig.from_hyper(hyper)
    assert config.instance_size_for(10 * 10, 480 * 640) == 287  # < 0.4 % of the image
    assert config.instance_size_for(100 * 100, 480 * 640) == 271
    assert SiamRPNConfig.from_hyper(HYPER).instance_size_for(1, 1e9) == 159


def test_bad_hyper_parameters() -> None:
    with pytest.raises(SiambenchError, match="unknown hyper-parameter.*windw"):
        SiamRPNConfig.from_hyper(dict(HYPER, windw=1))
    with pytest.raises(SiambenchError, match="missing hyper-parameter.*lr"):
        SiamRPNConfig.from_hyper({"penalty_k": 0.1, "window_influence": 0.4})


# --------------------------------------------------------------------------- real networks


ALEX_HYPER = dict(penalty_k=0.16, window_influence=0.40, lr=0.30, instance_size=287, base_size=0)
# a smaller search crop than the released 255 keeps the test fast; the loop is the same
MOBILE_HYPER = dict(penalty_k=0.04, window_influence=0.4, lr=0.5, instance_size=191, base_size=8)


def _spec(arch: str, **model) -> TrackerSpec:
    hyper = MOBILE_HYPER if "mobile" in arch else ALEX_HYPER
    return TrackerSpec(name=f"test-{arch}", adapter="siamrpn", model={"arch": arch, **model}, hyper=hyper)


def _moving_square(n: int = 5) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        frame = np.full((160, 200, 3), 90, np.uint8)
        frame[40 + 3 * i : 70 + 3 * i, 60 + 4 * i : 90 + 4 * i] = texture
        frames.append(frame)
    return frames, np.array([60.0, 40.0, 30.0, 30.0])


def _run(tracker, frames, box) -> np.ndarray:
    tracker.init(frames[0], box)
    return np.array([tracker.track(f).box for f in frames[1:]])


@pytest.mark.parametrize("arch", ["siamrpn_alex_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr"])
def test_random_init_runs_are_identical(arch: str) -> None:
    frames, box = _moving_square()
    first_tracker = build(_spec(arch), "cpu", None, True)
    first = _run(first_tracker, frames, box)
    second = _run(build(_spec(arch), "cpu", None, True), frames, box)
    assert np.array_equal(first, second)
    assert np.isfinite(first).all()
    cx, cy = first[:, 0] + first[:, 2] / 2, first[:, 1] + first[:, 3] / 2
    assert ((cx >= 0) & (cx <= 200) & (cy >= 0) & (cy <= 160)).all()
    assert ((first[:, 2] >= 10) & (first[:, 3] >= 10)).all()
    assert first_tracker.model_seconds > 0


def test_fused_and_unfused_trackers_agree() -> None:
    frames, box = _moving_square(4)
    fused = _run(build(_spec("siamrpn_alex_dwxcorr"), "cpu", None, True), frames, box)
    plain = _run(build(_spec("siamrpn_alex_dwxcorr", fuse_bn=False), "cpu", None, True), frames, box)
    assert np.allclose(fused, plain, atol=1e-3)


def test_weights_are_loaded_and_checked(tmp_path: Path) -> None:
    spec = _spec("siamrpn_alex_dwxcorr", fuse_bn=False)
    donor = build(spec, "cpu", None, True).model
    path = tmp_path / "model.pth"
    torch.save(donor.state_dict(), path)
    loaded = build(spec, "cpu", path, False).model
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in donor.state_dict().items())

    wrong = tmp_path / "mobilenet.pth"
    torch.save(build(_spec("siamrpn_mobilev2_l234_dwxcorr"), "cpu", None, True).model.rpn_head.state_dict(), wrong)
    with pytest.raises(InputError, match="mobilenet.pth.*missing keys"):
        build(spec, "cpu", wrong, False)
    with pytest.raises(SiambenchError, match="no weights"):
        build(spec, "cpu", None, False)


def test_spec_describing_components_and_bad_keys() -> None:
    model = {
        "backbone": {"type": "alexnetlegacy", "kwargs": {"width_mult": 1.0}},
        "neck": None,
        "rpn": {"type": "DepthwiseRPN", "kwargs": {"anchor_num": 5, "in_channels": 256, "out_channels": 256}},
    }
    spec = TrackerSpec(name="c", adapter="siamrpn", model={**model, "fuse_bn": False}, hyper=ALEX_HYPER)
    tracker = build(spec, "cpu", None, True)
    assert sum(p.numel() for p in tracker.model.rpn_head.parameters()) == 2_501_150
    bad = TrackerSpec(
        name="b", adapter="siamrpn", model={**model, "rpn": {"type": "FancyRPN"}}, hyper=ALEX_HYPER
    )
    with pytest.raises(SiambenchError, match="unknown rpn type 'FancyRPN'"):
        build(bad, "cpu", None, True)
    extra = TrackerSpec(name="k", adapter="siamrpn", model={**model, "colour": 1}, hyper=ALEX_HYPER)
    with pytest.raises(SiambenchError, match="unknown model key"):
        build(extra, "cpu", None, True)


def test_bench_trackers_reports_speed(tmp_path: Path) -> None:
    import cv2

    from siambench.bench_trackers import bench_trackers, format_rows

    frames, _ = _moving_square(3)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i + 1:04d}.png"), frame)
    rows = bench_trackers(tmp_path, 3, threads=1, trackers=["siamrpnpp-alex"], repeats=1)
    (row,) = rows
    assert row["tracker"] == "siamrpnpp-alex" and row["instance_size"] == 287 and row["frames"] == 2
    assert row["fps"] > 0 and row["unoptimised_fps"] > 0
    assert 0 <= row["outside_network_share"] < 1
    assert "siamrpnpp-alex" in format_rows(rows)
