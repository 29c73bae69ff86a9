"""Score raw results: the Python API behind ``siambench eval``.

    scores = evaluate("vot2018", results_dir="results", data_root="data")
    scores["trackers"]["SiamRPN"]["overall"]["eao"]

The returned dict is also what ``siambench eval --json`` writes:
``{"dataset", "variant", "siambench_version", "trackers": {name: {"overall", "sequences"}}}``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from siambench import __version__
from siambench.datasets import Dataset, Sequence, load_dataset
from siambench.errors import InputError, SiambenchError, UnknownNameError
from siambench.metrics import OPE_ONLY, VARIANTS, VOT_ONLY, ope
from siambench.metrics import vot as vot_metrics
from siambench.results import (
    FAILURE,
    INIT,
    REALTIME_DIR,
    RESET_EXPERIMENTS,
    SKIPPED,
    SUPERVISED_DIR,
    UNSUPERVISED_DIR,
    ResultIndex,
    ResultStore,
    list_trackers,
    read_boxes,
    read_vot_trajectory,
)
from siambench.scores import FRAME_COUNT, SEQUENCE_COUNT
from siambench.trajectory import Trajectory

log = logging.getLogger("siambench")

VOT_TAGS = ("all", "camera_motion", "illum_change", "motion_change", "size_change", "occlusion", "empty")


def evaluate(dataset: str | Dataset, results_dir: str | Path = "results", data_root: str | Path | None = None,
             trackers: list[str] | None = None, variant: str = "pysot", strict: bool = False) -> dict:
    """Score every tracker found under the results directory (or the named ones) on a dataset."""
    if variant not in VARIANTS:
        raise UnknownNameError("metric variant", variant, list(VARIANTS))
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_root, strict=strict)
    _check_annotated(ds)
    if variant in OPE_ONLY and ds.protocol != "ope":
        raise SiambenchError(f"--variant {variant} defines one-pass (OTB-style) scores only; {ds.name} is a VOT dataset")
    if variant in VOT_ONLY and ds.protocol == "ope":
        raise SiambenchError(f"--variant {variant} defines VOT scores only; {ds.name} is a one-pass dataset "
                             "(its scores would be pysot's under another name)")
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
    if ds.attribute_set:
        out["attribute_set"] = ds.attribute_set
    if ds.protocol == "supervised":
        out["eao_interval"] = list(ds.eao_interval) if ds.eao_interval else None  # EAO depends on it
    for name, base in found.items():
        store = ResultStore(base.parent, base.name, name)
        out["trackers"][name] = score_tracker(ds, store, variant, strict)
    return out


def _check_annotated(ds: Dataset) -> None:
    """A test split whose ground truth is withheld (first frame only) cannot be scored here."""
    withheld = [s.name for s in ds if len(s) > 1 and bool(np.isnan(s.groundtruth[1:]).all())]
    if withheld:
        raise SiambenchError(
            f"{ds.name}: the ground truth of {len(withheld)} sequence(s) is withheld (first frame only, "
            f"e.g. {withheld[0]}): the benchmark's server scores them; write a submission with "
            "`siambench export-trackingnet --zip` or `siambench export-got10k`")


def score_tracker(ds: Dataset, store: ResultStore, variant: str = "pysot", strict: bool = False) -> dict:
    """Scores of one tracker's raw results; the experiments present decide what is computed.

    Which files are scored is :class:`siambench.results.ResultIndex`'s answer: the ledger's files
    in a folder siambench wrote, the named files in a foreign one.
    """
    index = ResultIndex(store, strict, ds.names)
    index.check_unlisted()
    index.check_spellings(ds.names)
    index.check_one_run(seq.name for seq in ds)
    result: dict = {"overall": {}, "sequences": {}}
    if ds.protocol == "ope":
        scorer = score_got10k if variant == "got10k" else score_ope
        _merge(result, scorer(ds, index, variant=variant))
        _add_speed(result, store, None)
        return result
    experiments = index.experiments()
    if SUPERVISED_DIR in experiments:
        _merge(result, score_supervised(ds, index, variant))
    if UNSUPERVISED_DIR in experiments:
        _merge(result, score_unsupervised(ds, index, variant))
    if REALTIME_DIR in experiments:
        _merge(result, _named_for(REALTIME_DIR, score_supervised(ds, index, variant, experiment=REALTIME_DIR)))
    if not experiments:
        raise InputError(store.root, f"expected a {SUPERVISED_DIR}/, {UNSUPERVISED_DIR}/ or {REALTIME_DIR}/ "
                                     "folder of VOT results")
    _add_speed(result, store, experiments[0])  # the baseline's times where it was run
    return result


def _add_speed(result: dict, store: ResultStore, experiment: str | None) -> None:
    """Frames per second from the per-frame times beside the results (``<seq>_time.txt``).

    Per sequence and overall, frames timed over the seconds they took (frames with a time of 0,
    such as skipped ones, left out): whole-run throughput, as pysot prints it, rather than
    got10k's mean of per-frame rates, which a few fast frames inflate. Only the sequences
    scored, and only where a time file exists; a speed is not a score, and no gate compares it
    (timings move with the machine).
    """
    frames = seconds = 0.0
    for seq, values in result["sequences"].items():
        try:
            times = store.read_times(seq, experiment)
        except InputError as exc:  # a damaged time file costs the speed, not the scores
            log.warning("%s; no speed for %s", exc, seq)
            continue
        if times is None:
            continue
        times = times[np.isfinite(times) & (times > 0)]
        if len(times):
            values["fps"] = len(times) / float(times.sum())
            frames, seconds = frames + len(times), seconds + float(times.sum())
    if seconds > 0:
        result["overall"]["fps"] = frames / seconds


def _named_for(experiment: str, scores: dict) -> dict:
    """`scores` with each metric named ``<experiment>_<metric>`` (realtime_eao beside the
    baseline's eao), per sequence, per tag and per curve too; the completeness counts keep
    their names, so that :func:`_merge` adds them up over the experiments."""
    def named(values: dict, kept: tuple[str, ...] = ()) -> dict:
        return {key if key in kept else f"{experiment}_{key}": value for key, value in values.items()}

    overall = named({k: v for k, v in scores["overall"].items() if k not in ("curves", "tags")},
                    kept=(SEQUENCE_COUNT, FRAME_COUNT))
    if "curves" in scores["overall"]:
        overall["curves"] = named(scores["overall"]["curves"])
    if "tags" in scores["overall"]:  # a tag's frame count is the experiment's own, as its scores are
        overall["tags"] = {tag: named(values) for tag, values in scores["overall"]["tags"].items()}
    return {"overall": overall, "sequences": {seq: named(v) for seq, v in scores["sequences"].items()}}


def _merge(into: dict, part: dict) -> None:
    for key in ("curves", "tags", "attributes"):
        if key in part["overall"] and key in into["overall"]:
            group = into["overall"][key]
            for name, values in part["overall"].pop(key).items():  # a tag's scores join its others
                if isinstance(values, dict) and isinstance(group.get(name), dict):
                    group[name].update(values)
                else:
                    group[name] = values
    # The completeness a gate checks, over the VOT experiments: the sequences all scored (a
    # sequence lost from any counts), and every result line any scored (a line or a repetition
    # lost from any counts, which the lesser count would hide behind the others).
    for key, combine in ((SEQUENCE_COUNT, min), (FRAME_COUNT, lambda a, b: a + b)):
        if key in part["overall"] and key in into["overall"]:
            part["overall"][key] = combine(part["overall"][key], into["overall"][key])
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


def _check_finite(path: Path, values: list[np.ndarray] | np.ndarray, strict: bool) -> None:
    """NaN and infinite boxes are scored as misses (as pysot and got10k do NaN); say so, or fail."""
    bad = [i for i, v in enumerate(values) if not np.isfinite(v).all()]
    if not bad:
        return
    kind = "NaN" if all(np.isnan(values[i]).any() and not np.isinf(values[i]).any() for i in bad) else "infinity"
    if strict:
        raise InputError(path, f"expected finite box values, got {kind}", bad[0] + 1)
    log.warning("%s:%d: %s in %d box(es); scored as misses (--strict makes this an error)",
                path, bad[0] + 1, kind, len(bad))


def _as_misses(values: np.ndarray) -> np.ndarray:
    """Infinite values become NaN, which every metric scores as a miss."""
    return np.where(np.isinf(values), np.nan, values)


def _ope_predictions(ds: Dataset, index: ResultIndex) -> Iterator[tuple[Sequence, np.ndarray, int]]:
    """Each sequence that has a one-pass result: (sequence, its boxes with misses as NaN, the
    frames to score). Lengths and non-finite boxes are checked (warned, or with strict errors);
    the sequences without a result are reported once all have been read."""
    missing = []
    for seq in ds:
        path = index.ope(seq.name)
        if path is None:
            missing.append(seq.name)
            continue
        pred = read_boxes(path)
        n = _fit(seq.name, len(pred), len(seq), path, index.strict)
        if not np.isfinite(pred[:n]).all():
            _check_finite(path, pred[:n], index.strict)
        yield seq, _as_misses(pred), n
    _check_missing(missing, ds, index.store, index.strict)


def score_ope(ds: Dataset, results: ResultIndex | ResultStore, strict: bool = False, variant: str = "pysot") -> dict:
    """Success, precision (and normalised precision) of one tracker on a one-pass dataset.

    ``otb-toolkit`` follows the MATLAB OTB toolkit (:func:`ope.otbkit_sequence_curves`); the
    other variants share pysot's definitions, which got10k also uses.
    """
    index = results if isinstance(results, ResultIndex) else ResultIndex(results, strict, ds.names)
    per_seq, curves, attrs = {}, [], {}
    frames = 0
    for seq, pred, n in _ope_predictions(ds, index):
        if variant == "otb-toolkit":
            # The toolkit scores the whole ground truth: frames without a result are misses.
            c = ope.otbkit_sequence_curves(seq.groundtruth[:, :4], pred[:n])
        else:
            absent = None if seq.absent is None else seq.absent[:n]
            c = ope.sequence_curves(seq.groundtruth[:n, :4], pred[:n], absent)
        curves.append(c)
        frames += n
        per_seq[seq.name] = ope.summarise(c)
        for a in seq.attributes:
            attrs.setdefault(a, []).append(c)
    mean = ope.mean_curves(curves)
    overall = ope.summarise(mean)
    overall["curves"] = {k: v.tolist() for k, v in mean.items()}
    overall["attributes"] = {}
    for a, cs in sorted(attrs.items()):
        m = ope.mean_curves(cs)
        overall["attributes"][a] = {**ope.summarise(m), "sequences": len(cs), "success_curve": m["success"].tolist()}
    overall[SEQUENCE_COUNT] = len(curves)
    overall[FRAME_COUNT] = frames
    return {"overall": overall, "sequences": per_seq}


def score_got10k(ds: Dataset, results: ResultIndex | ResultStore, strict: bool = False,
                 variant: str = "got10k") -> dict:
    """AO, SR0.5 and SR0.75 as got10k's ExperimentGOT10k computes them (see
    :func:`ope.got10k_ious`): per sequence, and over all sequences' frames pooled, with its
    101-threshold success curve. Frames are masked by cover.label where the data have it, else
    by absence.label."""
    index = results if isinstance(results, ResultIndex) else ResultIndex(results, strict, ds.names)
    per_seq, pooled, frames = {}, [], 0
    for seq, pred, n in _ope_predictions(ds, index):
        if seq.width <= 0 or seq.height <= 0:
            raise InputError(ds.root, f"{seq.name}: image size unknown (got10k clips boxes to the image)")
        if seq.cover is not None:
            visible = seq.cover[:n] > 0
        else:
            visible = None if seq.absent is None else ~seq.absent[:n].astype(bool)
        ious = ope.got10k_ious(seq.groundtruth[:n, :4], pred[:n], seq.width, seq.height, visible)
        per_seq[seq.name] = ope.got10k_summary(ious)
        pooled.append(ious)
        frames += n
    ious = np.concatenate(pooled) if pooled else np.zeros(0)
    overall: dict = ope.got10k_summary(ious)
    overall["curves"] = {"success_got10k": ope.got10k_success_curve(ious).tolist()}
    overall[SEQUENCE_COUNT] = len(pooled)
    overall[FRAME_COUNT] = frames
    return {"overall": overall, "sequences": per_seq}


def _check_missing(missing: list[str], ds: Dataset, store: ResultStore, strict: bool,
                   experiment: str | None = None) -> None:
    if not missing:
        return
    where = f" in {experiment}/" if experiment else ""
    if len(missing) == len(ds) or strict:
        raise InputError(store.root, f"no result files{where} for {len(missing)} of {len(ds)} sequences "
                                     f"(first: {missing[0]})")
    log.warning("%s: no results%s for %d sequences (%s); they are left out",
                store.tracker, where, len(missing), ", ".join(missing[:5]))


def _check_supervised(path: Path, traj: Trajectory) -> None:
    """A supervised trajectory follows the reset protocol's grammar, or it is not one.

    It starts with an initialisation (1); a failure (2) is followed by skipped frames (0) or a
    re-initialisation; skipped frames follow only a failure. A tracker that fails on every frame
    (1, 2, 0, 0, 0, 0, 1, 2, ...) is valid; a file of failure codes alone, or codes out of order,
    would be scored as something no run produced.
    """
    codes = Trajectory.of(traj).codes()
    if codes[0] != INIT:
        raise InputError(path, f"expected {INIT} (initialisation) on the first line of a result with resets "
                                     "(baseline or realtime)", 1)
    after_failure = np.flatnonzero((codes[:-1] == FAILURE) & ~np.isin(codes[1:], (SKIPPED, INIT)))
    if len(after_failure):
        line = int(after_failure[0]) + 2
        raise InputError(path, f"expected 0 (skipped) or 1 (re-initialisation) after a failure, got "
                               f"{'a region' if codes[line - 1] < 0 else codes[line - 1]}", line)
    stray_skip = np.flatnonzero((codes[1:] == SKIPPED) & ~np.isin(codes[:-1], (SKIPPED, FAILURE)))
    if len(stray_skip):
        raise InputError(path, "expected a skipped frame (0) only after a failure (2) or another skipped frame",
                         int(stray_skip[0]) + 2)


def _vot_inputs(ds: Dataset, index: ResultIndex, experiment: str) -> list[vot_metrics.VotSequence]:
    strict = index.strict
    out, missing, counts = [], [], {}
    for seq in ds:
        paths = index.vot(seq.name, experiment)
        if not paths:
            missing.append(seq.name)
            continue
        reps = []
        for p in paths:
            traj = read_vot_trajectory(p)
            if experiment in RESET_EXPERIMENTS:
                _check_supervised(p, traj)
            n = _fit(seq.name, len(traj), len(seq), p, strict)
            if n and not np.isfinite(traj[:n].values).all():  # the per-line search is rare
                _check_finite(p, traj[:n], strict)
                traj = Trajectory(_as_misses(traj.values), traj.counts)
            reps.append(traj[:n])
        if seq.width <= 0 or seq.height <= 0:
            raise InputError(ds.root, f"{seq.name}: image size unknown (no frames and no size in the annotations)")
        counts[seq.name] = len(reps)
        out.append(vot_metrics.VotSequence(seq.name, seq.groundtruth, seq.width, seq.height, reps, seq.tags))
    _check_missing(missing, ds, index.store, strict, experiment)
    _check_repetitions(index, experiment, counts)
    return out


def _check_repetitions(index: ResultIndex, experiment: str, counts: dict[str, int]) -> None:
    """Unequal repetition counts are reported (an interrupted or partial run, a mixed folder)."""
    if len(set(counts.values())) <= 1:
        return
    fewest = min(counts, key=counts.get)
    most = max(counts, key=counts.get)
    index.problem(index.store.root / experiment,
                  f"sequences have unequal repetition counts ({counts[fewest]} for {fewest}, {counts[most]} "
                  f"for {most})")


def score_supervised(ds: Dataset, results: ResultIndex | ResultStore, variant: str = "pysot",
                     strict: bool = False, experiment: str = SUPERVISED_DIR) -> dict:
    """Accuracy, robustness, failures and EAO of an experiment with resets (baseline, realtime)."""
    index = results if isinstance(results, ResultIndex) else ResultIndex(results, strict, ds.names)
    sequences = _vot_inputs(ds, index, experiment)
    if variant == "pysot":
        tags = tuple(t for t in VOT_TAGS if t == "all" or any(t in s.tags for s in sequences) or t == "empty")
        if not any(s.tags for s in sequences):
            tags = ("all",)
        scores = vot_metrics.pysot_supervised(sequences, ds.eao_interval, tags)
    else:
        scores = vot_metrics.votkit_supervised(sequences, ds.eao_interval)
    _record_counts(scores, sequences)
    return scores


def score_unsupervised(ds: Dataset, results: ResultIndex | ResultStore, variant: str = "pysot",
                       strict: bool = False) -> dict:
    index = results if isinstance(results, ResultIndex) else ResultIndex(results, strict, ds.names)
    sequences = _vot_inputs(ds, index, UNSUPERVISED_DIR)
    scores = vot_metrics.unsupervised(sequences, variant)
    _record_counts(scores, sequences)
    return scores


def _record_counts(scores: dict, sequences: list[vot_metrics.VotSequence]) -> None:
    """The completeness a gate checks: sequences scored, and result lines scored over every
    repetition, so a shortened file or a deleted repetition lowers the count whatever the
    metric does with it (AO and vot-toolkit's weights use the ground truth's length)."""
    scores["overall"][SEQUENCE_COUNT] = len(sequences)
    scores["overall"][FRAME_COUNT] = sum(len(traj) for seq in sequences for traj in seq.trajectories)


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
