"""The scan-line kernel's pixel counts equal painted masks, for both rasterisation rules.

The oracle below paints a mask the way the reference rasterisers do (every edge tested with
their four comparisons plus the horizontal case, nodes bubble-sorted, the fill loop's skipping
rules), one pixel at a time, and counts it. The kernel never paints: it counts intervals, skips
the rows a region cannot reach and walks only the edges that give nodes. Random polygons of 3 to
9 vertices (convex, concave, self-crossing, degenerate, partly off the canvas) and rectangles.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba not installed (pip install .[track])")

from siambench import raster  # noqa: E402


def _paint_polygon(mask: np.ndarray, xs: np.ndarray, ys: np.ndarray, rule: int) -> None:
    height, width = mask.shape
    count = len(xs)
    for row in range(height):
        nodes = []
        j = count - 1
        for i in range(count):
            yi, yj = ys[i], ys[j]
            if ((yi <= row < yj) or (yj <= row < yi) or (yi < row <= yj) or (yj < row <= yi)
                    or (yi == yj == row)):
                if yj != yi:
                    nodes.append(int(xs[i] + (row - yi) / (yj - yi) * (xs[j] - xs[i])))
                elif rule == raster.RULE_VOTKIT:
                    nodes.append(int(xs[i]))
            j = i
        changed = True
        while changed:  # bubble sort, as the references do
            changed = False
            for k in range(len(nodes) - 1):
                if nodes[k] > nodes[k + 1]:
                    nodes[k], nodes[k + 1] = nodes[k + 1], nodes[k]
                    changed = True
        i = 0
        while i < len(nodes) - 1:
            if rule == raster.RULE_C:
                if nodes[i] == nodes[i + 1]:
                    i += 1
                    continue
                if nodes[i] >= width:
                    break
            else:
                if nodes[i] >= width:
                    break
                if nodes[i] == nodes[i + 1] and i < len(nodes) - 2:
                    i += 1
                    continue
            if nodes[i + 1] >= 0:
                for x in range(max(nodes[i], 0), min(nodes[i + 1], width - 1) + 1):
                    mask[row, x] = True
            i += 2


def _paint_rect(mask: np.ndarray, x: float, y: float, w: float, h: float) -> None:
    height, width = mask.shape
    for row in range(max(int(y), 0), min(int(y + h - 1), height - 1) + 1):
        for col in range(max(int(x), 0), min(int(x + w - 1), width - 1) + 1):
            mask[row, col] = True


def _random_region(rng: np.random.Generator, size: int, n_vert: int):
    """(vertices, count, rect row) on a size x size canvas: a polygon or, sometimes, a rectangle."""
    kind = rng.integers(4)
    if kind == 0:  # convex-ish around a centre
        angles = np.sort(rng.uniform(0, 2 * np.pi, n_vert))
        radius = rng.uniform(0.5, size / 2 + 1, n_vert) if rng.random() < 0.5 else np.full(n_vert, rng.uniform(0.5, size / 2 + 1))
        centre = rng.uniform(-size / 4, size * 1.25, 2)
        pts = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)
    elif kind == 1:  # anything, self-crossing included
        pts = rng.uniform(-size / 3, size * 1.3, (n_vert, 2))
    elif kind == 2:  # degenerate: repeated vertices, collinear or horizontal edges
        pts = np.repeat(rng.uniform(0, size, ((n_vert + 1) // 2, 2)), 2, axis=0)[:n_vert]
        pts[rng.integers(n_vert), 1] = pts[0, 1]
    else:  # axis-aligned box as a polygon
        x, y = rng.uniform(-5, size, 2)
        w, h = rng.uniform(0, size / 2, 2)
        pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    pts = np.round(pts)  # the callers round to the grid first
    rect = np.zeros(5)
    if rng.random() < 0.25:
        rect[:] = [1, *np.round(rng.uniform(-5, size, 2)), *np.round(rng.uniform(0, size / 2, 2))]
    return pts, len(pts), rect


@pytest.mark.parametrize("rule", [raster.RULE_C, raster.RULE_VOTKIT])
def test_counts_equal_painted_masks(rule: int) -> None:
    rng = np.random.default_rng(11 + rule)
    n, v_max = 600, 9
    poly = np.zeros((2, n, v_max, 2))
    counts = np.zeros((2, n), dtype=np.int64)
    rects = np.zeros((2, n, 5))
    sizes = rng.integers(1, 40, n)
    expected = np.zeros((2, n), dtype=np.int64)
    for f in range(n):
        size = int(sizes[f])
        masks = []
        for side in range(2):
            pts, c, rect = _random_region(rng, size, int(rng.integers(3, v_max + 1)))
            if rule == raster.RULE_C:
                rect[:] = 0  # the C rule always rasterises polygons
            poly[side, f, :c], counts[side, f], rects[side, f] = pts, c, rect
            mask = np.zeros((size, size), dtype=bool)
            if rect[0] == 1:
                _paint_rect(mask, *rect[1:])
            else:
                _paint_polygon(mask, pts[:, 0], pts[:, 1], rule)
            masks.append(mask)
        expected[:, f] = (masks[0] & masks[1]).sum(), (masks[0] | masks[1]).sum()
    first = np.zeros(n, dtype=np.int64)
    last = sizes - 1
    inter, union = raster.count_pixels(poly[0], counts[0], rects[0], poly[1], counts[1], rects[1],
                                       first, last, sizes.astype(np.int64), rule, raster.default_chunks())
    np.testing.assert_array_equal(inter, expected[0])
    np.testing.assert_array_equal(union, expected[1])
