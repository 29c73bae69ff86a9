"""Score sets: the scores of one dataset for several trackers, loaded from files or computed.

A score set is what `siambench.evaluate.evaluate(...)` returns and what `siambench eval --json FILE`
writes:

    {"dataset": "vot2018", "variant": "pysot", "siambench_version": "0.1.0",
     "trackers": {"<name>": {"overall": {"eao": 0.383, ..., "sequences_scored": 60, "frames": 21356},
                             "sequences": {...}}}}

A score file holds one such object, a list of them, or {"scores": [...]}. Reports and gates read
only these; nothing here imports torch. `sequences_scored` and `frames` say how many sequences and
frames the overall scores were computed from; a score set without them leaves them unknown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siambench.errors import InputError, SiambenchError
from siambench.results import REALTIME_DIR
from siambench.textio import read_json

# Which way is better, per metric key. Anything not listed is taken as higher-is-better.
LOWER_IS_BETTER = frozenset({"robustness", "failures", "weighted_failures", "mean_failures", "lost",
                             "center_error"})
# Numbers stored beside the scores that describe the run rather than score it (speed moves with
# the machine, so no gate compares it).
COUNTS = frozenset({"frames", "repetitions", "length", "sequences", "sequences_scored", "fps"})
# The two counts a gate checks completeness with: a score over fewer of them is not comparable.
SEQUENCE_COUNT = "sequences_scored"
FRAME_COUNT = "frames"


# Metrics of a VOT experiment other than the baseline carry its name (realtime_eao), as
# siambench.evaluate names them.
EXPERIMENT_PREFIXES = (f"{REALTIME_DIR}_",)


def base_metric(metric: str) -> str:
    """`metric` without its experiment's prefix: what it measures (realtime_eao -> eao)."""
    for prefix in EXPERIMENT_PREFIXES:
        if metric.startswith(prefix):
            return metric[len(prefix):]
    return metric


def direction(metric: str) -> int:
    """+1 when a larger value of `metric` is better, -1 when a smaller one is."""
    return -1 if base_metric(metric) in LOWER_IS_BETTER else 1


def is_counter(metric: str) -> bool:
    """Whether `metric` describes the run (a count, a speed) rather than scoring it."""
    return base_metric(metric) in COUNTS


@dataclass(frozen=True)
class ScoreEntry:
    """One scalar score: the unit a gate baseline compares.

    `sequences` and `frames` are the counts it was computed from (None: not recorded).
    """

    tracker: str
    dataset: str
    metric: str
    variant: str
    value: float
    sequences: int | None = None
    frames: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.tracker, self.dataset, self.metric, self.variant)


@dataclass(frozen=True)
class ScoreSet:
    """Scores of one dataset under one metric variant, for any number of trackers."""

    dataset: str
    variant: str
    siambench_version: str
    trackers: Mapping[str, Mapping[str, Any]]
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def overall(self, tracker: str) -> Mapping[str, Any]:
        return self.trackers.get(tracker, {}).get("overall", {})

    def scalars(self, tracker: str, derived: bool = True) -> dict[str, float]:
        """The numeric overall scores of `tracker`, plus the derived ones (see `_derived`)."""
        values = numeric_values(self.overall(tracker))
        if derived:
            for key, value in _derived(values, self.trackers.get(tracker, {})).items():
                values.setdefault(key, value)
        return values

    def value(self, tracker: str, metric: str) -> float | None:
        value = self.scalars(tracker).get(metric)
        return None if value is None or math.isnan(value) else value

    def attributes(self, tracker: str) -> Mapping[str, Mapping[str, Any]]:
        """Per-attribute (OTB) or per-tag (VOT) scores, {name: {metric: value, "curves": ...}}."""
        overall = self.overall(tracker)
        return {**(overall.get("tags") or {}), **(overall.get("attributes") or {})}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numeric_values(scores: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a scores object (curves, lists and flags left out), as floats."""
    return {k: float(v) for k, v in scores.items() if _is_number(v)}


def is_finite_number(value: Any) -> bool:
    """An int or float that is not NaN or infinite (JSON `true` decodes to a bool, an int)."""
    return _is_number(value) and math.isfinite(value)


def is_count(value: Any) -> bool:
    """A non-negative int, not a bool and not a float such as 12.0."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _derived(values: Mapping[str, float], tracker_scores: Mapping[str, Any]) -> dict[str, float]:
    """Metrics some papers print that follow from the stored ones.

    mean_failures is the VOT2015-style robustness: failures per sequence rather than per 100 frames.
    """
    derived: dict[str, float] = {}
    sequences = tracker_scores.get("sequences") or {}
    if "failures" in values and sequences:
        derived["mean_failures"] = values["failures"] / len(sequences)
    return derived


def parse_scores(obj: Any, source: str) -> list[ScoreSet]:
    """Score sets from a decoded score file (one object, a list, or {"scores": [...]})."""
    if isinstance(obj, Mapping) and "scores" in obj and "trackers" not in obj:
        obj = obj["scores"]
    items = obj if isinstance(obj, list) else [obj]
    return [_parse_one(item, source, i) for i, item in enumerate(items)]


def _parse_one(item: Any, source: str, index: int) -> ScoreSet:
    where = f" (entry {index})" if index else ""
    if not isinstance(item, Mapping):
        raise InputError(source, f"expected a score object with 'dataset' and 'trackers'{where}")
    dataset, trackers = item.get("dataset"), item.get("trackers")
    if not isinstance(dataset, str) or not isinstance(trackers, Mapping):
        raise InputError(source, f"expected keys 'dataset' (text) and 'trackers' (object){where}")
    for name, scores in trackers.items():
        if not isinstance(scores, Mapping) or not isinstance(scores.get("overall"), Mapping):
            raise InputError(source, f"tracker {name!r} has no 'overall' scores object{where}")
    extra = {k: v for k, v in item.items() if k not in {"dataset", "variant", "siambench_version", "trackers"}}
    return ScoreSet(
        dataset=dataset,
        variant=str(item.get("variant", "pysot")),
        siambench_version=str(item.get("siambench_version", "unknown")),
        trackers=trackers,
        source=source,
        extra=extra,
    )


def load_scores(paths: Iterable[str | Path]) -> list[ScoreSet]:
    """Read score files written by `siambench eval --json`."""
    sets: list[ScoreSet] = []
    for path in map(Path, paths):
        obj = read_json(path, "score file")
        sets.extend(parse_scores(obj, str(path)))
    return sets


def dataset_folders(results_dir: str | Path) -> dict[str, list[str]]:
    """Registered dataset names whose results folder (e.g. results/VOT2018) exists, by folder.

    One folder may serve several datasets: OTB-2013 and OTB-50 are scored from the OTB-100
    results when no folder of their own exists (the registry lists OTB100 among their aliases).
    """
    from siambench.datasets import DATASETS

    root = Path(results_dir)
    present = {p.name for p in root.iterdir() if p.is_dir() and any(p.iterdir())} if root.is_dir() else set()
    found: dict[str, list[str]] = {}
    for name, info in DATASETS.items():
        folders = (info.results_name, *getattr(info, "results_aliases", ()))
        folder = next((f for f in folders if f in present), None)
        if folder is not None:
            found.setdefault(folder, []).append(name)
    return found


def collect_scores(
    results_dir: str | Path,
    data_root: str | Path | None = None,
    variant: str = "pysot",
    trackers: list[str] | None = None,
    datasets: Iterable[str] | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> list[ScoreSet]:
    """Evaluate every dataset with results under `results_dir` (or only `datasets`: registered
    names, or folders of your own data, which are scored only when named).

    A dataset that cannot be scored (its annotations are missing, say) is passed to `on_skip` as
    one line instead of failing, so that a report over several benchmarks renders what it can.
    """
    from siambench.datasets import dataset_info
    from siambench.datasets.folder import is_folder_name
    from siambench.evaluate import evaluate

    wanted, own = None, []
    if datasets is not None:
        wanted = set()
        for name in datasets:
            if is_folder_name(name):
                own.append(name)
            else:
                wanted.add(dataset_info(name).name)  # an alias (otb100) selects its dataset
    root = Path(results_dir)
    # (dataset, how a skip names it, its results folder); evaluate finds a folder without results
    jobs = [(name, f"{name}: ", root / Path(name).resolve().name) for name in own]
    for folder, names in sorted(dataset_folders(results_dir).items()):
        jobs += [(name, f"{name} ({folder}): ", root / folder) for name in names if wanted is None or name in wanted]
    sets: list[ScoreSet] = []
    for name, label, where in jobs:
        try:
            scores = evaluate(dataset=name, results_dir=str(results_dir), data_root=data_root,
                              trackers=trackers, variant=variant)
        except SiambenchError as exc:
            if on_skip is not None:
                on_skip(f"{label}{exc}")
            continue
        if scores.get("trackers"):
            sets.extend(parse_scores(scores, f"evaluate({name}, {where})"))
    return sets


def gather_scores(
    score_files: Iterable[str | Path],
    results_dir: str | Path | None,
    data_root: str | Path | None = None,
    variant: str = "pysot",
    datasets: Iterable[str] | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> list[ScoreSet]:
    """Scores from files, plus those computed from a results tree.

    The tree is `results_dir`, or ./results when no score file is given. A score file wins over
    recomputing the same (dataset, tracker) from the tree.
    """
    scores = load_scores(score_files)
    if results_dir is None and scores:
        return scores
    root = Path(results_dir or "results")
    if not root.is_dir():
        if results_dir is not None:
            raise InputError(root, "results folder does not exist")
        return scores
    known = {(s.dataset, t) for s in scores for t in s.trackers}
    for s in collect_scores(root, data_root, variant, datasets=datasets, on_skip=on_skip):
        kept = {t: v for t, v in s.trackers.items() if (s.dataset, t) not in known}
        if kept:
            scores.append(ScoreSet(s.dataset, s.variant, s.siambench_version, kept, s.source, s.extra))
    return scores


def gated_metrics(sets: Iterable[ScoreSet]) -> set[str]:
    """The metric names `flatten` can give for `sets` (whatever their values)."""
    return {metric for score_set in sets for tracker in score_set.trackers
            for metric in score_set.scalars(tracker, derived=False) if not is_counter(metric)}


def flatten(sets: Iterable[ScoreSet], metrics: Iterable[str] | None = None) -> list[ScoreEntry]:
    """Every stored finite scalar overall score as a ScoreEntry, with the tracker's counts.

    Derived metrics are left out (they move with the stored ones), and so are counters. A key
    (tracker, dataset, metric, variant) given by two score sets is a SiambenchError naming both:
    keeping either one silently could hide a drop.
    """
    wanted = None if metrics is None else set(metrics)
    sets = list(sets)
    entries: list[ScoreEntry] = []
    seen: dict[tuple[str, str, str, str], str] = {}
    for score_set, label in zip(sets, _labels(sets), strict=True):
        for tracker in score_set.trackers:
            sequences, frames = (_count(score_set, tracker, name) for name in (SEQUENCE_COUNT, FRAME_COUNT))
            for metric, value in sorted(score_set.scalars(tracker, derived=False).items()):
                if is_counter(metric):
                    continue
                entry = ScoreEntry(tracker, score_set.dataset, metric, score_set.variant, value,
                                   sequences, frames)
                _claim(seen, entry.key, label)
                if (wanted is None or metric in wanted) and math.isfinite(value):
                    entries.append(entry)
    return entries


def _labels(sets: list[ScoreSet]) -> list[str]:
    """Where each set comes from: its source, with its position when a file holds several."""
    per_source: dict[str, int] = {}
    for s in sets:
        per_source[s.source] = per_source.get(s.source, 0) + 1
    labels, position = [], dict.fromkeys(per_source, 0)
    for s in sets:
        name = s.source or "(unnamed score set)"
        labels.append(f"{name} (entry {position[s.source]})" if per_source[s.source] > 1 else name)
        position[s.source] += 1
    return labels


def _claim(seen: dict[tuple[str, str, str, str], str], key: tuple[str, str, str, str], label: str) -> None:
    if key in seen:
        tracker, dataset, metric, variant = key
        raise SiambenchError(
            f"score {tracker}/{dataset}/{metric} (variant {variant}) is given twice: in {seen[key]} "
            f"and in {label}; give each score once")
    seen[key] = label


def _count(score_set: ScoreSet, tracker: str, name: str) -> int | None:
    value = score_set.overall(tracker).get(name)
    if value is None:
        return None
    if not is_count(value):
        raise InputError(score_set.source or None,
                         f"tracker {tracker!r}, dataset {score_set.dataset!r}: overall {name!r} must be "
                         f"a non-negative integer, got {json.dumps(value)}")
    return value
