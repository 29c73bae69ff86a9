"""One-pass evaluation (OTB, GOT-10k, LaSOT): success, precision, normalised precision.

Definitions follow pysot's ``ope_benchmark.py``, which agrees with got10k's ``ExperimentOTB``:
21 IoU thresholds 0, 0.05, ..., 1 with a strict ``iou > t``; AUC is the mean of the success curve
(a perfect tracker scores 20/21); precision counts centre errors ``<= t`` for t = 0..50 px and
is reported at 20 px; normalised precision divides centre offsets by the ground-truth size and
is reported at 0.20. Overall curves are the mean of per-sequence curves (sequences weigh equally).

The ``otb-toolkit`` variant (:func:`otbkit_sequence_curves`) reproduces the MATLAB OTB toolkit
(``calcSeqErrRobust.m``, ``perfPlot.m``) that older papers used; see its docstring. The
``got10k`` variant (:func:`got10k_ious`) reproduces got10k's GOT-10k evaluation: AO and success
rates over the pooled frames after the first, overlaps of boxes clipped to the image.
"""

from __future__ import annotations

import numpy as np

from siambench.regions import centers, rect_iou

SUCCESS_THRESHOLDS = np.arange(0, 1.05, 0.05)  # 21 values, as pysot builds them
PRECISION_THRESHOLDS = np.arange(0, 51, 1)
NORM_PRECISION_THRESHOLDS = np.arange(0, 51, 1) / 100
PRECISION_AT = 20  # index of 20 px / 0.20


def success_curve(gt: np.ndarray, pred: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """Fraction of frames whose IoU exceeds each threshold.

    Frames whose ground truth has no positive width and height never count as successes but stay
    in the denominator; so do frames where the target is absent (``visible`` False).
    """
    n_frame = len(gt)
    iou = np.full(n_frame, -1.0)
    valid = (gt[:, 2] > 0) & (gt[:, 3] > 0)
    if visible is not None:
        valid &= visible
    iou[valid] = rect_iou(gt[valid], pred[valid])
    iou = np.nan_to_num(iou, nan=-1.0)
    return count_above(iou, SUCCESS_THRESHOLDS) / float(n_frame)


def count_above(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many `values` are > each threshold (exact counts; a sort, not a values x thresholds table)."""
    return len(values) - np.searchsorted(np.sort(values), thresholds, side="right")


def count_within(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many `values` are <= each threshold."""
    return np.searchsorted(np.sort(values), thresholds, side="right")


def _distance_curve(gt_c: np.ndarray, pred_c: np.ndarray, thresholds: np.ndarray, n_frame: int,
                    visible: np.ndarray | None) -> np.ndarray:
    # pysot marks frames whose ground-truth centre is not positive with distance -1, which then
    # counts as a hit at every threshold; we keep that quirk because published numbers have it.
    dist = np.full(len(gt_c), -1.0)
    valid = np.all(gt_c > 0, axis=1)
    if visible is not None:
        dist, gt_c, pred_c = dist[visible], gt_c[visible], pred_c[visible]
        valid = valid[visible]
    dist[valid] = np.sqrt(np.sum((gt_c[valid] - pred_c[valid]) ** 2, axis=1))
    dist = np.nan_to_num(dist, nan=np.inf)
    return count_within(dist, thresholds) / float(n_frame)


def precision_curve(gt: np.ndarray, pred: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """Fraction of frames whose centre error is within 0..50 px."""
    return _distance_curve(centers(gt), centers(pred), PRECISION_THRESHOLDS, len(gt), visible)


def norm_precision_curve(gt: np.ndarray, pred: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """Centre error divided by the ground-truth size, within 0..0.5."""
    with np.errstate(divide="ignore", invalid="ignore"):
        size = gt[:, 2:4]
        gt_c = centers(gt) / size
        pred_c = centers(pred) / size
    return _distance_curve(gt_c, pred_c, NORM_PRECISION_THRESHOLDS, len(gt), visible)


def sequence_curves(gt: np.ndarray, pred: np.ndarray, absent: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The three curves of one sequence (pred and gt already cut to the same length)."""
    visible = None if absent is None else ~absent.astype(bool)
    return {
        "success": success_curve(gt, pred, visible),
        "precision": precision_curve(gt, pred, visible),
        "norm_precision": norm_precision_curve(gt, pred, visible),
    }


def summarise(curves: dict[str, np.ndarray]) -> dict[str, float]:
    """Scalar scores from (mean) curves (normalised precision where the variant has it)."""
    scores = {
        "auc": float(np.mean(curves["success"])),
        "precision": float(curves["precision"][PRECISION_AT]),
        "success_rate": float(curves["success"][10]),  # IoU > 0.5
    }
    if "norm_precision" in curves:
        scores["norm_precision"] = float(curves["norm_precision"][PRECISION_AT])
    return scores


def mean_curves(per_sequence: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = per_sequence[0].keys()
    return {k: np.mean([c[k] for c in per_sequence], axis=0) for k in keys}


# ---------------------------------------------------------------------------------------------
# The MATLAB OTB toolkit
# ---------------------------------------------------------------------------------------------


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` with its floating-point values.

    MATLAB computes the first half of a range forward from `start` and the second half back
    from `stop` (the middle element of an even count is their mean), so ``0:0.05:1`` holds
    ``1 - 7 * 0.05 = 0.6499999999999999`` where ``np.arange`` has ``13 * 0.05 = 0.65``. The
    thresholds decide which overlaps count, so the toolkit's numbers need its values exactly.
    """
    n = int(np.floor((stop - start) / step + 1e-10))
    out = np.empty(n + 1)
    for k in range(n + 1):
        if 2 * k < n:
            out[k] = start + k * step
        elif 2 * k == n:
            out[k] = (start + stop) / 2
        else:
            out[k] = stop - (n - k) * step
    return out


OTBKIT_SUCCESS_THRESHOLDS = matlab_colon(0, 0.05, 1)


def _matlab_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``calcRectInt.m``, in its order of operations (inclusive pixel ends, no epsilon)."""
    right_a, right_b = a[:, 0] + a[:, 2] - 1, b[:, 0] + b[:, 2] - 1
    top_a, top_b = a[:, 1] + a[:, 3] - 1, b[:, 1] + b[:, 3] - 1
    inter = (np.maximum(0, np.minimum(right_a, right_b) - np.maximum(a[:, 0], b[:, 0]) + 1)
             * np.maximum(0, np.minimum(top_a, top_b) - np.maximum(a[:, 1], b[:, 1]) + 1))
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def _matlab_centre_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Centres as ``x + (w - 1) / 2`` (``calcSeqErrRobust.m``); Euclidean distance."""
    ca = np.stack([a[:, 0] + (a[:, 2] - 1) / 2, a[:, 1] + (a[:, 3] - 1) / 2], axis=1)
    cb = np.stack([b[:, 0] + (b[:, 2] - 1) / 2, b[:, 1] + (b[:, 3] - 1) / 2], axis=1)
    return np.sqrt(np.sum((ca - cb) ** 2, axis=1))
OTBKIT_PRECISION_THRESHOLDS = matlab_colon(0, 1, 50)


def otbkit_sequence_curves(gt: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Success and precision curves of one sequence as the MATLAB OTB toolkit computes them.

    - The first frame's result is replaced by the ground truth (the toolkit's runners do so).
    - A ground-truth row with any value <= 0 gets overlap -1 (never a success) and centre
      error -1 (within every precision threshold): ``calcSeqErrRobust.m``.
    - Counts are divided by the ground truth's length, so a result shorter than the ground
      truth has its missing frames counted as misses in both curves (``perfPlot.m``).
    - Success is ``overlap > threshold``, precision ``error <= threshold``, both over MATLAB's
      threshold values (:func:`matlab_colon`).
    """
    n_gt = len(gt)
    n = min(len(pred), n_gt)
    gt_n, pred_n = gt[:n, :4], np.array(pred[:n, :4], dtype=np.float64)
    if n:
        pred_n[0] = gt_n[0]
    valid = np.all(gt_n > 0, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = np.where(valid, np.nan_to_num(_matlab_overlap(gt_n, pred_n), nan=-1.0), -1.0)
        error = np.where(valid, np.nan_to_num(_matlab_centre_error(gt_n, pred_n), nan=np.inf), -1.0)
    success = count_above(overlap, OTBKIT_SUCCESS_THRESHOLDS) / float(n_gt)
    precision = count_within(error, OTBKIT_PRECISION_THRESHOLDS) / float(n_gt)
    return {"success": success, "precision": precision}


# ---------------------------------------------------------------------------------------------
# got10k's GOT-10k evaluation (ExperimentGOT10k, val split)
# ---------------------------------------------------------------------------------------------

GOT10K_THRESHOLDS = np.linspace(0, 1, 101)  # its success curve: 101 thresholds, strict ``>``


def bounded_iou(gt: np.ndarray, pred: np.ndarray, width: float, height: float) -> np.ndarray:
    """IoU of x,y,w,h boxes after both are clipped to the image, as got10k's ``rect_iou`` with
    its ``bound``: the corner into [0, W] x [0, H], then the size so the box ends inside. A box
    with NaN scores 0 (a miss), as siambench scores NaN boxes everywhere."""

    def clip(boxes: np.ndarray) -> np.ndarray:
        out = np.array(boxes[:, :4], dtype=np.float64)
        out[:, 0] = np.clip(out[:, 0], 0, width)
        out[:, 1] = np.clip(out[:, 1], 0, height)
        out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
        out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
        return out

    a, b = clip(gt), clip(pred)
    inter_w = np.maximum(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0)
    inter_h = np.maximum(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0)
    inter = inter_w * inter_h
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(invalid="ignore"):
        iou = np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)
    return np.nan_to_num(iou, nan=0.0)


def got10k_ious(gt: np.ndarray, pred: np.ndarray, width: float, height: float,
                visible: np.ndarray | None) -> np.ndarray:
    """The overlaps got10k scores in one sequence: every frame after the first where the target
    is visible (its cover.label above 0)."""
    ious = bounded_iou(gt[1:], pred[1:], width, height)
    return ious if visible is None else ious[visible[1:].astype(bool)]


def got10k_summary(ious: np.ndarray) -> dict[str, float]:
    """AO (mean overlap), SR at 0.5 and 0.75, over the overlaps given (one sequence's, or all
    sequences' pooled: got10k weighs every frame alike, not every sequence)."""
    if len(ious) == 0:
        return {"ao": float("nan"), "sr50": float("nan"), "sr75": float("nan")}
    return {"ao": float(np.mean(ious)), "sr50": float(np.mean(ious > 0.5)), "sr75": float(np.mean(ious > 0.75))}


def got10k_success_curve(ious: np.ndarray) -> np.ndarray:
    return np.mean(ious[:, None] > GOT10K_THRESHOLDS[None, :], axis=0) if len(ious) else \
        np.full(len(GOT10K_THRESHOLDS), np.nan)
