"""Scan-line kernels behind the pixel-grid overlaps in :mod:`siambench.regions`.

Each kernel replays a reference rasteriser's per-row logic (node list, bubble sort, fill loop)
but, instead of painting a mask, records the filled pixel intervals of each row and counts
|A|, |B| and |A ∩ B| from them. The counts equal those of the reference masks.

Compiled with numba on first use and cached on disk, so that scoring a whole VOT stack takes a
fraction of a second. Only :mod:`siambench.regions` imports this module, and only when a VOT
overlap is needed, so OTB scoring never pays numba's import.
"""

from __future__ import annotations

import numba
import numpy as np

RULE_C = 0  # VOT challenge C library (pysot's region.c, non-legacy rasterisation)
RULE_VOTKIT = 1  # vot-toolkit 0.9.0 vot/region/raster.py


@numba.njit(cache=True, nogil=True)
def _row_intervals(px, py, count, row, width, rule, nodes, starts, ends):
    """Fill `starts`/`ends` with the row's inclusive pixel intervals; return how many."""
    n = 0
    j = count - 1
    for i in range(count):
        yi = py[i]
        yj = py[j]
        hit = (
            (yi <= row and yj > row)
            or (yj <= row and yi > row)
            or (yi < row and yj >= row)
            or (yj < row and yi >= row)
            or (yi == yj and yi == row)
        )
        if hit:
            r = yj - yi
            k = px[j] - px[i]
            if r != 0:
                # (int) of a double truncates toward zero
                nodes[n] = np.int64(px[i] + (row - yi) / r * k)
                n += 1
            elif rule == RULE_VOTKIT:
                nodes[n] = np.int64(px[i])
                n += 1
        j = i
    # bubble sort, as in the references (n <= vertex count, tiny)
    i = 0
    while i < n - 1:
        if nodes[i] > nodes[i + 1]:
            tmp = nodes[i]
            nodes[i] = nodes[i + 1]
            nodes[i + 1] = tmp
            if i:
                i -= 1
        else:
            i += 1
    m = 0
    i = 0
    while i < n - 1:
        if rule == RULE_C:
            if nodes[i] == nodes[i + 1]:
                i += 1
                continue
            if nodes[i] >= width:
                break
        else:
            if nodes[i] >= width:
                break
            if nodes[i] == nodes[i + 1] and i < n - 2:
                i += 1
                continue
        if nodes[i + 1] >= 0:
            a = max(nodes[i], 0)
            b = min(nodes[i + 1], width - 1)
            # a later interval may start on the previous one's last pixel: count it once
            if m > 0 and a <= ends[m - 1]:
                a = ends[m - 1] + 1
            if a <= b:
                starts[m] = a
                ends[m] = b
                m += 1
        i += 2
    return m


@numba.njit(cache=True, nogil=True)
def _rect_interval(rect, row, width, starts, ends):
    """vot-toolkit's rasterize_rectangle for one row: pixels x .. x + w - 1, rows y .. y + h - 1."""
    x, y, w, h = rect[0], rect[1], rect[2], rect[3]
    if row < y or row > y + h - 1 or x > width - 1 or x + w - 1 < 0:
        return 0
    a = max(np.int64(0), np.int64(x))
    b = min(np.int64(width - 1), np.int64(x + w - 1))
    if a > b:
        return 0
    starts[0] = a
    ends[0] = b
    return 1


@numba.njit(cache=True, nogil=True, parallel=True)
def count_pixels(poly1, count1, rect1, poly2, count2, rect2, first, last, width, rule, chunks):
    """Pixel counts of intersection and union for each frame.

    poly*: (F, V, 2) canvas vertex coordinates (integers stored as floats); count*: vertices used;
    rect*: (F, 4) canvas rectangles used instead of the polygon where the row's flag is set
    (vot-toolkit rasterises rectangles directly; pass flags False for the C rule).
    first/last: inclusive canvas rows to scan; width: canvas width.

    Frames are independent: they are split into `chunks` scanned in parallel (pass a few per
    thread, :func:`default_chunks`), each with its own scratch buffers; the counts are integers,
    so the split cannot change them.
    """
    n_frames = poly1.shape[0]
    inter = np.zeros(n_frames, dtype=np.int64)
    union = np.zeros(n_frames, dtype=np.int64)
    v = max(poly1.shape[1], poly2.shape[1]) + 1
    n_chunks = max(1, min(n_frames, chunks))
    for c in numba.prange(n_chunks):
        nodes = np.empty(v, dtype=np.int64)
        sa = np.empty(v, dtype=np.int64)
        ea = np.empty(v, dtype=np.int64)
        sb = np.empty(v, dtype=np.int64)
        eb = np.empty(v, dtype=np.int64)
        for f in range(c * n_frames // n_chunks, (c + 1) * n_frames // n_chunks):
            inter[f], union[f] = _count_frame(poly1[f], count1[f], rect1[f], poly2[f], count2[f], rect2[f],
                                              first[f], last[f], width[f], rule, nodes, sa, ea, sb, eb)
    return inter, union


@numba.njit(cache=True, nogil=True)
def _count_frame(poly1, count1, rect1, poly2, count2, rect2, first, last, width, rule, nodes, sa, ea, sb, eb):
    """Intersection and union pixel counts of one frame's two regions."""
    px1 = poly1[:, 0]
    py1 = poly1[:, 1]
    px2 = poly2[:, 0]
    py2 = poly2[:, 1]
    total_i = 0
    total_u = 0
    for row in range(first, last + 1):
        if rect1[0] == 1:
            na = _rect_interval(rect1[1:], row, width, sa, ea)
        else:
            na = _row_intervals(px1, py1, count1, row, width, rule, nodes, sa, ea)
        if rect2[0] == 1:
            nb = _rect_interval(rect2[1:], row, width, sb, eb)
        else:
            nb = _row_intervals(px2, py2, count2, row, width, rule, nodes, sb, eb)
        len_a = 0
        for k in range(na):
            len_a += ea[k] - sa[k] + 1
        len_b = 0
        for k in range(nb):
            len_b += eb[k] - sb[k] + 1
        both = 0
        for p in range(na):
            for q in range(nb):
                lo = max(sa[p], sb[q])
                hi = min(ea[p], eb[q])
                if hi >= lo:
                    both += hi - lo + 1
        total_i += both
        total_u += len_a + len_b - both
    return total_i, total_u


def default_chunks() -> int:
    """Chunks for :func:`count_pixels`: a few per numba thread, so uneven frames even out."""
    return 8 * numba.get_num_threads()
