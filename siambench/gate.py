"""Regression gate: compare current scores with a committed baseline.

Baseline file (JSON), one entry per (tracker, dataset, metric, variant):

    {"format": "siambench-baseline/1", "siambench_version": "0.1.0", "variant": "pysot",
     "entries": [{"tracker": "SiamRPN", "dataset": "vot2018", "metric": "eao",
                  "variant": "pysot", "value": 0.383}, ...]}

An entry without "variant" takes the top-level one. A metric is worse when it moved against its
direction (robustness and failures: lower is better) by more than the tolerance; a baseline entry
with no current score counts as a failure too, so a tracker or dataset cannot silently drop out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from siambench import __version__
from siambench.errors import InputError, SiambenchError
from siambench.scores import ScoreEntry, direction
from siambench.textio import atomic_write_text, read_json

BASELINE_FORMAT = "siambench-baseline/1"
DEFAULT_TOLERANCE = 0.005
FAILING = frozenset({"worse", "missing"})
_EPS = 1e-9  # float noise from JSON round trips is not a move


@dataclass(frozen=True)
class Change:
    tracker: str
    dataset: str
    metric: str
    variant: str
    baseline: float | None
    current: float | None
    tolerance: float
    status: str  # worse, missing, improved, within, same, new

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


@dataclass(frozen=True)
class Tolerances:
    default: float = DEFAULT_TOLERANCE
    per_metric: Mapping[str, float] | None = None

    def of(self, metric: str) -> float:
        return (self.per_metric or {}).get(metric, self.default)


def parse_tolerances(specs: Iterable[str]) -> Tolerances:
    """`0.005` sets the default; `failures=1` sets one metric's tolerance."""
    default, per_metric = DEFAULT_TOLERANCE, {}
    for spec in specs:
        metric, _, number = spec.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            raise SiambenchError(f"tolerance {spec!r}: expected a number or METRIC=NUMBER") from None
        if value < 0 or math.isnan(value):
            raise SiambenchError(f"tolerance {spec!r} must be a non-negative number")
        if metric:
            per_metric[metric] = value
        else:
            default = value
    return Tolerances(default, per_metric)


def load_baseline(path: str | Path) -> list[ScoreEntry]:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "baseline not found; create it with --update")
    data = read_json(path, "baseline")
    if not isinstance(data, Mapping) or not isinstance(data.get("entries"), list):
        raise InputError(path, "expected an object with a list 'entries'")
    default_variant = data.get("variant")
    entries = []
    for i, raw in enumerate(data["entries"]):
        try:
            variant = raw.get("variant", default_variant)
            value = raw["value"]
            if variant is None or not isinstance(value, int | float):
                raise KeyError("variant" if variant is None else "value")
            entries.append(ScoreEntry(str(raw["tracker"]), str(raw["dataset"]), str(raw["metric"]),
                                      str(variant), float(value)))
        except (KeyError, AttributeError, TypeError) as exc:
            raise InputError(path, f"entries[{i}]: expected tracker, dataset, metric, variant and a "
                                   f"numeric value (problem: {exc})") from None
    return entries


def write_baseline(path: str | Path, entries: Iterable[ScoreEntry]) -> None:
    """Write the baseline atomically: a reader sees the old file or the new one, never half."""
    path = Path(path)
    rows = sorted(entries, key=lambda e: e.key)
    variants = sorted({e.variant for e in rows})
    data = {
        "format": BASELINE_FORMAT,
        "siambench_version": __version__,
        "variant": variants[0] if len(variants) == 1 else None,
        "entries": [{"tracker": e.tracker, "dataset": e.dataset, "metric": e.metric,
                     "variant": e.variant, "value": e.value} for e in rows],
    }
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def compare(
    current: Iterable[ScoreEntry],
    baseline: Iterable[ScoreEntry],
    tolerances: Tolerances = Tolerances(),
    metrics: Iterable[str] | None = None,
) -> list[Change]:
    """One Change per key of either side (restricted to `metrics` when given)."""
    wanted = None if metrics is None else set(metrics)
    now = {e.key: e.value for e in current if wanted is None or e.metric in wanted}
    then = {e.key: e.value for e in baseline if wanted is None or e.metric in wanted}
    changes = []
    for key in sorted(now.keys() | then.keys()):
        tracker, dataset, metric, variant = key
        tol = tolerances.of(metric)
        changes.append(Change(tracker, dataset, metric, variant, then.get(key), now.get(key), tol,
                              _status(metric, then.get(key), now.get(key), tol)))
    return changes


def _status(metric: str, baseline: float | None, current: float | None, tolerance: float) -> str:
    if baseline is None:
        return "new"
    if current is None or math.isnan(current):
        return "missing"
    gain = direction(metric) * (current - baseline)  # > 0: better
    if abs(gain) <= _EPS:
        return "same"
    if gain < -(tolerance + _EPS):
        return "worse"
    return "improved" if gain > 0 else "within"


def failed(changes: Iterable[Change]) -> bool:
    return any(c.status in FAILING for c in changes)


def format_changes(changes: list[Change], show_all: bool = False, show_new: bool = False) -> str:
    """A text table of the entries that moved (or all of them), then a one-line summary.

    Scores the baseline does not list ("new": another tracker, metric or dataset in the same
    results tree) cannot fail the gate and are only counted, unless `show_new` or `show_all`.
    """
    quiet = set() if show_all else {"same"} if show_new else {"same", "new"}
    shown = [c for c in changes if c.status not in quiet]

    def num(value: float | None, signed: bool = False) -> str:
        return "-" if value is None else (f"{value:+.4f}" if signed else f"{value:.4f}")

    rows = [["status", "tracker", "dataset", "metric", "variant", "baseline", "current", "delta", "tolerance"]]
    rows += [[c.status.upper() if c.status in FAILING else c.status, c.tracker, c.dataset,
              f"{c.metric} {'↓' if direction(c.metric) < 0 else '↑'}", c.variant, num(c.baseline),
              num(c.current), num(c.delta, signed=True), f"{c.tolerance:g}"] for c in shown]
    lines = []
    if len(rows) > 1:
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if j < 5 else cell.rjust(w) for j, (cell, w) in
                           enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    counts = {s: sum(c.status == s for c in changes) for s in
              ("worse", "missing", "improved", "within", "same", "new")}
    verdict = "FAILED" if failed(changes) else "passed"
    hidden_new = " (not in the baseline; --all lists them)" if "new" in quiet and counts["new"] else ""
    lines.append(f"gate {verdict}: {len(changes)} scores; "
                 + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + hidden_new)
    return "\n".join(lines) + "\n"
