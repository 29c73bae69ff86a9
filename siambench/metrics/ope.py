"""One-pass evaluation (OTB, GOT-10k, LaSOT): success, precision, normalised precision.

Definitions follow pysot's ``ope_benchmark.py``, which agrees with got10k's ``ExperimentOTB``:
21 IoU thresholds 0, 0.05, ..., 1 with a strict ``iou > t``; AUC is the mean of the success curve
(a perfect tracker scores 20/21); precision counts centre errors ``<= t`` for t = 0..50 px and
is reported at 20 px; normalised precision divides centre offsets by the ground-truth size and
is reported at 0.20. Overall curves are the mean of per-sequence curves (sequences weigh equally).
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
    return (iou[:, None] > SUCCESS_THRESHOLDS[None, :]).sum(0) / float(n_frame)


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
    return (dist[:, None] <= thresholds[None, :]).sum(0) / float(n_frame)


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
    """Scalar scores from (mean) curves."""
    return {
        "auc": float(np.mean(curves["success"])),
        "precision": float(curves["precision"][PRECISION_AT]),
        "norm_precision": float(curves["norm_precision"][PRECISION_AT]),
        "success_rate": float(curves["success"][10]),  # IoU > 0.5
    }


def mean_curves(per_sequence: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = per_sequence[0].keys()
    return {k: np.mean([c[k] for c in per_sequence], axis=0) for k in keys}
