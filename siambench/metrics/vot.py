"""VOT short-term measures: accuracy, robustness, failures, EAO (supervised) and AO (unsupervised).

Two definitions are implemented, selected by name:

* ``pysot`` (default): pysot's port of the VOT challenge toolkit (``ar_benchmark.py``,
  ``eao_benchmark.py``), which reproduces the published tables (e.g. Table 2 of SiamRPN++).
  Accuracy pools per-frame overlaps of all sequences (init frame and the 9 after it excluded);
  robustness is failures per 100 frames; EAO zero-pads failed segments, NaN-pads the last one of
  each trajectory and averages the expected-overlap curve over the year's interval.
* ``vot-toolkit``: vot-toolkit 0.9.0's ``AccuracyRobustness`` / ``EAOCurve`` / ``EAOScore``:
  length-weighted per-sequence accuracy, segments cut at failures, EAO = mean(curve[low:high+1]).

Inputs are per sequence: the ground truth, the image size, tags, and the repetitions' trajectories
(:class:`~siambench.trajectory.Trajectory`, or lists of one-value code arrays and region arrays,
which are packed into one; already cut to the ground truth's length).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from siambench.cache import remembered_overlaps
from siambench.regions import vot_overlaps, vot_overlaps_two_bounds, votkit_overlaps
from siambench.trajectory import Trajectory

INIT, FAILURE, SKIPPED = 1, 2, 0
BURNIN = 10
SKIPPING = 5


@dataclass
class VotSequence:
    name: str
    groundtruth: np.ndarray
    width: int
    height: int
    trajectories: list[Trajectory]  # repetitions (lists of per-frame arrays are packed)
    tags: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.trajectories = [Trajectory.of(t) for t in self.trajectories]


def _codes(traj: Trajectory) -> np.ndarray:
    """Per frame: the code (0, 1, 2) or -1 for a region."""
    return Trajectory.of(traj).codes()


def _burnin_mask(codes: np.ndarray, burnin: int) -> np.ndarray:
    """True on each initialisation frame and the burnin - 1 frames after it."""
    mask = np.zeros(len(codes), dtype=bool)
    for i in np.flatnonzero(codes == INIT):
        mask[i : i + burnin] = True
    return mask


def _tag_mask(seq: VotSequence, tag: str, n: int) -> np.ndarray:
    if tag == "all":
        return np.ones(n, dtype=bool)
    if tag == "empty":
        any_tag = np.zeros(n, dtype=bool)
        for values in seq.tags.values():
            any_tag[: len(values)] |= values[:n].astype(bool)
        return ~any_tag
    values = seq.tags.get(tag)
    out = np.zeros(n, dtype=bool)
    if values is not None:
        out[: min(n, len(values))] = values[:n].astype(bool)
    return out


def _both_bounds(preds, gts, bounds) -> tuple[np.ndarray, np.ndarray]:
    """pysot's two overlaps per frame: bounded by the image (W, H) and by (W - 1, H - 1)."""
    w, h = bounds
    return vot_overlaps_two_bounds(preds, gts, (w, h), (w - 1, h - 1))


def _all_overlaps(sequences: list[VotSequence], overlap_fn, definition: str):
    """Overlaps of every repetition of every sequence in one vectorised call.

    definition: what overlap_fn computes, naming its results in the overlap cache
    (:mod:`siambench.cache`). Each frame is bounded by its image size. An overlap_fn that
    returns a tuple of arrays (several bounds at once) gives a tuple of nested lists, one per
    array.
    """
    preds, gts, ws, hs, spans = [], [], [], [], []
    for seq in sequences:
        for traj in seq.trajectories:
            n = min(len(traj), len(seq.groundtruth))
            preds.append(traj[:n])
            gts.append(Trajectory.of(seq.groundtruth[:n]))
            ws.append(np.full(n, seq.width, dtype=np.float64))
            hs.append(np.full(n, seq.height, dtype=np.float64))
            spans.append(n)
    bounds = (np.concatenate(ws) if ws else np.zeros(0), np.concatenate(hs) if hs else np.zeros(0))
    flat = remembered_overlaps(definition, overlap_fn, Trajectory.concat(preds), Trajectory.concat(gts), bounds)
    if isinstance(flat, tuple):
        return tuple(_split_overlaps(sequences, part, spans) for part in flat)
    return _split_overlaps(sequences, flat, spans)


def _split_overlaps(sequences: list[VotSequence], flat: np.ndarray, spans: list[int]) -> list[list[np.ndarray]]:
    out, pos, k = [], 0, 0
    for seq in sequences:
        reps = []
        for _ in seq.trajectories:
            reps.append(flat[pos : pos + spans[k]])
            pos += spans[k]
            k += 1
        out.append(reps)
    return out


# ---------------------------------------------------------------------------------------------
# pysot (default)
# ---------------------------------------------------------------------------------------------


def pysot_supervised(sequences: list[VotSequence], interval: tuple[int, int] | None,
                     tags: tuple[str, ...] = ("all",)) -> dict:
    """Accuracy, robustness, failures, EAO and the EAO curve as pysot computes them."""
    # One rasterisation serves both bounds (accuracy: W x H, EAO: W - 1 x H - 1); accuracy then
    # leaves out each initialisation frame and the BURNIN - 1 after it, as pysot does.
    acc_overlaps, eao_overlaps = _all_overlaps(sequences, _both_bounds, "pysot, bounds W x H and W-1 x H-1")
    for seq, reps in zip(sequences, acc_overlaps, strict=True):
        for traj, ov in zip(seq.trajectories, reps, strict=True):
            ov[_burnin_mask(_codes(traj), BURNIN)[: len(ov)]] = np.nan

    per_seq: dict[str, dict] = {}
    frame_overlaps = []  # per sequence: nanmean over repetitions, per frame
    failures = []  # per sequence: failures of each repetition
    for seq, reps in zip(sequences, acc_overlaps, strict=True):
        length = min(len(r) for r in reps)
        with np.errstate(invalid="ignore"), _quiet():
            per_frame = np.nanmean(np.stack([r[:length] for r in reps]), axis=0)
        fails = [int(np.sum(_codes(t) == FAILURE)) for t in seq.trajectories]
        frame_overlaps.append(per_frame)
        failures.append(fails)
        with _quiet():
            seq_acc = float(np.nanmean(per_frame)) if np.any(~np.isnan(per_frame)) else float("nan")
        per_seq[seq.name] = {
            "accuracy": seq_acc,
            "failures": float(np.mean(fails)),
            "robustness": 100.0 * float(np.mean(fails)) / max(len(per_frame), 1),
            "length": len(per_frame),
        }
    all_frames = np.concatenate(frame_overlaps) if frame_overlaps else np.zeros(0)
    total_frames = len(all_frames)
    fails_by_rep = _failures_by_repetition(failures)
    with _quiet():
        accuracy = float(np.nanmean(all_frames)) if total_frames else float("nan")
    overall = {
        "accuracy": accuracy,
        "robustness": float(np.mean(fails_by_rep / total_frames) * 100) if total_frames else float("nan"),
        "failures": float(np.mean(fails_by_rep)),
        "repetitions": int(max((len(s.trajectories) for s in sequences), default=0)),
    }
    by_tag = {}
    for tag, (eao, curve) in _pysot_eao(sequences, eao_overlaps, interval, tags).items():
        if tag == "all":
            overall["eao"] = eao
            overall["curves"] = {"eao": curve.tolist()}
        by_tag[tag] = {"eao": eao}
    for tag in tags:
        if tag == "all":
            continue
        masks = [_tag_mask(s, tag, len(f)) for s, f in zip(sequences, frame_overlaps, strict=True)]
        sel = np.concatenate([f[m] for f, m in zip(frame_overlaps, masks, strict=True)]) if masks else np.zeros(0)
        tagged = sum(int(m.sum()) for m in masks)
        fails = 0.0
        for s, m in zip(sequences, masks, strict=True):
            fails += np.mean([np.sum((_codes(t)[: len(m)] == FAILURE) & m[: len(t)]) for t in s.trajectories])
        with _quiet():
            by_tag[tag].update({
                "accuracy": float(np.nanmean(sel)) if np.any(~np.isnan(sel)) else float("nan"),
                "failures": float(fails),
                "robustness": 100.0 * fails / tagged if tagged else float("nan"),
                "frames": tagged,
            })
    overall["tags"] = {k: v for k, v in by_tag.items() if k != "all"}
    return {"overall": overall, "sequences": per_seq}


def _failures_by_repetition(failures: list[list[int]]) -> np.ndarray:
    """Total failures of each repetition over all sequences (pysot sums per repetition)."""
    reps = max((len(f) for f in failures), default=0)
    if reps == 0:
        return np.zeros(1)
    # A sequence with fewer repetitions contributes its mean to the missing ones.
    table = np.array([f + [float(np.mean(f))] * (reps - len(f)) for f in failures], dtype=np.float64)
    return table.sum(axis=0)


def _pysot_eao(sequences, overlaps, interval, tags) -> dict[str, tuple[float, np.ndarray]]:
    """EAO and its curve for each tag. The fragments do not depend on the tag, only their
    weights (the tagged share of each fragment's frames) do, so they are cut once."""
    rows, spans, owners = [], [], []  # fragment, (first, last frame, divisor) for its weight, sequence
    all_traj = [(k, seq, traj, ov) for k, (seq, reps) in enumerate(zip(sequences, overlaps, strict=True))
                for traj, ov in zip(seq.trajectories, reps, strict=True)]
    if not all_traj:
        return {tag: (float("nan"), np.zeros(0)) for tag in tags}
    max_len = max(len(ov) for _, _, _, ov in all_traj)
    most = max(len(seq.trajectories) for seq in sequences)
    scales = []
    for k, seq, traj, ov in all_traj:
        # Each sequence weighs as if it had as many repetitions as the most repeated one, so
        # that unequal counts do not reweight EAO (equal counts: a factor of exactly 1).
        scale = most / len(seq.trajectories)
        traj_len = len(seq.groundtruth)
        fails = np.flatnonzero(_codes(traj) == FAILURE)
        if len(fails):
            points = [0] + [int(f) + SKIPPING for f in fails if f + SKIPPING <= len(ov)]
            for i, start in enumerate(points):
                row = np.full(max_len, np.nan)
                if i != len(points) - 1:
                    frag = ov[start : points[i + 1] + 1].copy()
                    row[:] = 0.0  # a failed segment counts as zero overlap to the end
                    spans.append((start, points[i + 1] + 1, points[i + 1] - start + 1))
                else:
                    frag = ov[start:].copy()
                    spans.append((start, len(ov), traj_len - start + 1e-16))
                frag[np.isnan(frag)] = 0.0
                row[: len(frag)] = frag
                rows.append(row)
                owners.append(k)
                scales.append(scale)
        else:
            n = min(len(ov), max_len)
            row = np.full(max_len, np.nan)
            row[:n] = np.nan_to_num(ov[:n], nan=0.0)  # a NaN region is a miss here as in a failed run
            rows.append(row)
            spans.append((0, n, n))
            owners.append(k)
            scales.append(scale)
    curves = _expected_overlaps(np.array(rows), [_fragment_weights(sequences, tag, spans, owners, scales)
                                                 for tag in tags])
    return {tag: (_eao_of_curve(curve, interval), curve) for tag, curve in zip(tags, curves, strict=True)}


def _fragment_weights(sequences, tag, spans, owners, scales) -> np.ndarray:
    """Per fragment: the share of its frames carrying the tag, times its sequence's scale."""
    tallies = {}
    weights = np.empty(len(spans))
    for i, ((first, last, divisor), k, scale) in enumerate(zip(spans, owners, scales, strict=True)):
        if k not in tallies:
            seq = sequences[k]
            flags = np.asarray(_tag_mask(seq, tag, len(seq.groundtruth)), dtype=np.float64)
            tallies[k] = np.concatenate([[0.0], np.cumsum(flags)])  # integer counts: exact
        tally = tallies[k]
        last = min(last, len(tally) - 1)
        weights[i] = (tally[last] - tally[min(first, last)]) / divisor * scale
    return weights


def _eao_of_curve(curve: np.ndarray, interval: tuple[int, int] | None) -> float:
    if interval is None:
        return float("nan")
    low, high = interval
    weight = np.zeros(len(curve))
    weight[low - 1 : high] = 1
    valid = ~np.isnan(curve)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(curve[valid] * weight[valid]) / np.sum(weight[valid]))


def _expected_overlaps(fragments: np.ndarray, weights: list[np.ndarray]) -> list[np.ndarray]:
    """pysot's calculate_expected_overlap, vectorised over lengths with a running sum, for each
    set of fragment weights.

    E[i] = weighted mean, over fragments still defined at i, of their mean overlap on 1..i.
    """
    n_len = fragments.shape[1]
    curves = [np.zeros(n_len, dtype=np.float32) for _ in weights]
    for curve in curves:
        curve[0] = 1
    if n_len < 2:
        return curves
    body = fragments[:, 1:]
    defined = ~np.isnan(body)
    any_defined = defined.any(axis=0)
    with np.errstate(invalid="ignore"):
        means = np.where(defined, np.cumsum(body, axis=1) / np.arange(1, n_len)[None, :], 0.0)
    present = defined.astype(np.float64)
    for curve, w in zip(curves, weights, strict=True):
        w = w[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            values = (means * w).sum(axis=0) / (present * w).sum(axis=0)
        curve[1:] = np.where(any_defined, values, 0.0)
    return curves


# ---------------------------------------------------------------------------------------------
# vot-toolkit 0.9.0
# ---------------------------------------------------------------------------------------------


def votkit_supervised(sequences: list[VotSequence], interval: tuple[int, int] | None,
                      tags: tuple[str, ...] = ("all",)) -> dict:
    """AccuracyRobustness, AverageAccuracyRobustness, EAOCurve and EAOScore of vot-toolkit."""
    overlaps = _all_overlaps(sequences, votkit_overlaps, "vot-toolkit")
    per_seq = {}
    acc_w = fail_w = total = 0.0
    segments, success = [], []
    total_failures = 0.0
    for seq, reps in zip(sequences, overlaps, strict=True):
        accs, fails = [], []
        for traj, ov in zip(seq.trajectories, reps, strict=True):
            codes = _codes(traj)[: len(ov)]
            ov = np.where(codes >= 0, 0.0, np.nan_to_num(ov, nan=0.0))  # special regions overlap 0
            mask = ~((codes == SKIPPED) | (codes == FAILURE) | _burnin_mask(codes, BURNIN))
            accs.append(float(np.mean(ov[mask])) if mask.any() else 0.0)
            fails.append(int(np.sum(_codes(traj) == FAILURE)))
            inits = np.flatnonzero(codes == INIT)
            fail_idx = np.flatnonzero(codes == FAILURE)
            if len(fail_idx):
                for i in range(len(fail_idx)):
                    segments.append(ov[inits[i] : fail_idx[i]])
                    success.append(False)
                if len(inits) > len(fail_idx):
                    segments.append(ov[inits[-1] :])
                    success.append(True)
            else:
                segments.append(ov)
                success.append(True)
        length = len(seq.groundtruth)
        a, f = float(np.mean(accs)), float(np.mean(fails))
        acc_w += a * length
        fail_w += f * length
        total += length
        total_failures += f
        per_seq[seq.name] = {"accuracy": a, "failures": f, "robustness": 100.0 * f / length, "length": length}
    curve = _votkit_eao_curve(segments, success)
    overall = {
        "accuracy": acc_w / total if total else float("nan"),
        "robustness": 100.0 * total_failures / total if total else float("nan"),
        "failures": total_failures,
        "weighted_failures": fail_w / total if total else float("nan"),
        "repetitions": int(max((len(s.trajectories) for s in sequences), default=0)),
        "curves": {"eao": curve.tolist()},
    }
    if interval is not None and len(curve):
        low, high = interval
        part = curve[low : high + 1]
        overall["eao"] = float(np.mean(part)) if len(part) else float("nan")
    else:
        overall["eao"] = float("nan")
    overall["tags"] = {}
    return {"overall": overall, "sequences": per_seq}


def _votkit_eao_curve(segments: list[np.ndarray], success: list[bool]) -> np.ndarray:
    if not segments:
        return np.zeros(0, dtype=np.float32)
    max_len = max(len(s) for s in segments)
    values = np.zeros((len(segments), max_len), dtype=np.float32)
    mask = np.zeros((len(segments), max_len), dtype=np.float32)
    for i, (seg, ok) in enumerate(zip(segments, success, strict=True)):
        values[i, : len(seg)] = seg
        mask[i, :] = 1 if not ok else 0
        if ok:
            mask[i, : len(seg)] = 1
    running = values.copy()
    if max_len > 1:
        running[:, 1:] = np.cumsum(values[:, 1:], axis=1, dtype=np.float64) / np.arange(1, max_len)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sum(running * mask, axis=0) / np.sum(mask, axis=0)).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Unsupervised (no reset): average overlap
# ---------------------------------------------------------------------------------------------


def unsupervised(sequences: list[VotSequence], variant: str) -> dict:
    """AO: mean overlap after the initial frame, per sequence, then weighted by sequence length.

    The pysot variant uses the C library's overlap and skips only the init frame; the
    vot-toolkit variant uses its own rasteriser and skips the init frame plus the 9 after it
    (its ``SequenceAccuracy`` burn-in), counting special frames as zero overlap.
    """
    if variant == "pysot":
        overlaps = _all_overlaps(sequences, vot_overlaps, "pysot, bound W x H")
    else:
        overlaps = _all_overlaps(sequences, votkit_overlaps, "vot-toolkit")
    per_seq, num, den = {}, 0.0, 0
    for seq, reps in zip(sequences, overlaps, strict=True):
        values = []
        for traj, ov in zip(seq.trajectories, reps, strict=True):
            codes = _codes(traj)[: len(ov)]
            ov = np.where(codes >= 0, 0.0, np.nan_to_num(ov, nan=0.0))
            skip = _burnin_mask(codes, BURNIN if variant != "pysot" else 1)
            skip[0] = True
            values.append(float(np.mean(ov[~skip])) if (~skip).any() else 0.0)
        ao = float(np.mean(values))
        per_seq[seq.name] = {"ao": ao, "length": len(seq.groundtruth)}
        num += ao * len(seq.groundtruth)
        den += len(seq.groundtruth)
    return {"overall": {"ao": num / den if den else float("nan")}, "sequences": per_seq}


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings where NaN is the intended answer."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
