"""Regions and their overlap.

Two families of overlap live here:

* Continuous IoU and centre error of axis-aligned boxes, as the OTB protocol defines them
  (pysot's ``overlap_ratio`` / got10k's ``rect_iou``): no image bound, no +1 pixel convention.
* Pixel-count overlap on the integer grid, bounded by the image, as the VOT toolkits define it.
  ``vot_overlaps`` reproduces the VOT challenge's C region library (through pysot's port, which is
  what the published tables used); ``votkit_overlaps`` reproduces vot-toolkit 0.9.0's numba
  rasteriser. They differ in rounding, in the rectangle convention and in edge cases.

Both rasterisers fill polygons scan line by scan line. Instead of painting a mask per frame we
compute, for every scan line, the pixel intervals each polygon covers and count the
intersections arithmetically. That gives the same pixel counts as the reference masks at a cost
proportional to the number of rows, vectorised over all frames at once.

A region is a float array of 4 values (x, y, w, h) or 2k values (a polygon x1, y1, x2, y2, ...).
A trajectory entry may also be a one-element code (VOT: 1 init, 2 failure, 0 skipped); the
overlap of a code is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from siambench.trajectory import Trajectory

Region = np.ndarray




# --------------------------------------------------------------------------------------------
# Axis-aligned boxes (OTB)
# --------------------------------------------------------------------------------------------


def rect_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Continuous IoU of (N, 4) x, y, w, h boxes, clipped to [0, 1] (pysot / got10k OTB)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    left = np.maximum(a[:, 0], b[:, 0])
    right = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    top = np.maximum(a[:, 1], b[:, 1])
    bottom = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.maximum(0.0, right - left) * np.maximum(0.0, bottom - top)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.clip(iou, 0.0, 1.0)


def centers(boxes: np.ndarray) -> np.ndarray:
    """Box centres as the OTB toolkits define them: x + (w - 1) / 2, y + (h - 1) / 2."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.stack([boxes[:, 0] + (boxes[:, 2] - 1) / 2, boxes[:, 1] + (boxes[:, 3] - 1) / 2], 1)


def axis_aligned(region: np.ndarray) -> np.ndarray:
    """(x, y, w, h) of a region the way pysot's tools/test.py derives the init box.

    A polygon becomes the box centred on the vertex mean whose area equals the area of the
    parallelogram spanned by the first three vertices (``get_axis_aligned_bbox``), and the
    returned corner is ``centre - (size - 1) / 2``. A 4-value box comes back as
    ``[x + 0.5, y + 0.5, w, h]``, which is what pysot writes on the first line of OPE results.
    """
    r = np.asarray(region, dtype=np.float64).ravel()
    if r.size == 4:
        x, y, w, h = r
        cx, cy = x + w / 2, y + h / 2
    elif r.size >= 6 and r.size % 2 == 0:
        xs, ys = r[0::2], r[1::2]
        cx, cy = float(np.mean(xs)), float(np.mean(ys))
        x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
        a1 = np.linalg.norm(r[0:2] - r[2:4]) * np.linalg.norm(r[2:4] - r[4:6])
        a2 = (x2 - x1) * (y2 - y1)
        s = np.sqrt(a1 / a2) if a2 > 0 else 1.0
        w = s * (x2 - x1) + 1
        h = s * (y2 - y1) + 1
    else:
        raise ValueError(f"a region has 4 or an even number >= 6 of values, got {r.size}")
    return np.array([cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])


def polygon_to_rect(region: np.ndarray) -> np.ndarray:
    """Area-preserving axis-aligned (x, y, w, h) of a polygon, centred on the vertex mean.

    This is the VOT toolkit's conversion for trackers that only report boxes (the box has the
    polygon's centroid and the area of its first parallelogram, aspect of its bounding box).
    """
    r = np.asarray(region, dtype=np.float64).ravel()
    if r.size == 4:
        return r.copy()
    cx, cy, w, h = _center_size(r)
    return np.array([cx - w / 2, cy - h / 2, w, h])


def _center_size(r: np.ndarray) -> tuple[float, float, float, float]:
    xs, ys = r[0::2], r[1::2]
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    a1 = np.linalg.norm(r[0:2] - r[2:4]) * np.linalg.norm(r[2:4] - r[4:6])
    a2 = (x2 - x1) * (y2 - y1)
    s = np.sqrt(a1 / a2) if a2 > 0 else 1.0
    return float(xs.mean()), float(ys.mean()), s * (x2 - x1), s * (y2 - y1)


def rect_to_polygon(box: np.ndarray) -> np.ndarray:
    """Corners (x, y), (x + w, y), (x + w, y + h), (x, y + h): pysot's 4-value region."""
    x, y, w, h = np.asarray(box, dtype=np.float64).ravel()
    return np.array([x, y, x + w, y, x + w, y + h, x, y + h])


# --------------------------------------------------------------------------------------------
# Pixel-grid overlap: shared scan-line machinery
# --------------------------------------------------------------------------------------------


def _trunc_int(values: np.ndarray) -> np.ndarray:
    """C's (int) cast of a double: truncation toward zero."""
    return np.trunc(values).astype(np.int64)


def _c_round(values: np.ndarray) -> np.ndarray:
    """The C library's round macro: half away from zero, then (int)."""
    v = values.astype(np.float64)
    return np.where(v >= 0, np.trunc(v + 0.5), np.trunc(v - 0.5))


def _as_polygons(regions: Sequence[np.ndarray] | Trajectory,
                 rect_as_polygon: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pack regions into (N, V, 2) vertices, vertex counts, 'is a code' and 'is a rectangle' flags.

    With rect_as_polygon, a 4-value box becomes pysot's 4-corner polygon; otherwise its
    (x, y, w, h) is kept in the first two vertex slots for the rectangle rasteriser.
    """
    packed = Trajectory.of(regions)
    sizes = packed.counts
    n = len(sizes)
    is_rect = sizes == 4
    polys = ~is_rect & (sizes >= 6)
    n_vert = max(4, int(sizes[polys].max(initial=8) // 2))
    poly = np.zeros((n, n_vert, 2), dtype=np.float64)
    count = np.where(is_rect, 4, sizes // 2)
    code = ~(is_rect | polys)
    # One gather per region size (boxes, quadrilaterals, ...), never a step per region.
    for size in np.unique(sizes[~code]).tolist():
        sel = np.flatnonzero(sizes == size)
        flat = packed.values[packed.starts[sel][:, None] + np.arange(size)[None, :]]
        if size == 4:
            if rect_as_polygon:
                x, y, w, h = flat.T
                pts = np.stack([x, y, x + w, y, x + w, y + h, x, y + h], 1).reshape(-1, 4, 2)
            else:
                pts = np.zeros((len(sel), 4, 2))
                pts[:, 0], pts[:, 1] = flat[:, 0:2], flat[:, 2:4]
        else:
            pts = flat.reshape(len(sel), -1, 2)
        poly[sel, : pts.shape[1]] = pts
    code |= ~np.isfinite(poly).all(axis=(1, 2))
    return poly, count, code, is_rect


def _pack_pairs(pred: Sequence[np.ndarray] | Trajectory, gt: Sequence[np.ndarray] | Trajectory,
                rect_as_polygon: bool):
    """NaN-filled output and the packed pairs where neither side is a code (None if there are none).

    Returns (out, (valid mask, (vertices, counts, is_rect) of pred, the same of gt)).
    """
    n = len(pred)
    if len(gt) != n:
        raise ValueError(f"overlap of {n} predictions against {len(gt)} ground-truth regions")
    out = np.full(n, np.nan)
    if n == 0:
        return out, None
    p1, c1, code1, r1 = _as_polygons(pred, rect_as_polygon)
    p2, c2, code2, r2 = _as_polygons(gt, rect_as_polygon)
    valid = ~(code1 | code2)
    if not valid.any():
        return out, None
    return out, (valid, (p1[valid], c1[valid], r1[valid]), (p2[valid], c2[valid], r2[valid]))


def _bounds_pair(w, h, n: int) -> tuple[np.ndarray, np.ndarray]:
    return (np.broadcast_to(np.asarray(w, dtype=np.float64), (n,)),
            np.broadcast_to(np.asarray(h, dtype=np.float64), (n,)))


# --------------------------------------------------------------------------------------------
# VOT challenge C library (pysot's region.c): the default definition
# --------------------------------------------------------------------------------------------


def vot_overlaps(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], bounds: tuple | None) -> np.ndarray:
    """Per-frame overlap of two region lists, exactly as pysot's ``vot_overlap`` computes it.

    bounds: (W, H) per frame (arrays or scalars) or None for no image bound. pysot uses (W, H)
    for accuracy and (W - 1, H - 1) for EAO (:func:`vot_overlaps_two_bounds` does both at
    once). Codes give NaN. The result is the C library's float32 widened to float64.
    """
    out, packed = _pack_pairs(pred, gt, rect_as_polygon=True)
    if packed is None:
        return out
    valid, (p1, c1, _), (p2, c2, _) = packed
    # The C library stores coordinates and bounds as floats.
    p1, p2 = p1.astype(np.float32), p2.astype(np.float32)
    m = len(p1)
    if bounds is None:
        lo = np.full(m, -np.inf, dtype=np.float32)
        bw = bh = np.full(m, np.inf, dtype=np.float32)
    else:
        lo = np.zeros(m, dtype=np.float32)
        bw, bh = _bounds_pair(bounds[0], bounds[1], len(out))
        bw, bh = bw[valid].astype(np.float32), bh[valid].astype(np.float32)
    out[valid] = _vot_packed(p1, c1, p2, c2, lo, bw, bh).astype(np.float64)
    return out


def vot_overlaps_two_bounds(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], bounds: tuple,
                            other: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:func:`vot_overlaps` under two image bounds at about the cost of one, bit for bit.

    A bound enters only by clipping the regions' rounded right and bottom edges, so a pair
    whose edges lie within both bounds overlaps the same under either: only the pairs that
    reach past one of them are rasterised again. pysot bounds accuracy by (W, H) and EAO by
    (W - 1, H - 1); most regions stay inside both.
    """
    first, packed = _pack_pairs(pred, gt, rect_as_polygon=True)
    second = first.copy()
    if packed is None:
        return first, second
    valid, (p1, c1, _), (p2, c2, _) = packed
    p1, p2 = p1.astype(np.float32), p2.astype(np.float32)
    m = len(p1)
    lo = np.zeros(m, dtype=np.float32)
    wa, ha = (b[valid].astype(np.float32) for b in _bounds_pair(bounds[0], bounds[1], len(first)))
    wb, hb = (b[valid].astype(np.float32) for b in _bounds_pair(other[0], other[1], len(first)))
    result = _vot_packed(p1, c1, p2, c2, lo, wa, ha)
    right = np.maximum(_max_coordinate(p1, c1, 0), _max_coordinate(p2, c2, 0))
    bottom = np.maximum(_max_coordinate(p1, c1, 1), _max_coordinate(p2, c2, 1))
    differs = ((np.minimum(right, wa) != np.minimum(right, wb))
               | (np.minimum(bottom, ha) != np.minimum(bottom, hb)))
    again = result.copy()
    if differs.any():
        idx = np.flatnonzero(differs)
        again[idx] = _vot_packed(p1[idx], c1[idx], p2[idx], c2[idx], lo[idx], wb[idx], hb[idx])
    first[valid] = result.astype(np.float64)
    second[valid] = again.astype(np.float64)
    return first, second


def _max_coordinate(p: np.ndarray, count: np.ndarray, axis: int) -> np.ndarray:
    """The C library's rounded right (axis 0) or bottom (axis 1) edge: ceil of the float maximum."""
    used = np.arange(p.shape[1])[None, :] < count[:, None]
    return np.ceil(np.where(used, p[:, :, axis], -np.inf).max(axis=1))


def _vot_packed(p1, c1, p2, c2, lo, bw, bh) -> np.ndarray:
    """The C library's overlap of packed float32 polygon pairs under per-pair bounds (float32)."""
    m = len(p1)

    def rounded_bounds(p, cnt):
        used = np.arange(p.shape[1])[None, :] < cnt[:, None]
        xs = np.where(used, p[:, :, 0], np.nan)
        ys = np.where(used, p[:, :, 1], np.nan)
        return (np.maximum(np.floor(np.nanmin(xs, 1)), lo), np.maximum(np.floor(np.nanmin(ys, 1)), lo),
                np.minimum(np.ceil(np.nanmax(xs, 1)), bw), np.minimum(np.ceil(np.nanmax(ys, 1)), bh))

    l1, t1, r1, b1 = rounded_bounds(p1, c1)
    l2, t2, r2, b2 = rounded_bounds(p2, c2)
    x0 = np.minimum(l1, l2)
    y0 = np.minimum(t1, t2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        width = np.maximum(r1, r2).astype(np.float64) - x0
        height = np.maximum(b1, b2).astype(np.float64) - y0
        width = np.where(np.isfinite(width), width, -1).astype(np.int64) + 1
        height = np.where(np.isfinite(height), height, -1).astype(np.int64) + 1
        a1 = (r1.astype(np.float64) - l1) * (b1.astype(np.float64) - t1)
        a2 = (r2.astype(np.float64) - l2) * (b2.astype(np.float64) - t2)
        degenerate = (a1 / a2 < 1e-10) | (a2 / a1 < 1e-10) | (width < 1) | (height < 1)
        # bounds_overlap(), in floats; a NaN ratio is "not zero" in C as well
        inter_box = (np.minimum(r1, r2) - np.maximum(l1, l2)) * (np.minimum(b1, b2) - np.maximum(t1, t2))
        area1 = (r1 - l1) * (b1 - t1)
        area2 = (r2 - l2) * (b2 - t2)
        box_overlap = np.maximum(np.float32(0), inter_box / (area1 + area2 - inter_box))
    result = np.zeros(m, dtype=np.float32)
    todo = ~(degenerate | (box_overlap == 0))
    if todo.any():
        idx = np.flatnonzero(todo)
        origin = np.stack([x0[idx], y0[idx]], 1)[:, None, :]
        # offset_polygon() in floats, then the rasteriser's round_polygon()
        q1 = _c_round((p1[idx] - origin).astype(np.float32))
        q2 = _c_round((p2[idx] - origin).astype(np.float32))
        last = (height[idx] - 1).astype(np.int64)
        inter, union = _count(q1, c1[idx], None, q2, c2[idx], None, np.zeros_like(last), last, width[idx], rule="c")
        with np.errstate(divide="ignore", invalid="ignore"):
            result[idx] = inter.astype(np.float32) / union.astype(np.float32)
    return result


def vot_overlap(pred: np.ndarray, gt: np.ndarray, bounds: tuple[float, float] | None = None) -> float:
    """Overlap of one pair of regions (see :func:`vot_overlaps`)."""
    return float(vot_overlaps([np.asarray(pred)], [np.asarray(gt)], bounds)[0])


def _count(q1, c1, rect1, q2, c2, rect2, first, last, width, rule: str):
    from siambench import raster  # numba: imported only when a pixel overlap is needed

    def flags(rect, n):
        if rect is None:
            return np.zeros((n, 5))
        return rect

    n = len(q1)
    return raster.count_pixels(
        np.ascontiguousarray(q1, dtype=np.float64), c1.astype(np.int64), flags(rect1, n),
        np.ascontiguousarray(q2, dtype=np.float64), c2.astype(np.int64), flags(rect2, n),
        first.astype(np.int64), last.astype(np.int64), width.astype(np.int64),
        raster.RULE_C if rule == "c" else raster.RULE_VOTKIT, raster.default_chunks(),
    )


# --------------------------------------------------------------------------------------------
# vot-toolkit 0.9.0 (vot/region/raster.py): the "vot-toolkit" variant
# --------------------------------------------------------------------------------------------


def votkit_overlaps(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], bounds: tuple | None) -> np.ndarray:
    """Per-frame overlap as vot-toolkit 0.9.0's ``calculate_overlap`` computes it.

    Coordinates are rounded half to even, a rectangle covers pixels x .. x + w - 1, and both
    regions are rasterised on their joint bounding box clipped to [0, W-1] x [0, H-1]. Two empty
    regions overlap 1. Codes give NaN here (the analyses treat them separately).
    """
    out, packed = _pack_pairs(pred, gt, rect_as_polygon=False)
    if packed is None:
        return out
    valid, (p1, c1, rect1), (p2, c2, rect2) = packed
    n = len(out)
    p1, p2 = np.round(p1), np.round(p2)
    m = len(p1)
    if bounds is None:
        bw = bh = np.full(m, np.iinfo(np.int64).max // 4)
    else:
        bw, bh = _bounds_pair(bounds[0], bounds[1], n)
        bw, bh = bw[valid].astype(np.int64), bh[valid].astype(np.int64)

    def region_bounds(p, cnt, is_rect):
        used = np.arange(p.shape[1])[None, :] < cnt[:, None]
        xs = np.where(used, p[:, :, 0], np.nan)
        ys = np.where(used, p[:, :, 1], np.nan)
        rect = (p[:, 0, 0], p[:, 0, 1], p[:, 0, 0] + p[:, 1, 0] - 1, p[:, 0, 1] + p[:, 1, 1] - 1)
        poly = (np.nanmin(xs, 1), np.nanmin(ys, 1), np.nanmax(xs, 1), np.nanmax(ys, 1))
        return [np.round(np.where(is_rect, u, v)).astype(np.int64) for u, v in zip(rect, poly, strict=True)]

    l1, t1, r1, b1 = region_bounds(p1, c1, rect1)
    l2, t2, r2, b2 = region_bounds(p2, c2, rect2)
    ul, ut = np.minimum(l1, l2), np.minimum(t1, t2)
    ur, ub = np.maximum(r1, r2), np.maximum(b1, b2)
    both_empty = (ul >= ur) | (ut >= ub)
    rl, rt = np.maximum(0, ul), np.maximum(0, ut)
    rr, rb = np.minimum(bw - 1, ur), np.minimum(bh - 1, ub)
    outside = (rl >= rr) | (rt >= rb)
    result = np.where(both_empty, 1.0, 0.0)
    todo = ~both_empty & ~outside
    if todo.any():
        idx = np.flatnonzero(todo)
        origin = np.stack([rl[idx], rt[idx]], 1).astype(np.float64)[:, None, :]

        def to_canvas(p, is_rect):
            q = p[idx] - origin
            rect = np.zeros((len(idx), 5))
            rect[:, 0] = is_rect[idx]
            rect[:, 1:3] = p[idx, 0] - origin[:, 0]
            rect[:, 3:5] = p[idx, 1]
            return q, rect

        q1, f1 = to_canvas(p1, rect1)
        q2, f2 = to_canvas(p2, rect2)
        last = rb[idx] - rt[idx]
        width = rr[idx] - rl[idx] + 1
        inter, union = _count(q1, c1[idx], f1, q2, c2[idx], f2, np.zeros_like(last), last, width, rule="votkit")
        with np.errstate(divide="ignore", invalid="ignore"):
            result[idx] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    out[np.flatnonzero(valid)] = result
    return out
