"""Region overlap against hand-computed values and against vot-toolkit's own rasteriser."""

from __future__ import annotations

import numpy as np
import pytest

from siambench.regions import (
    axis_aligned,
    centers,
    polygon_to_rect,
    rect_iou,
    vot_overlap,
    vot_overlaps,
    votkit_overlaps,
)


def test_rect_iou_hand_computed():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[5, 5, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]], float)
    # 25 / (100 + 100 - 25)
    np.testing.assert_allclose(rect_iou(a, b), [25 / 175, 0.0, 1.0])


def test_centers_use_the_minus_one_convention():
    np.testing.assert_allclose(centers(np.array([[10, 20, 5, 7]], float)), [[12.0, 23.0]])


def test_vot_overlap_counts_inclusive_pixels():
    # pysot turns [x, y, w, h] into corners x..x+w, which the C rasteriser fills inclusively:
    # 11 x 11 pixels for a 10 x 10 box. Shifted by 5: intersection 6 x 6.
    value = vot_overlap(np.array([0, 0, 10, 10.0]), np.array([5, 5, 10, 10.0]), (100, 100))
    assert value == pytest.approx(np.float32(36 / (121 + 121 - 36)))


def test_vot_overlap_is_bounded_by_the_image():
    # Box hanging off the left edge: only columns 0..5 exist (bound W=100 includes column W).
    inside = np.array([0, 0, 5, 10.0])
    outside = np.array([-5, 0, 10, 10.0])
    assert vot_overlap(outside, inside, (100, 100)) == pytest.approx(1.0)
    assert vot_overlap(outside, inside, None) < 1.0


def test_codes_give_nan_and_disjoint_give_zero():
    out = vot_overlaps([np.array([1.0]), np.array([0, 0, 5, 5.0])],
                       [np.array([0, 0, 5, 5.0]), np.array([50, 50, 5, 5.0])], (100, 100))
    assert np.isnan(out[0]) and out[1] == 0.0


def test_polygon_and_rectangle_agree_for_axis_aligned_shapes():
    rect = np.array([3.0, 4.0, 20.0, 10.0])
    poly = np.array([3, 4, 23, 4, 23, 14, 3, 14.0])
    gt = np.array([10, 5, 30, 8, 25, 20, 8, 18.0])
    assert vot_overlap(rect, gt, (64, 48)) == vot_overlap(poly, gt, (64, 48))


def test_axis_aligned_matches_pysot_init_box():
    # a 4-value box: centre x + w/2, corner centre - (w - 1)/2 -> x + 0.5
    np.testing.assert_allclose(axis_aligned(np.array([10, 20, 30, 40.0])), [10.5, 20.5, 30, 40])
    # an axis-aligned square polygon keeps its area; w = s * (x2 - x1) + 1
    box = axis_aligned(np.array([0, 0, 10, 0, 10, 10, 0, 10.0]))
    np.testing.assert_allclose(box, [-0.5 + 0.5 - 0.0, 0.0, 11, 11], atol=1e-9)


def test_polygon_to_rect_preserves_area_of_a_rotated_square():
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 10 @ np.array([[c, -s], [s, c]]).T + 50
    x, y, w, h = polygon_to_rect(corners.ravel())
    assert w * h == pytest.approx(400.0)
    assert (x + w / 2, y + h / 2) == pytest.approx((50.0, 50.0))


def _random_pairs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    preds, gts, ws, hs = [], [], [], []
    for _ in range(n):
        w, h = rng.integers(40, 300, 2)
        cx, cy = rng.uniform(-15, w + 15), rng.uniform(-15, h + 15)
        s, a = rng.uniform(2, 60), rng.uniform(0, np.pi)
        pts = np.concatenate([[cx + s * np.cos(a + k * np.pi / 2 + rng.uniform(-0.2, 0.2)),
                               cy + s * np.sin(a + k * np.pi / 2 + rng.uniform(-0.2, 0.2))] for k in range(4)])
        if rng.random() < 0.2:
            pts = np.round(pts) + (0.5 if rng.random() < 0.5 else 0.0)
        gts.append(pts)
        if rng.random() < 0.5:
            box = np.array([cx - s / 2 + rng.normal(0, s / 2), cy - s / 2 + rng.normal(0, s / 2),
                            abs(rng.normal(s, s / 3)) + 0.1, abs(rng.normal(s, s / 3)) + 0.1])
            preds.append(np.round(box) if rng.random() < 0.2 else box)
        else:
            preds.append(pts + rng.normal(0, s / 4, 8))
        ws.append(float(w))
        hs.append(float(h))
    return preds, gts, np.array(ws), np.array(hs)


@pytest.mark.crosscheck
def test_votkit_variant_equals_vot_toolkit_rasteriser():
    pytest.importorskip("vot", reason="vot-toolkit 0.9.0 not installed (pip install .[crosscheck])")
    from vot.region.raster import calculate_overlap
    from vot.region.shapes import Polygon, Rectangle

    def shape(r):
        return Rectangle(*r) if r.size == 4 else Polygon([(r[i], r[i + 1]) for i in range(0, r.size, 2)])

    preds, gts, ws, hs = _random_pairs(600, seed=3)
    ref = [calculate_overlap(shape(p), shape(g), (int(w), int(h))) for p, g, w, h in zip(preds, gts, ws, hs)]
    np.testing.assert_allclose(votkit_overlaps(preds, gts, (ws, hs)), ref, rtol=0, atol=1e-12)


def test_vot_overlaps_vectorised_equals_one_by_one():
    preds, gts, ws, hs = _random_pairs(200, seed=5)
    batch = vot_overlaps(preds, gts, (ws, hs))
    single = [vot_overlap(p, g, (w, h)) for p, g, w, h in zip(preds, gts, ws, hs)]
    np.testing.assert_array_equal(batch, single)
