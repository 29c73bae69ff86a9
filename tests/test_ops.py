"""siambench.ops against values worked out by hand from pysot's definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from siambench import ops

torch.set_num_threads(1)

RATIOS = [0.33, 0.5, 1, 2, 3]


def _ramp_image(height: int = 10, width: int = 12) -> np.ndarray:
    """Pixel (y, x) of channel c holds 10*y + x + c (distinct, easy to read back)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([10 * yy + xx + c for c in range(3)], axis=2).astype(np.uint8)


# --------------------------------------------------------------------------- crops


def test_channel_mean_is_per_channel_float() -> None:
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, 0] = (4, 8, 255)
    assert np.allclose(ops.channel_mean(image), [1.0, 2.0, 63.75])


def test_interior_crop_is_a_plain_slice() -> None:
    image = _ramp_image()
    # size 5, centre (6, 4): c = 3, xmin = floor(6 - 3 + 0.5) = 3, ymin = floor(1.5) = 1
    patch = ops.crop_patch(image, (6.0, 4.0), 5, 5, ops.channel_mean(image))
    assert np.array_equal(patch, image[1:6, 3:8])


def test_crop_at_corner_pads_with_truncated_channel_mean() -> None:
    image = _ramp_image()
    avg = np.array([100.7, 20.2, 3.9])  # uint8 canvas truncates: 100, 20, 3
    patch = ops.crop_patch(image, (0.0, 0.0), 5, 5, avg)
    # xmin = ymin = floor(0 - 3 + 0.5) = -3: three padded rows and columns, then pixels 0..1
    assert patch.shape == (5, 5, 3)
    assert np.array_equal(patch[3:, 3:], image[0:2, 0:2])
    for region in (patch[:3, :], patch[:, :3]):
        assert np.array_equal(region, np.broadcast_to([100, 20, 3], region.shape))


def test_crop_past_far_corner_and_fully_outside() -> None:
    image = _ramp_image()
    avg = np.array([7.0, 7.0, 7.0])
    patch = ops.crop_patch(image, (11.0, 9.0), 4, 4, avg)
    # c = 2.5: xmin = floor(9) = 9 .. 12, ymin = floor(7) = 7 .. 10
    assert np.array_equal(patch[:3, :3], image[7:10, 9:12])
    assert (patch[3, :] == 7).all() and (patch[:, 3] == 7).all()
    outside = ops.crop_patch(image, (100.0, 100.0), 4, 4, avg)
    assert (outside == 7).all()


def _crop_on_padded_canvas(image, center, size, avg):
    """The crop as pysot makes it: pad the whole image with the mean, then slice the square."""
    half = (size + 1) / 2
    xmin, ymin = math.floor(center[0] - half + 0.5), math.floor(center[1] - half + 0.5)
    pad = size + 100  # wider than any square the test asks for reaches past the image
    canvas = np.empty((image.shape[0] + 2 * pad, image.shape[1] + 2 * pad, 3), np.uint8)
    canvas[:] = avg  # float into uint8: truncated
    canvas[pad:-pad, pad:-pad] = image
    return canvas[ymin + pad : ymin + pad + size, xmin + pad : xmin + pad + size]


def test_crop_equals_the_padded_canvas_crop_anywhere() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    avg = ops.channel_mean(image)
    for _ in range(300):
        size = int(rng.integers(1, 90))
        center = rng.uniform(-20, 75, size=2)
        got = ops.crop_patch(image, center, size, size, avg)
        assert np.array_equal(got, _crop_on_padded_canvas(image, center, size, avg)), (size, center)


def test_crop_rounding_modes_differ_only_on_halves() -> None:
    image = _ramp_image()
    avg = np.zeros(3)
    # size 2, centre 2.0: c = 1.5, x - c = 0.5 -> half_up 1, Python 3 round 0 (to even)
    up = ops.crop_patch(image, (2.0, 5.0), 2, 2, avg, rounding="half_up")
    even = ops.crop_patch(image, (2.0, 5.0), 2, 2, avg, rounding="python")
    assert up[0, 0, 0] == image[4, 1, 0] and even[0, 0, 0] == image[4, 0, 0]
    # not a half: both agree
    a = ops.crop_patch(image, (2.2, 5.0), 2, 2, avg, rounding="half_up")
    b = ops.crop_patch(image, (2.2, 5.0), 2, 2, avg, rounding="python")
    assert np.array_equal(a, b)
    with pytest.raises(ValueError):
        ops.crop_patch(image, (2.0, 5.0), 2, 2, avg, rounding="floor")  # type: ignore[arg-type]


def test_get_subwindow_resizes_and_returns_nchw_float_bgr() -> None:
    image = np.zeros((40, 40, 3), np.uint8)
    image[..., 0] = 200  # B stays in channel 0: no BGR -> RGB swap
    out = ops.get_subwindow(image, (20.0, 20.0), 16, 8, ops.channel_mean(image))
    assert out.shape == (1, 3, 16, 16) and out.dtype == torch.float32
    assert torch.all(out[0, 0] == 200) and torch.all(out[0, 1:] == 0)


# --------------------------------------------------------------------------- xcorr


def test_xcorr_small_example_by_hand() -> None:
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    k = torch.ones(1, 1, 2, 2)
    expected = torch.tensor([[[[8.0, 12.0], [20.0, 24.0]]]])  # sums of 2x2 windows
    assert torch.equal(ops.xcorr_slow(x, k), expected)
    assert torch.equal(ops.xcorr_fast(x, k), expected)
    assert torch.equal(ops.xcorr_depthwise(x, k), expected)


def test_xcorr_variants_against_per_sample_convolution() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 9, 9, generator=gen)
    z = torch.randn(2, 4, 3, 3, generator=gen)
    slow = ops.xcorr_slow(x, z)
    assert slow.shape == (2, 1, 7, 7)
    assert torch.allclose(ops.xcorr_fast(x, z), slow, atol=1e-5)
    # up-channel: kernel carries 3 filters of 4 channels per sample
    up = torch.randn(2, 12, 3, 3, generator=gen)
    fast = ops.xcorr_fast(x, up)
    for b in range(2):
        ref = F.conv2d(x[b : b + 1], up[b].reshape(3, 4, 3, 3))
        assert torch.allclose(fast[b : b + 1], ref, atol=1e-5)
    depth = ops.xcorr_depthwise(x, z)
    assert depth.shape == (2, 4, 7, 7)
    for b in range(2):
        for c in range(4):
            ref = F.conv2d(x[b : b + 1, c : c + 1], z[b : b + 1, c : c + 1])
            assert torch.allclose(depth[b, c], ref[0, 0], atol=1e-5)


# --------------------------------------------------------------------------- anchors, window


def test_base_anchor_shapes_for_stride_8() -> None:
    shapes = ops.base_anchors(8, RATIOS, [8])
    # ws = int(sqrt(64 / r)), hs = int(ws * r), times scale 8
    assert shapes[:, 2].tolist() == [104, 88, 64, 40, 32]
    assert shapes[:, 3].tolist() == [32, 40, 64, 80, 96]
    assert (shapes[:, :2] == 0).all()


def test_anchors_for_25x25_map_with_5_ratios() -> None:
    anchors = ops.generate_anchors(8, RATIOS, [8], 25)
    assert anchors.shape == (5 * 25 * 25, 4) and anchors.dtype == np.float32
    # anchor-major: row a*625 + y*25 + x; centres from -(25//2)*8 = -96 to +96
    assert anchors[0].tolist() == [-96, -96, 104, 32]
    assert anchors[24].tolist() == [96, -96, 104, 32]
    assert anchors[25].tolist() == [-96, -88, 104, 32]
    assert anchors[2 * 625 + 12 * 25 + 12].tolist() == [0, 0, 64, 64]
    assert anchors[4 * 625 + 3 * 25 + 7].tolist() == [-96 + 56, -96 + 24, 32, 96]
    assert anchors[-1].tolist() == [96, 96, 32, 96]


def test_anchor_origin_uses_integer_division() -> None:
    # 21x21 (AlexNet, instance 287): -(21 // 2) * 8 = -80; 19x19 (DaSiamRPN 271): -72
    assert ops.generate_anchors(8, RATIOS, [8], 21)[0, :2].tolist() == [-80, -80]
    assert ops.generate_anchors(8, RATIOS, [8], 19)[0, :2].tolist() == [-72, -72]
    assert ops.score_size(287, 127, 8, 0) == 21
    assert ops.score_size(255, 127, 8, 8) == 25
    assert ops.score_size(271, 127, 8, 0) == 19


def test_cosine_window() -> None:
    window = ops.cosine_window(5)
    # hanning(5) = [0, .5, 1, .5, 0]
    assert window[2, 2] == 1.0 and window[0, :].max() == 0.0
    assert window[1, 2] == pytest.approx(0.5) and window[1, 1] == pytest.approx(0.25)
    tiled = ops.cosine_window(5, repeat=3)
    assert tiled.shape == (75,) and np.array_equal(tiled[25:50], window.ravel())
    assert ops.cosine_window(5, normalize=True).sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- decoding


def test_rpn_output_layout() -> None:
    # A=2 anchors on a 2x2 map: cls channels [bg a0, bg a1, fg a0, fg a1]
    cls = torch.zeros(1, 4, 2, 2)
    cls[0, 3, 1, 0] = math.log(3.0)  # anchor 1, y=1, x=0: softmax(0, log 3) -> 0.75
    scores = ops.rpn_scores(cls)
    assert scores.shape == (8,)
    assert scores[1 * 4 + 1 * 2 + 0] == pytest.approx(0.75)
    assert np.allclose(np.delete(scores, 6), 0.5)
    # A=2 on a 1x2 map: channel 2k+a holds delta k of anchor a, value = 2*channel + x
    loc = torch.arange(16.0).reshape(1, 8, 1, 2)
    deltas = ops.rpn_deltas(loc)
    assert deltas.shape == (4, 4)
    assert deltas[0].tolist() == [0, 1, 2, 3] and deltas[3].tolist() == [12, 13, 14, 15]


def test_decode_deltas() -> None:
    anchors = np.array([[0, 0, 64, 64], [8, -8, 32, 96]], dtype=np.float32)
    assert np.array_equal(ops.decode_deltas(np.zeros((4, 2), np.float32), anchors), anchors.T)
    deltas = np.array([[0.5, -1], [0.25, 0], [math.log(2), 0], [0, math.log(0.5)]], np.float32)
    boxes = ops.decode_deltas(deltas, anchors)
    assert np.allclose(boxes[:, 0], [32, 16, 128, 64])
    assert np.allclose(boxes[:, 1], [-24, -8, 32, 48])


def test_change_sz_and_penalty() -> None:
    assert ops.change(2.0) == 2.0 and ops.change(0.5) == 2.0 and ops.change(1.0) == 1.0
    assert ops.sz(10.0, 10.0) == pytest.approx(20.0)  # pad 10: sqrt(20 * 20)
    assert ops.sz(4.0, 2.0) == pytest.approx(math.sqrt(35))  # pad 3: sqrt(7 * 5)
    same = ops.size_change_penalty(np.array([10.0]), np.array([10.0]), 10.0, 10.0, 0.3)
    assert same[0] == pytest.approx(1.0)
    # 20x10 against 10x10: s_c = sqrt(35*25)/20, r_c = 2
    pen = ops.size_change_penalty(np.array([20.0]), np.array([10.0]), 10.0, 10.0, 0.1)
    s_c = math.sqrt(35 * 25) / 20
    assert pen[0] == pytest.approx(math.exp(-(2 * s_c - 1) * 0.1))
    assert ops.size_change_penalty(np.array([20.0]), np.array([10.0]), 10.0, 10.0, 0.0)[0] == 1.0
    # the previous size is scaled into prediction units; the aspect ratio does not depend on it
    scaled = ops.size_change_penalty(np.array([20.0]), np.array([10.0]), 5.0, 5.0, 0.1, scale=2.0)
    assert scaled[0] == pytest.approx(pen[0])


def test_clip_box() -> None:
    assert ops.clip_box(-5, 300, 2, 500, (240, 320)) == (0.0, 240.0, 10.0, 240.0)
    assert ops.clip_box(50, 60, 30, 40, (240, 320)) == (50.0, 60.0, 30.0, 40.0)
    assert ops.clip_box(400, -1, 1000, 5, (240, 320)) == (320.0, 0.0, 320.0, 10.0)


def test_device_crop_equals_the_opencv_crop_within_one_grey_level():
    """Crops of a uint8 tensor frame (the engine's device-side crop, here on the CPU) against
    OpenCV's, at random centres and sides, many of them reaching past the border."""
    rng = np.random.default_rng(9)
    past_border = 0
    for _ in range(150):
        h, w = (int(v) for v in rng.integers(20, 160, 2))
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        center = rng.uniform(-40, [w + 40, h + 40])
        side = float(rng.uniform(1, 300))
        out = int(rng.choice([31, 127, 255]))
        rounding = str(rng.choice(["half_up", "python"]))
        avg = ops.channel_mean(image)
        want = ops.crop_patch(image, center, out, side, avg, rounding).astype(int)
        got = ops.crop_patch(ops.frame_tensor(image, "cpu"), center, out, side, avg, rounding)
        assert got.dtype == torch.uint8 and tuple(got.shape) == want.shape
        assert np.abs(got.numpy().astype(int) - want).max() <= 1
        past_border += bool(center[0] - side / 2 < 0 or center[0] + side / 2 > w)
    assert past_border > 30
    assert np.allclose(ops.channel_mean(ops.frame_tensor(image, "cpu")), ops.channel_mean(image))
