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


# The helpers are inlined into the frame loop (numba's inline="always"): as separate functions
# each row paid a call that passed a dozen arrays, which cost 8x the scan itself.


@numba.njit(cache=True, nogil=True, inline="always")
def _edges(poly, count, rule, edges):
    """The polygon's edges that give scan-line nodes, one row of `edges` each; returns how many.

    A row: first and last scan line it crosses, its start vertex (x, y), dy and dx. The
    references walk edges (j, i) with j the previous vertex; an edge meets scan line `row` when
    row lies between its end rows (inclusive), which is what their four comparisons amount to
    for integer coordinates. A horizontal edge gives a node only under vot-toolkit's rule.
    """
    n = 0
    j = count - 1
    for i in range(count):
        yi = poly[i, 1]
        yj = poly[j, 1]
        dy = yj - yi
        if dy != 0 or rule == RULE_VOTKIT:
            edges[n, 0] = min(yi, yj)
            edges[n, 1] = max(yi, yj)
            edges[n, 2] = poly[i, 0]
            edges[n, 3] = yi
            edges[n, 4] = dy
            edges[n, 5] = poly[j, 0] - poly[i, 0]
            n += 1
        j = i
    return n


@numba.njit(cache=True, nogil=True, inline="always")
def _row_intervals(n_edges, edges, row, width, rule, nodes, starts, ends):
    """Fill `starts`/`ends` with the row's inclusive pixel intervals; return how many."""
    n = 0
    for e in range(n_edges):
        if edges[e, 0] <= row and row <= edges[e, 1]:
            dy = edges[e, 4]
            if dy != 0:
                # the references' expression, evaluated in the same order; (int) truncates
                nodes[n] = np.int64(edges[e, 2] + (row - edges[e, 3]) / dy * edges[e, 5])
            else:
                nodes[n] = np.int64(edges[e, 2])
            n += 1
    if n == 2:  # a convex polygon's ordinary row: the general loop below, unrolled
        a = min(nodes[0], nodes[1])
        b = max(nodes[0], nodes[1])
        if a >= width or b < 0 or (a == b and rule == RULE_C):
            return 0
        starts[0] = max(a, 0)
        ends[0] = min(b, width - 1)
        return 1 if starts[0] <= ends[0] else 0
    # The references bubble-sort the nodes; sorted integers are the same whichever sort does it.
    for i in range(1, n):
        v = nodes[i]
        k = i - 1
        while k >= 0 and nodes[k] > v:
            nodes[k + 1] = nodes[k]
            k -= 1
        nodes[k + 1] = v
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


@numba.njit(cache=True, nogil=True, inline="always")
def _rect_interval(rect, row, width, starts, ends):
    """vot-toolkit's rasterize_rectangle for one row: pixels x .. x + w - 1, rows y .. y + h - 1."""
    x, y, w, h = rect[1], rect[2], rect[3], rect[4]
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
    rect*: (F, 5) rows of (flag, x, y, w, h): where the flag is 1 the canvas rectangle is
    rasterised instead of the polygon (vot-toolkit rasterises rectangles directly; pass flags 0
    for the C rule). first/last: inclusive canvas rows to scan; width: canvas width.

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
        edges_a = np.empty((v, 6), dtype=np.float64)
        edges_b = np.empty((v, 6), dtype=np.float64)
        for f in range(c * n_frames // n_chunks, (c + 1) * n_frames // n_chunks):
            inter[f], union[f] = _count_frame(poly1[f], count1[f], rect1[f], poly2[f], count2[f], rect2[f],
                                              first[f], last[f], width[f], rule, nodes, sa, ea, sb, eb,
                                              edges_a, edges_b)
    return inter, union


@numba.njit(cache=True, nogil=True, inline="always")
def _scan_span(poly, count, rect, rule, edges):
    """Edges of the region (0 for a rectangle) and the scan lines it can cover: outside them it
    has no pixel, so those rows skip it."""
    if rect[0] == 1:
        return 0, rect[2], rect[2] + rect[4] - 1
    n = _edges(poly, count, rule, edges)
    lo = np.inf
    hi = -np.inf
    for e in range(n):
        lo = min(lo, edges[e, 0])
        hi = max(hi, edges[e, 1])
    return n, lo, hi


@numba.njit(cache=True, nogil=True, inline="always")
def _region_row(rect, n_edges, edges, lo, hi, row, width, rule, nodes, starts, ends):
    """One region's intervals on scan line `row` (none outside its span); returns how many."""
    if row < lo or row > hi:
        return 0
    if rect[0] == 1:
        return _rect_interval(rect, row, width, starts, ends)
    return _row_intervals(n_edges, edges, row, width, rule, nodes, starts, ends)


@numba.njit(cache=True, nogil=True, inline="always")
def _covered(count, starts, ends):
    """Pixels in the first `count` intervals."""
    total = 0
    for k in range(count):
        total += ends[k] - starts[k] + 1
    return total


@numba.njit(cache=True, nogil=True, inline="always")
def _count_frame(poly1, count1, rect1, poly2, count2, rect2, first, last, width, rule, nodes, sa, ea, sb, eb,
                 edges_a, edges_b):
    """Intersection and union pixel counts of one frame's two regions."""
    n_a, lo_a, hi_a = _scan_span(poly1, count1, rect1, rule, edges_a)
    n_b, lo_b, hi_b = _scan_span(poly2, count2, rect2, rule, edges_b)
    total_i = 0
    total_u = 0
    for row in range(first, last + 1):
        na = _region_row(rect1, n_a, edges_a, lo_a, hi_a, row, width, rule, nodes, sa, ea)
        nb = _region_row(rect2, n_b, edges_b, lo_b, hi_b, row, width, rule, nodes, sb, eb)
        both = 0
        for p in range(na):
            for q in range(nb):
                lo = max(sa[p], sb[q])
                hi = min(ea[p], eb[q])
                if hi >= lo:
                    both += hi - lo + 1
        total_i += both
        total_u += _covered(na, sa, ea) + _covered(nb, sb, eb) - both
    return total_i, total_u


def default_chunks() -> int:
    """Chunks for :func:`count_pixels`: a few per numba thread, so uneven frames even out."""
    return 8 * numba.get_num_threads()
