"""Score raw results: the Python API behind ``siambench eval``.

    scores = evaluate("vot2018", results_dir="results", data_root="data")
    scores["trackers"]["SiamRPN"]["overall"]["eao"]

The returned dict is also what ``siambench eval --json`` writes:
``{"dataset", "variant", "siambench_version", "trackers": {name: {"overall", "sequences"}}}``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from siambench import __version__
from siambench.datasets import Dataset, load_dataset
from siambench.errors import InputError, SiambenchError, UnknownNameError
from siambench.metrics import VARIANTS, ope
from siambench.metrics import vot as vot_metrics
from siambench.results import SUPERVISED_DIR, UNSUPERVISED_DIR, ResultStore, list_trackers

log = logging.getLogger("siambench")

VOT_TAGS = ("all", "camera_motion", "illum_change", "motion_change", "size_change", "occlusion", "empty")


def evaluate(dataset: str | Dataset, results_dir: str | Path = "results", data_root: str | Path | None = None,
             trackers: list[str] | None = None, variant: str = "pysot", strict: bool = False) -> dict:
    """Score every tracker found under the results directory (or the named ones) on a dataset."""
    if variant not in VARIANTS:
        raise UnknownNameError("metric variant", variant, list(VARIANTS))
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_root)
    folders = (ds.results_name, *ds.results_aliases)
    found = list_trackers(Path(results_dir), folders)
    where = " or ".join(str(Path(results_dir) / f) for f in folders)
    if trackers:
        missing = [t for t in trackers if t not in found]
        if missing:
            raise InputError(None, f"no results for tracker(s) {', '.join(missing)} under {where}")
        found = {t: found[t] for t in trackers}
    if not found:
        raise InputError(None, f"no raw results for {ds.name}: expected tracker folders under {where}")
    out = {"dataset": ds.name, "variant": variant, "siambench_version": __version__, "trackers": {}}
    for name, base in found.items():
        store = ResultStore(base.parent, base.name, name)
        out["trackers"][name] = score_tracker(ds, store, variant, strict)
    return out


def score_tracker(ds: Dataset, store: ResultStore, variant: str = "pysot", strict: bool = False) -> dict:
    """Scores of one tracker's raw results; the experiments present decide what is computed."""
    result: dict = {"overall": {}, "sequences": {}}
    if ds.protocol == "ope":
        _merge(result, score_ope(ds, store, strict))
        return result
    ran = False
    if (store.root / SUPERVISED_DIR).is_dir():
        _merge(result, score_supervised(ds, store, variant, strict))
        ran = True
    if (store.root / UNSUPERVISED_DIR).is_dir():
        _merge(result, score_unsupervised(ds, store, variant, strict))
        ran = True
    if not ran:
        raise InputError(store.root, f"expected a {SUPERVISED_DIR}/ or {UNSUPERVISED_DIR}/ folder of VOT results")
    return result


def _merge(into: dict, part: dict) -> None:
    for key in ("curves", "tags", "attributes"):
        if key in part["overall"] and key in into["overall"]:
            into["overall"][key].update(part["overall"].pop(key))
    into["overall"].update(part["overall"])
    for seq, values in part["sequences"].items():
        into["sequences"].setdefault(seq, {}).update(values)


def _fit(seq_name: str, n_pred: int, n_gt: int, path: Path, strict: bool) -> int:
    """Common length of a result and its ground truth; a mismatch warns (or fails with strict)."""
    if n_pred == n_gt:
        return n_gt
    message = f"{seq_name}: result has {n_pred} frames, ground truth {n_gt}; scoring the first {min(n_pred, n_gt)}"
    if strict:
        raise InputError(path, f"expected {n_gt} lines (one per frame), got {n_pred}")
    log.warning(message)
    return min(n_pred, n_gt)


def _check_nan(path: Path, nan_rows: np.ndarray, strict: bool) -> None:
    """NaN boxes are scored as misses (as pysot and got10k do); say so, or fail with strict."""
    if not len(nan_rows):
        return
    line = int(nan_rows[0]) + 1
    if strict:
        raise InputError(path, "expected finite box values, got NaN", line)
    log.warning("%s:%d: NaN in %d box(es); scored as misses (--strict makes this an error)",
                path, line, len(nan_rows))


def score_ope(ds: Dataset, store: ResultStore, strict: bool = False) -> dict:
    per_seq, curves, attrs = {}, [], {}
    missing = []
    for seq in ds:
        path = store.find_ope(seq.name)
        if path is None:
            missing.append(seq.name)
            continue
        from siambench.results import read_boxes

        pred = read_boxes(path)
        n = _fit(seq.name, len(pred), len(seq), path, strict)
        _check_nan(path, np.flatnonzero(np.isnan(pred[:n]).any(axis=1)), strict)
        absent = None if seq.absent is None else seq.absent[:n]
        c = ope.sequence_curves(seq.groundtruth[:n, :4], pred[:n], absent)
        curves.append(c)
        per_seq[seq.name] = ope.summarise(c)
        for a in seq.attributes:
            attrs.setdefault(a, []).append(c)
    _check_missing(missing, ds, store, strict)
    mean = ope.mean_curves(curves)
    overall = ope.summarise(mean)
    overall["curves"] = {k: v.tolist() for k, v in mean.items()}
    overall["attributes"] = {}
    for a, cs in sorted(attrs.items()):
        m = ope.mean_curves(cs)
        overall["attributes"][a] = {**ope.summarise(m), "sequences": len(cs), "success_curve": m["success"].tolist()}
    overall["sequences_scored"] = len(curves)
    return {"overall": overall, "sequences": per_seq}


def _check_missing(missing: list[str], ds: Dataset, store: ResultStore, strict: bool) -> None:
    if not missing:
        return
    if len(missing) == len(ds) or strict:
        raise InputError(store.root, f"no result files for {len(missing)} of {len(ds)} sequences "
                                     f"(first: {missing[0]})")
    log.warning("%s: no results for %d sequences (%s); they are left out",
                store.tracker, len(missing), ", ".join(missing[:5]))


def _vot_inputs(ds: Dataset, store: ResultStore, experiment: str, strict: bool) -> list[vot_metrics.VotSequence]:
    out, missing = [], []
    for seq in ds:
        paths = store.find_vot(seq.name, experiment)
        if not paths:
            missing.append(seq.name)
            continue
        from siambench.results import read_vot_trajectory

        reps = []
        for p in paths:
            traj = read_vot_trajectory(p)
            n = _fit(seq.name, len(traj), len(seq), p, strict)
            if n and np.isnan(np.concatenate(traj[:n])).any():  # the per-line search is rare
                _check_nan(p, np.flatnonzero([np.isnan(entry).any() for entry in traj[:n]]), strict)
            reps.append(traj[:n])
        if seq.width <= 0 or seq.height <= 0:
            raise InputError(ds.root, f"{seq.name}: image size unknown (no frames and no size in the annotations)")
        out.append(vot_metrics.VotSequence(seq.name, seq.groundtruth, seq.width, seq.height, reps, seq.tags))
    _check_missing(missing, ds, store, strict)
    return out


def score_supervised(ds: Dataset, store: ResultStore, variant: str = "pysot", strict: bool = False) -> dict:
    sequences = _vot_inputs(ds, store, SUPERVISED_DIR, strict)
    if variant == "pysot":
        tags = tuple(t for t in VOT_TAGS if t == "all" or any(t in s.tags for s in sequences) or t == "empty")
        if not any(s.tags for s in sequences):
            tags = ("all",)
        return vot_metrics.pysot_supervised(sequences, ds.eao_interval, tags)
    return vot_metrics.votkit_supervised(sequences, ds.eao_interval)


def score_unsupervised(ds: Dataset, store: ResultStore, variant: str = "pysot", strict: bool = False) -> dict:
    sequences = _vot_inputs(ds, store, UNSUPERVISED_DIR, strict)
    return vot_metrics.unsupervised(sequences, variant)


def clean_json(value):
    """Scores as JSON-safe values: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


__all__ = ["evaluate", "score_tracker", "clean_json", "SiambenchError"]
