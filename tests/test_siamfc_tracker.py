"""The ``siamfc`` adapter: siamfc-pytorch's crop, peak, scale and colour handling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from siambench import ops
from siambench.errors import SiambenchError
from siambench.trackers.registry import TrackerSpec, create_tracker
from siambench.trackers.siamfc import SiamFCConfig, SiamFCTracker, crop_siamfc, siamfc_peak

torch.set_num_threads(1)


def coded_image(height: int = 60, width: int = 80) -> np.ndarray:
    """Every pixel different: B = x, G = y, R = 7."""
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = np.arange(width)[None, :]
    image[..., 1] = np.arange(height)[:, None]
    image[..., 2] = 7
    return image


class StubFC(nn.Module):
    """Records inputs; returns fixed (n, 1, 17, 17) responses."""

    def __init__(self, responses: np.ndarray) -> None:
        super().__init__()
        self.responses = torch.from_numpy(responses.astype(np.float32))
        self.templates: list[torch.Tensor] = []
        self.searches: list[torch.Tensor] = []

    def make_template(self, z: torch.Tensor) -> torch.Tensor:
        self.templates.append(z.clone())
        return z

    def track_with(self, template, x: torch.Tensor) -> torch.Tensor:
        self.searches.append(x.clone())
        return self.responses[:, None]


@pytest.mark.parametrize(
    ("center", "size", "first"),
    [
        (10.0, 5, 8),  # round(10 - 2) = 8
        (10.5, 4, 9),  # round(10.5 - 1.5) = 9
        (10.0, 4, 8),  # round(8.5) = 8: Python 3 rounds halves to even
        (11.0, 4, 10),  # round(9.5) = 10
        (10.0, 4.6, 8),  # side round(4.6) = 5, round(10 - 2) = 8
    ],
)
def test_crop_corner_follows_siamfc_pytorch(center, size, first):
    image = coded_image()
    patch = crop_siamfc(image, np.array([center, 30.0]), size, round(size), np.zeros(3))
    side = round(size)
    assert patch.shape == (side, side, 3)
    assert patch[0, 0, 0] == first  # B channel holds x
    assert patch[0, -1, 0] == first + side - 1


def test_crop_pads_with_rounded_mean():
    image = coded_image()
    patch = crop_siamfc(image, np.array([0.0, 0.0]), 5, 5, np.array([1.0, 2.0, 3.0]))
    # first pixel round(0 - 2) = -2: two padded columns and rows on the left and top
    assert patch[0, 0].tolist() == [1, 2, 3]
    assert patch[2, 2].tolist() == [0, 0, 7]


def test_peak_penalises_side_scales_and_windows():
    cfg = SiamFCConfig(scale_num=3, scale_penalty=0.97, window_influence=0.0)
    responses = np.zeros((3, 5, 5), np.float32)
    responses[0, 1, 1] = 1.0  # penalised to 0.97
    responses[1, 3, 2] = 0.98  # centre scale, not penalised: wins
    responses[2, 0, 4] = 0.99  # penalised to 0.9603
    window = ops.cosine_window(5, normalize=True)
    assert siamfc_peak(responses, cfg, window) == (1, 3, 2)
    # a strong window pulls the peak of a flat-topped map to the centre
    flat = np.zeros((3, 5, 5), np.float32)
    flat[1, 1:4, 1:4] = 1.0
    flat[1, 1, 1] = 1.001
    assert siamfc_peak(flat, SiamFCConfig(window_influence=0.0), window)[1:] == (1, 1)
    assert siamfc_peak(flat, SiamFCConfig(window_influence=0.5), window)[1:] == (2, 2)


def test_displacement_and_scale_update_by_hand():
    cfg = SiamFCConfig()
    responses = np.zeros((3, 17, 17), np.float32)
    responses[0, 6, 11] = 2.0  # smallest scale wins even after the 0.9745 penalty
    responses[1, 8, 8] = 1.0
    tracker = SiamFCTracker(StubFC(responses), cfg, rgb=False)
    frame = np.full((300, 400, 3), 90, np.uint8)
    tracker.init(frame, np.array([100.0, 80.0, 40.0, 60.0]))
    center0 = np.array([100 + 39 / 2, 80 + 59 / 2])
    z_sz = math.sqrt((40 + 50) * (60 + 50))
    x_sz = z_sz * 255 / 127
    assert tracker.x_sz == pytest.approx(x_sz)

    result = tracker.track(frame)
    upsampled = ops.upsample_responses(responses, 272)
    _, row, col = siamfc_peak(upsampled, cfg, tracker.window)
    factor = 1.0375**-1
    expected_center = center0 + (np.array([col, row]) - 135.5) * 8 / 16 * x_sz * factor / 255
    scale = 0.41 + 0.59 * factor
    w, h = 40 * scale, 60 * scale
    np.testing.assert_allclose(
        result.box, [expected_center[0] - (w - 1) / 2, expected_center[1] - (h - 1) / 2, w, h]
    )
    assert tracker.x_sz == pytest.approx(x_sz * scale)
    assert tracker.z_sz == pytest.approx(z_sz * scale)
    # the three search crops have sides x_sz * 1.0375 ** (-1, 0, 1), resized to 255
    assert tracker.model.searches[0].shape == (3, 3, 255, 255)
    assert 0.5 < result.score < 1.0  # sigmoid of a raw response value


def test_rgb_weights_see_rgb_frames():
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[..., 0] = 200  # blue in OpenCV's BGR order
    box = np.array([40.0, 40.0, 20.0, 20.0])
    seen = {}
    for rgb in (True, False):
        tracker = SiamFCTracker(StubFC(np.zeros((3, 17, 17))), SiamFCConfig(), rgb=rgb)
        tracker.init(frame, box)
        seen[rgb] = tracker.model.templates[0][0, :, 60, 60].tolist()
    assert seen[False] == [200.0, 0.0, 0.0]
    assert seen[True] == [0.0, 0.0, 200.0]


def test_random_init_runs_are_identical():
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(4)]
    box = np.array([60.0, 40.0, 30.0, 24.0])

    def run():
        tracker = create_tracker("siamfc", device="cpu", random_init=True)
        tracker.init(frames[0], box)
        return [tracker.track(f) for f in frames[1:]], tracker

    first, tracker = run()
    second, _ = run()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.box, b.box)
        assert a.score == b.score
    assert tracker.model_seconds > 0


@pytest.mark.parametrize(
    ("model", "hyper", "message"),
    [
        ({"backbone": "resnet"}, {}, "backbone must be 'alexnet_v1'"),
        ({"input_color": "hsv"}, {}, "input_color must be"),
        ({"depth": 3}, {}, "unknown model key"),
        ({}, {"scale_steps": 1.1}, "unknown hyper key"),
    ],
)
def test_bad_spec_is_reported(model, hyper, message):
    spec = TrackerSpec(name="bad", adapter="siamfc", model=model, hyper=hyper)
    with pytest.raises(SiambenchError, match=message):
        create_tracker(spec, device="cpu", random_init=True)


@pytest.mark.parametrize("adapter", ["siamfc", "siamfcplus", "siamrpnplus", "siamrpn"])
def test_channels_last_is_on_unless_the_spec_turns_it_off(adapter):
    """NHWC convolutions by default, on every Siamese adapter; `channels_last: false` keeps NCHW,
    and both give the same response to well within tracking precision."""
    from siambench.trackers.registry import load_spec

    names = {"siamfc": "siamfc", "siamfcplus": "siamfcplus", "siamrpnplus": "siamrpnplus",
             "siamrpn": "siamrpnpp-alex"}
    spec = load_spec(names[adapter])
    off = TrackerSpec(name=f"{spec.name}-nchw", adapter=spec.adapter, model={**spec.model, "channels_last": False},
                      hyper=spec.hyper, box_policy=spec.box_policy)
    nhwc = create_tracker(spec, device="cpu", random_init=True)
    nchw = create_tracker(off, device="cpu", random_init=True)
    assert nhwc.channels_last and not nchw.channels_last
    conv = next(m for m in nhwc.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([120.0, 90.0, 60.0, 50.0])
    nhwc.init(frame, box)
    nchw.init(frame, box)
    moved = np.roll(frame, (4, 6), axis=(0, 1))
    a, b = nhwc.track(moved), nchw.track(moved)
    np.testing.assert_allclose(a.box, b.box, atol=1e-3)
