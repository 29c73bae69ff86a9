"""The ``siamfcplus`` and ``siamrpnplus`` adapters: SiamDW's rounding, pyramid, peak, penalty."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.models import create_model
from siambench.trackers.registry import TrackerSpec, create_tracker
from siambench.trackers.rpn_loop import select_proposal as rpnplus_select
from siambench.trackers.siamdw import (
    FCPlusConfig,
    RPNPlusConfig,
    SiamFCPlusTracker,
    SiamRPNPlusTracker,
    cxy_wh_to_rect,
    fcplus_peak,
    rpnplus_scores,
    scale_pyramid,
)

torch.set_num_threads(1)


class StubFC(nn.Module):
    """Returns fixed (n, 1, 17, 17) responses; records search crops."""

    def __init__(self, responses: np.ndarray) -> None:
        super().__init__()
        self.responses = torch.from_numpy(responses.astype(np.float32))
        self.searches: list[torch.Tensor] = []

    def make_template(self, z: torch.Tensor) -> None:
        self.z = z

    def track_with(self, template, x: torch.Tensor) -> torch.Tensor:
        self.searches.append(x)
        return self.responses[:, None]


class StubRPN(nn.Module):
    """Returns fixed 'thinner' (1, 5, S, S) logits and (1, 20, S, S) deltas."""

    def __init__(self, cls: np.ndarray, loc: np.ndarray) -> None:
        super().__init__()
        self.cls = torch.from_numpy(cls.astype(np.float32))[None]
        self.loc = torch.from_numpy(loc.astype(np.float32))[None]
        self.searches: list[torch.Tensor] = []

    def make_template(self, z: torch.Tensor) -> None:
        self.z = z

    def track_with(self, template, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.searches.append(x)
        return self.cls, self.loc


# --------------------------------------------------------------------------- rounding and crops


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2.5, 3.0), (3.5, 4.0), (-2.5, -3.0), (2.4, 2.0), (2.6, 3.0), (160.5, 161.0), (7.0, 7.0)],
)
def test_python2round_sends_halves_away_from_zero(value, expected):
    assert ops.python2round(value) == expected
    assert round(2.5) == 2  # whereas Python 3 rounds to even


def test_pyramid_at_unit_scale_is_the_banker_rounded_crop():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (400, 500, 3), dtype=np.uint8)
    # cx - (255 + 1) / 2 = 72.5 -> round() gives 72 (pysot's floor(x + 0.5) would give 73)
    crops = scale_pyramid(image, (200.5, 150.0), [255.0, 255.0, 255.0], 255, ops.channel_mean(image))
    assert crops.shape == (3, 255, 255, 3)
    for crop in crops:
        np.testing.assert_array_equal(crop, image[22:277, 72:327])


def test_pyramid_scales_magnify_by_out_over_side():
    image = np.zeros((600, 600, 3), np.uint8)
    image[280:320, 280:320] = 255  # a 40-pixel white square centred on (299.5, 299.5)
    crops = scale_pyramid(image, (299.5, 299.5), [100.0, 120.0, 144.0], 255, np.zeros(3))
    widths = [(crop[127, :, 0] > 127).sum() for crop in crops]
    for width, side in zip(widths, (100, 120, 144), strict=True):
        assert abs(width - 40 * 255 / side) <= 2


# --------------------------------------------------------------------------- SiamFC+


def test_fcplus_config_follows_siamdw_renew():
    assert (FCPlusConfig().exemplar_size, FCPlusConfig().score_size) == (127, 17)
    assert (FCPlusConfig(instance_size=263).exemplar_size, FCPlusConfig(instance_size=263).score_size) == (135, 17)
    np.testing.assert_allclose(FCPlusConfig(scale_step=1.1).scales(), [1 / 1.1, 1, 1.1])
    with pytest.raises(SiambenchError, match="exemplar = instance - 128"):
        FCPlusConfig(instance_size=263, exemplar_size=127)


def test_fcplus_peak_penalises_only_the_maxima():
    responses = np.zeros((3, 4, 4), np.float32)
    responses[0, 0, 0] = 1.0  # x 0.98 = 0.98
    responses[1, 2, 3] = 0.99  # wins
    responses[2, 1, 1] = 0.5
    window = np.full((4, 4), 1 / 16)
    penalties = np.array([0.98, 1.0, 0.98])
    assert fcplus_peak(responses, penalties, window, 0.5) == (1, 2, 3)
    penalties = np.array([0.995, 1.0, 0.995])  # now 0.995 > 0.99
    assert fcplus_peak(responses, penalties, window, 0.5) == (0, 0, 0)


def test_fcplus_track_by_hand():
    cfg = FCPlusConfig(scale_step=1.1, scale_lr=0.5, scale_penalty=0.99, w_influence=0.3)
    responses = np.zeros((3, 17, 17), np.float32)
    responses[2, 5, 12] = 3.0  # the largest scale wins
    tracker = SiamFCPlusTracker(StubFC(responses), cfg)
    frame = np.full((300, 400, 3), 50, np.uint8)
    tracker.init(frame, np.array([200.0, 100.0, 40.0, 60.0]))
    # s_z = round(sqrt((40 + 50) * (60 + 50))) = round(99.499) = 99; s_x = 99 * 255 / 127
    s_x = 99 + 2 * 64 / (127 / 99)
    assert tracker.s_x == pytest.approx(s_x)

    result = tracker.track(frame)
    upsampled = ops.upsample_responses(responses, 272)
    window = ops.cosine_window(272, normalize=True)
    best, row, col = fcplus_peak(upsampled, np.array([0.99, 1, 0.99]), window, 0.3)
    assert best == 2
    center = np.array([200 + 39 / 2, 100 + 59 / 2])
    # displacement from ceil(272 / 2) = 136, with the search size before the update
    center = center + (np.array([col, row]) - 136) * 8 / 16 * s_x / 255
    w, h = 0.5 * 40 + 0.5 * 40 * 1.1, 0.5 * 60 + 0.5 * 60 * 1.1
    np.testing.assert_allclose(result.box, [center[0] - w / 2, center[1] - h / 2, w, h])
    assert tracker.s_x == pytest.approx(0.5 * s_x + 0.5 * s_x * 1.1)
    assert result.score == pytest.approx(1 / (1 + math.exp(-float(upsampled[2, row, col]))))


def test_fcplus_search_size_is_clamped_to_a_fifth():
    cfg = FCPlusConfig(scale_step=2.0, scale_lr=1.0, scale_penalty=1.0, w_influence=0.0)
    responses = np.zeros((3, 17, 17), np.float32)
    responses[0, 8, 8] = 1.0  # always the smallest scale: halve the search size per frame
    tracker = SiamFCPlusTracker(StubFC(responses), cfg)
    frame = np.full((300, 300, 3), 50, np.uint8)
    tracker.init(frame, np.array([130.0, 130.0, 40.0, 40.0]))
    s_x0 = tracker.s_x
    for expected in (s_x0 / 2, s_x0 / 4, 0.2 * s_x0, 0.2 * s_x0):
        tracker.track(frame)
        assert tracker.s_x == pytest.approx(expected)
    assert tracker.size[0] == 10.0  # target size clipped at 10 pixels


def test_output_box_is_clamped_at_the_origin():
    np.testing.assert_allclose(cxy_wh_to_rect(np.array([5.0, 30.0]), np.array([20.0, 10.0])), [0, 25, 20, 10])


# --------------------------------------------------------------------------- SiamRPN+


def test_size_change_penalty_by_hand():
    # previous target 64 x 64 in crop pixels; A keeps it, B doubles the width
    pred = np.array([[0.0, 0.0], [0.0, 0.0], [64.0, 128.0], [64.0, 64.0]])
    score = np.array([0.8, 0.9])
    window = np.zeros(2)
    # B: s_c = sqrt(224 * 160) / 128 = 1.479020, r_c = 2 -> penalty exp(-(2 * 1.479020 - 1) k)
    best, penalty = rpnplus_select(score, pred, window, (64.0, 64.0), 0.055, 0.0)
    assert penalty[0] == pytest.approx(1.0)
    assert penalty[1] == pytest.approx(math.exp(-1.958040 * 0.055), rel=1e-6)
    assert best == 1  # 0.9 * 0.89790 = 0.8081 > 0.8
    best, penalty = rpnplus_select(score, pred, window, (64.0, 64.0), 0.2, 0.0)
    assert penalty[1] == pytest.approx(math.exp(-1.958040 * 0.2), rel=1e-6)
    assert best == 0  # 0.9 * 0.67596 = 0.6084 < 0.8
    # the window influence blends in the window: (1 - wi) * p + wi * w
    best, _ = rpnplus_select(score, pred, np.array([1.0, 0.0]), (64.0, 64.0), 0.055, 0.5)
    assert best == 0


def test_scores_thinner_sigmoid_thicker_softmax():
    thinner = torch.tensor([0.0, math.log(3.0)]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(rpnplus_scores(thinner, "thinner"), [0.5, 0.75], rtol=1e-6)
    # thicker: background channel first, then foreground
    thicker = torch.tensor([0.0, math.log(3.0)]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(rpnplus_scores(thicker, "thicker"), [0.75], rtol=1e-6)


def test_rpnplus_track_by_hand():
    side = 17
    cls = np.full((5, side, side), -20.0)
    cls[2, 8, 10] = 2.0  # ratio-1 anchor (64 x 64), two cells right of the centre
    loc = np.zeros((20, side, side))
    loc[2 * 5 + 2, 8, 10] = math.log(1.25)  # dw: 25% wider than the anchor
    cfg = RPNPlusConfig(penalty_k=0.1, window_influence=0.0, lr=0.5)
    tracker = SiamRPNPlusTracker(StubRPN(cls, loc), cfg)
    frame = np.full((300, 300, 3), 50, np.uint8)
    tracker.init(frame, np.array([130.5, 130.5, 40.0, 40.0]))  # centre (150, 150)
    result = tracker.track(frame)

    # s_z = sqrt(80 * 80) = 80; scale_z = 127 / 80; s_x = 80 + 128 * 80 / 127 = 160.63 -> 161
    assert tracker.model.searches[0].shape == (1, 3, 255, 255)
    scale_z = 127 / 80
    pred_w, pred_h = 80.0, 64.0  # anchor 64 x 64, width x 1.25, in crop pixels
    prev = 40 * scale_z
    s_c = math.sqrt((pred_w + 72) * (pred_h + 72)) / math.sqrt((prev + prev) * (prev + prev))
    r_c = 1.25
    penalty = math.exp(-(r_c * s_c - 1) * 0.1)
    score = 1 / (1 + math.exp(-2.0))
    lr = penalty * score * 0.5
    cx = 150 + 16 / scale_z  # anchor centre (10 - 8) * 8 crop pixels to the right
    w = 40 * (1 - lr) + pred_w / scale_z * lr
    h = 40 * (1 - lr) + pred_h / scale_z * lr
    np.testing.assert_allclose(result.box, [cx - w / 2, 150 - h / 2, w, h], rtol=1e-6)
    assert result.score == pytest.approx(score, rel=1e-6)


def test_small_targets_get_the_larger_search_region():
    cfg = RPNPlusConfig(instance_size=271, small_target_instance_size=287)
    side = (287 - 127) // 8 + 1  # 21
    tracker = SiamRPNPlusTracker(StubRPN(np.zeros((5, side, side)), np.zeros((20, side, side))), cfg)
    frame = np.full((480, 640, 3), 50, np.uint8)
    tracker.init(frame, np.array([300.0, 200.0, 20.0, 30.0]))  # 600 / 307200 < 0.004
    assert tracker.instance_size == 287
    tracker.track(frame)
    assert tracker.model.searches[0].shape[-1] == 287
    assert tracker.grid(287)[0].shape == (5 * 21 * 21, 4)
    tracker.init(frame, np.array([300.0, 200.0, 60.0, 40.0]))  # 2400 / 307200 >= 0.004
    assert tracker.instance_size == 271


def test_rpnplus_crop_sizes_use_python2_rounding(monkeypatch):
    sides = []
    crop = ops.get_subwindow

    def recording(image, center, model_size, original_size, avg, rounding="half_up"):
        sides.append((original_size, rounding))
        return crop(image, center, model_size, original_size, avg, rounding)

    monkeypatch.setattr(ops, "get_subwindow", recording)
    tracker = SiamRPNPlusTracker(StubRPN(np.zeros((5, 17, 17)), np.zeros((20, 17, 17))), RPNPlusConfig())
    frame = np.zeros((100, 100, 3), np.uint8)
    # w = h = 1.25: s_z = sqrt((1.25 + 1.25) ** 2) = 2.5 -> 3 (Python 3's round() gives 2)
    tracker.init(frame, np.array([40.0, 40.0, 1.25, 1.25]))
    tracker.track(frame)
    # s_x = 2.5 + 128 / (127 / 2.5) = 5.0197 -> 5
    assert sides == [(3.0, "python"), (5.0, "python")]


# --------------------------------------------------------------------------- adapters


def test_benchmark_rows_and_overrides():
    spec = TrackerSpec(name="t", adapter="siamfcplus", model={"arch": "SiamFCIncep22"},
                       hyper={"benchmark": "OTB2015"})
    tracker = create_tracker(spec, device="cpu", random_init=True)
    assert tracker.config.scale_step == 1.1832
    assert (tracker.config.instance_size, tracker.config.exemplar_size) == (263, 135)
    spec = TrackerSpec(name="t", adapter="siamrpnplus", hyper={"benchmark": "vot2018", "lr": 0.5})
    tracker = create_tracker(spec, device="cpu", random_init=True)
    assert (tracker.config.penalty_k, tracker.config.lr) == (0.038, 0.5)  # VOT2017 row, lr overridden
    assert tracker.config.small_target_instance_size == 287
    spec = TrackerSpec(name="t", adapter="siamfcplus", model={"arch": "SiamFCRes22W"},
                       hyper={"benchmark": "OTB2015"})
    with pytest.raises(SiambenchError, match="no 'OTB2015' hyper-parameters"):
        create_tracker(spec, device="cpu", random_init=True)


@pytest.mark.parametrize(
    ("adapter", "model", "hyper", "message"),
    [
        ("siamfcplus", {"arch": "AlexNet"}, {}, "arch must be one of"),
        ("siamfcplus", {}, {"scale_steps": 1.0}, "unknown hyper key"),
        ("siamfcplus", {}, {"windowing": "gaussian"}, "windowing must be"),
        ("siamrpnplus", {"cls_type": "medium"}, {}, "cls_type must be"),
        ("siamrpnplus", {}, {"ratios": [1, 2]}, "2 anchors but the model has anchor_num 5"),
    ],
)
def test_bad_specs_are_reported(adapter, model, hyper, message):
    spec = TrackerSpec(name="bad", adapter=adapter, model=model, hyper=hyper)
    with pytest.raises(SiambenchError, match=message):
        create_tracker(spec, device="cpu", random_init=True)


@pytest.mark.parametrize("name", ["siamfcplus", "siamrpnplus-vot"])
def test_two_runs_give_identical_trajectories(name):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (160, 200, 3), dtype=np.uint8) for _ in range(3)]
    box = np.array([80.0, 60.0, 30.0, 40.0])
    tracker = create_tracker(name, device="cpu", random_init=True)
    runs = []
    for _ in range(2):
        tracker.init(frames[0], box)
        runs.append([tracker.track(f) for f in frames[1:]])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.box, b.box)
        assert a.score == b.score
    assert tracker.model_seconds > 0


def test_weights_file_is_loaded_into_the_tracker(tmp_path):
    torch.manual_seed(5)
    source = create_model("siamfcres22")
    path = tmp_path / "CIResNet22.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    spec = TrackerSpec(name="t", adapter="siamfcplus", model={"fuse_bn": False})
    tracker = create_tracker(spec, device="cpu", weights=path)
    for key, value in source.state_dict().items():
        assert torch.equal(tracker.model.state_dict()[key], value), key
