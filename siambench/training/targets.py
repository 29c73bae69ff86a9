"""What the networks are trained to output for one search crop.

Box coordinates are in search-crop pixels relative to the crop centre, the frame the trackers
decode in (``siambench.ops``): the centre of the crop is (0, 0), x to the right, y down.

SiamFC: a cell of the score map is positive when its position lies within `radius` pixels of
the target centre (the paper's rule, Euclidean distance in crop pixels), negative otherwise;
positives and negatives each weigh one half (balanced). In a negative pair (the search region
holds another object, :mod:`siambench.training.pairs`) every cell is negative.

SiamRPN: pysot's anchor targets. Anchors overlapping the target by IoU > 0.6 are positive,
< 0.3 negative, the rest ignored; at most 16 positives are kept, and negatives fill the sample
up to 64. Positive anchors regress the normalised offsets
``dx = (Tx - Ax) / Aw, dy = (Ty - Ay) / Ah, dw = ln(Tw / Aw), dh = ln(Th / Ah)``.
In a negative pair no anchor is positive: the anchors that would have matched the object in
the region (IoU >= 0.3, the best 16 at most) become negatives, the hard ones, and random others fill the
sample; nothing is regressed. In a look-alike pair (the region centred on a look-alike) the
target keeps its positives, and the anchors that would match the look-alike, but not the target,
are the first negatives in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = -1  # anchor label: neither positive nor negative


def score_map_offsets(size: int, stride: int) -> np.ndarray:
    """(size,) offsets of score-map cells from the crop centre, in crop pixels.

    Cell ``i`` sits at ``(i - (size - 1) / 2) * stride``: the SiamFC tracker moves its centre
    by the peak's offset from the map centre, scaled by the stride (``siambench.trackers.siamfc``).
    """
    return (np.arange(size) - (size - 1) / 2.0) * stride


def siamfc_labels(
    centers: np.ndarray, size: int, stride: int, radius: float, negative: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and balanced weights, each (B, 1, size, size) float32, for target `centers` (B, 2).

    `centers` holds each target's (x, y) offset from the crop centre in crop pixels; samples
    flagged in `negative` (B,) bool get no positive cell.
    """
    offsets = score_map_offsets(size, stride)
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    dx = offsets[None, None, :] - centers[:, 0, None, None]
    dy = offsets[None, :, None] - centers[:, 1, None, None]
    labels = (np.hypot(dx, dy) <= radius).astype(np.float32)
    if negative is not None:
        labels[np.asarray(negative, dtype=bool)] = 0.0
    weights = np.zeros_like(labels)
    for b in range(len(labels)):
        positive = labels[b] > 0
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        # half the weight on each class, whatever their counts (a target near the border of
        # the map may have no positive cell at all: then the negatives take all of it)
        if n_pos:
            weights[b][positive] = 0.5 / n_pos if n_neg else 1.0 / n_pos
        if n_neg:
            weights[b][~positive] = 0.5 / n_neg if n_pos else 1.0 / n_neg
    return labels[:, None], weights[:, None]


def center_to_corner(boxes: np.ndarray) -> np.ndarray:
    """(..., 4) cx, cy, w, h -> x1, y1, x2, y2."""
    boxes = np.asarray(boxes, dtype=np.float64)
    half = boxes[..., 2:] / 2.0
    return np.concatenate([boxes[..., :2] - half, boxes[..., :2] + half], axis=-1)


def iou_with(anchors: np.ndarray, box: np.ndarray) -> np.ndarray:
    """IoU of each (cx, cy, w, h) anchor with one (cx, cy, w, h) box, as pysot computes it."""
    a = center_to_corner(anchors)
    b = center_to_corner(box)
    iw = np.clip(np.minimum(a[:, 2], b[2]) - np.maximum(a[:, 0], b[0]), 0.0, None)
    ih = np.clip(np.minimum(a[:, 3], b[3]) - np.maximum(a[:, 1], b[1]), 0.0, None)
    inter = iw * ih
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / np.maximum(union, 1e-12)


def encode_deltas(anchors: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(4, K) normalised offsets of one (cx, cy, w, h) box from each of K anchors.

    The inverse of :func:`siambench.ops.decode_deltas`.
    """
    anchors = np.asarray(anchors, dtype=np.float64)
    return np.stack(
        [
            (box[0] - anchors[:, 0]) / anchors[:, 2],
            (box[1] - anchors[:, 1]) / anchors[:, 3],
            np.log(box[2] / anchors[:, 2]),
            np.log(box[3] / anchors[:, 3]),
        ]
    )


@dataclass(frozen=True)
class AnchorRule:
    """pysot's cfg.TRAIN thresholds and sample sizes."""

    positive_iou: float = 0.6
    negative_iou: float = 0.3
    positives: int = 16
    total: int = 64


def anchor_targets(
    anchors: np.ndarray, box: np.ndarray, rng: np.random.Generator, rule: AnchorRule = AnchorRule(),
    negative: bool = False, lookalike: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets of K anchors for one box: labels (K,) int64 in {1, 0, -1}, deltas (4, K) float32
    and regression weights (K,) float32 (1 / positives on positive anchors, else 0).

    negative: `box` is an object that is not the template's (see the module docstring).
    lookalike: (cx, cy, w, h) of a look-alike whose anchors are the first negatives (None or
    NaN: none).
    """
    overlap = iou_with(anchors, box)
    labels = np.full(len(anchors), IGNORE, dtype=np.int64)
    if negative:
        return _negative_targets(overlap, labels, rng, rule), np.zeros((4, len(anchors)), np.float32), \
            np.zeros(len(anchors), np.float32)
    positive = np.flatnonzero(overlap > rule.positive_iou)
    negative = np.flatnonzero(overlap < rule.negative_iou)
    if len(positive) > rule.positives:
        positive = rng.choice(positive, rule.positives, replace=False)
    keep_neg = rule.total - len(positive)
    hard = np.zeros(0, dtype=np.int64)
    if lookalike is not None and np.all(np.isfinite(lookalike)):
        hard = _best_matches(iou_with(anchors, lookalike), rule)
        hard = hard[overlap[hard] < rule.negative_iou][:keep_neg]  # never an anchor on the target
        negative = np.setdiff1d(negative, hard)
    if len(negative) > keep_neg - len(hard):
        negative = rng.choice(negative, keep_neg - len(hard), replace=False)
    labels[positive] = 1
    labels[negative] = 0
    labels[hard] = 0
    weights = np.zeros(len(anchors), dtype=np.float32)
    if len(positive):
        weights[positive] = 1.0 / len(positive)
    deltas = encode_deltas(anchors, np.asarray(box, dtype=np.float64)).astype(np.float32)
    return labels, deltas, weights


def _negative_targets(overlap: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                      rule: AnchorRule) -> np.ndarray:
    """`labels` with a negative pair's sample: the anchors on the object first, then others."""
    hard = _best_matches(overlap, rule)
    rest = np.setdiff1d(np.arange(len(labels)), hard)
    easy = rng.choice(rest, min(rule.total - len(hard), len(rest)), replace=False)
    labels[hard] = 0
    labels[easy] = 0
    return labels


def _best_matches(overlap: np.ndarray, rule: AnchorRule) -> np.ndarray:
    """The anchors that match an object best (IoU >= the negative threshold, at most as many as
    positives are kept): what a false "target here" would fire on."""
    order = np.argsort(-overlap, kind="stable")[: rule.positives]
    return order[overlap[order] >= rule.negative_iou]
