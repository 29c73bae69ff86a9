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
(lists of one-value code arrays or region arrays, already cut to the ground truth's length).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from siambench.regions import vot_overlaps, vot_overlaps_two_bounds, votkit_overlaps

INIT, FAILURE, SKIPPED = 1, 2, 0
BURNIN = 10
SKIPPING = 5


@dataclass
class VotSequence:
    name: str
    groundtruth: np.ndarray
    width: int
    height: int
    trajectories: list[list[np.ndarray]]  # repetitions
    tags: dict[str, np.ndarray] = field(default_factory=dict)


def _codes(traj: list[np.ndarray]) -> np.ndarray:
    """Per frame: the code (0, 1, 2) or -1 for a region."""
    return np.array([int(e[0]) if e.size == 1 else -1 for e in traj], dtype=np.int64)


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


def _all_overlaps(sequences: list[VotSequence], overlap_fn, shrink: int):
    """Overlaps of every repetition of every sequence in one vectorised call.

    shrink: subtract from the image size for the bound. An overlap_fn that returns a tuple of
    arrays (several bounds at once) gives a tuple of nested lists, one per array.
    """
    preds, gts, ws, hs, spans = [], [], [], [], []
    for seq in sequences:
        for traj in seq.trajectories:
            n = min(len(traj), len(seq.groundtruth))
            preds.extend(traj[:n])
            gts.extend(seq.groundtruth[:n])
            ws.append(np.full(n, seq.width - shrink, dtype=np.float64))
            hs.append(np.full(n, seq.height - shrink, dtype=np.float64))
            spans.append(n)
    flat = overlap_fn(preds, gts, (np.concatenate(ws), np.concatenate(hs)))
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
    acc_overlaps, eao_overlaps = _all_overlaps(sequences, _both_bounds, 0)
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
        "frames": total_frames,
        "repetitions": int(max((len(s.trajectories) for s in sequences), default=0)),
    }
    by_tag = {}
    for tag in tags:
        eao, curve = _pysot_eao(sequences, eao_overlaps, interval, tag)
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


def _pysot_eao(sequences, overlaps, interval, tag) -> tuple[float, np.ndarray]:
    rows, weights = [], []
    all_traj = [(seq, traj, ov) for seq, reps in zip(sequences, overlaps, strict=True)
                for traj, ov in zip(seq.trajectories, reps, strict=True)]
    if not all_traj:
        return float("nan"), np.zeros(0)
    max_len = max(len(ov) for _, _, ov in all_traj)
    most = max(len(seq.trajectories) for seq in sequences)
    for seq, traj, ov in all_traj:
        # Each sequence weighs as if it had as many repetitions as the most repeated one, so
        # that unequal counts do not reweight EAO (equal counts: a factor of exactly 1).
        scale = most / len(seq.trajectories)
        flags = np.asarray(_tag_mask(seq, tag, len(seq.groundtruth)), dtype=np.float64)
        traj_len = len(seq.groundtruth)
        fails = np.flatnonzero(_codes(traj) == FAILURE)
        if len(fails):
            points = [0] + [int(f) + SKIPPING for f in fails if f + SKIPPING <= len(ov)]
            for i, start in enumerate(points):
                row = np.full(max_len, np.nan)
                if i != len(points) - 1:
                    frag = ov[start : points[i + 1] + 1].copy()
                    row[:] = 0.0  # a failed segment counts as zero overlap to the end
                    w = flags[start : points[i + 1] + 1].sum() / (points[i + 1] - start + 1)
                else:
                    frag = ov[start:].copy()
                    w = flags[start : len(ov)].sum() / (traj_len - start + 1e-16)
                frag[np.isnan(frag)] = 0.0
                row[: len(frag)] = frag
                rows.append(row)
                weights.append(w * scale)
        else:
            n = min(len(ov), max_len)
            row = np.full(max_len, np.nan)
            row[:n] = ov[:n]
            rows.append(row)
            weights.append(flags[:n].sum() / n * scale)
    curve = _expected_overlaps(np.array(rows), np.array(weights))
    if interval is None:
        return float("nan"), curve
    low, high = interval
    weight = np.zeros(len(curve))
    weight[low - 1 : high] = 1
    valid = ~np.isnan(curve)
    with np.errstate(invalid="ignore", divide="ignore"):
        eao = float(np.sum(curve[valid] * weight[valid]) / np.sum(weight[valid]))
    return eao, curve


def _expected_overlaps(fragments: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """pysot's calculate_expected_overlap, vectorised over lengths with a running sum.

    E[i] = weighted mean, over fragments still defined at i, of their mean overlap on 1..i.
    """
    n_len = fragments.shape[1]
    curve = np.zeros(n_len, dtype=np.float32)
    curve[0] = 1
    if n_len < 2:
        return curve
    body = fragments[:, 1:]
    defined = ~np.isnan(body)
    means = np.cumsum(body, axis=1) / np.arange(1, n_len)[None, :]
    w = weights[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.where(defined, means * w, 0.0).sum(axis=0)
        den = np.where(defined, w, 0.0).sum(axis=0)
        values = num / den
    curve[1:] = np.where(defined.any(axis=0), values, 0.0)
    return curve


# ---------------------------------------------------------------------------------------------
# vot-toolkit 0.9.0
# ---------------------------------------------------------------------------------------------


def votkit_supervised(sequences: list[VotSequence], interval: tuple[int, int] | None,
                      tags: tuple[str, ...] = ("all",)) -> dict:
    """AccuracyRobustness, AverageAccuracyRobustness, EAOCurve and EAOScore of vot-toolkit."""
    overlaps = _all_overlaps(sequences, votkit_overlaps, 0)
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
        "frames": int(total),
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
    fn = vot_overlaps if variant == "pysot" else votkit_overlaps
    overlaps = _all_overlaps(sequences, fn, 0)
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
