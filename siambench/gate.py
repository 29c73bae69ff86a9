"""Regression gate: compare current scores with a committed baseline.

Baseline file (JSON), one entry per (tracker, dataset, metric, variant):

    {"format": "siambench-baseline/2", "siambench_version": "0.1.0", "variant": "pysot",
     "entries": [{"tracker": "SiamRPN", "dataset": "vot2018", "metric": "eao",
                  "variant": "pysot", "value": 0.383, "sequences": 60, "frames": 21356}, ...]}

An entry without "variant" takes the top-level one. "sequences" and "frames" are the counts the
value was computed from (format /2; a /1 file has none, and an entry may lack them when its score
set did not record them). A metric is worse when it moved against its direction (robustness and
failures: lower is better) by more than the tolerance; a baseline entry with no current score is
missing, and one whose current score was computed over fewer sequences or frames is incomplete:
both fail, so a tracker, dataset or sequence cannot silently drop out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from siambench import __version__
from siambench.errors import InputError, SiambenchError
from siambench.scores import ScoreEntry, direction, is_count, is_finite_number
from siambench.textio import atomic_write_text, read_json

BASELINE_FORMAT = "siambench-baseline/2"
# /1 has no counts; it is still read (completeness is then unchecked until --update).
READABLE_FORMATS = ("siambench-baseline/1", BASELINE_FORMAT)
DEFAULT_TOLERANCE = 0.005
STATUSES = ("worse", "missing", "incomplete", "improved", "within", "same", "new")
FAILING = frozenset({"worse", "missing", "incomplete"})
_EPS = 1e-9  # float noise from JSON round trips is not a move
_KEY_FIELDS = ("tracker", "dataset", "metric", "variant")
_COUNT_FIELDS = ("sequences", "frames")


class Counts(NamedTuple):
    """How many sequences and frames a score was computed from (None: not recorded)."""

    sequences: int | None = None
    frames: int | None = None

    @classmethod
    def of(cls, entry: ScoreEntry | None) -> Counts:
        return cls() if entry is None else cls(entry.sequences, entry.frames)

    @property
    def known(self) -> bool:
        return self.sequences is not None and self.frames is not None


@dataclass(frozen=True)
class Change:
    tracker: str
    dataset: str
    metric: str
    variant: str
    baseline: float | None
    current: float | None
    tolerance: float
    status: str  # one of STATUSES
    baseline_counts: Counts = Counts()
    current_counts: Counts = Counts()

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def shortfall(self) -> str:
        """What the current score lacks against the baseline's counts ("" when nothing)."""
        return ", ".join(f"{name} {now} < {then}" for name, now, then in
                         zip(_COUNT_FIELDS, self.current_counts, self.baseline_counts, strict=True)
                         if now is not None and then is not None and now < then)


@dataclass(frozen=True)
class Tolerances:
    default: float = DEFAULT_TOLERANCE
    per_metric: Mapping[str, float] | None = None

    def of(self, metric: str) -> float:
        return (self.per_metric or {}).get(metric, self.default)


def parse_tolerances(specs: Iterable[str]) -> Tolerances:
    """`0.005` sets the default; `failures=1` sets one metric's tolerance. Each at most once."""
    default, per_metric = None, {}
    for spec in specs:
        metric, _, number = spec.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            raise SiambenchError(f"tolerance {spec!r}: expected a number or METRIC=NUMBER") from None
        if value < 0 or not math.isfinite(value):
            raise SiambenchError(f"tolerance {spec!r} must be a finite non-negative number")
        if metric in per_metric if metric else default is not None:
            # the later one would silently win over the earlier
            what = f"the tolerance of {metric}" if metric else "the default tolerance"
            raise SiambenchError(f"tolerance {spec!r}: {what} is given twice")
        if metric:
            per_metric[metric] = value
        else:
            default = value
    return Tolerances(DEFAULT_TOLERANCE if default is None else default, per_metric)


def check_metric_names(names: Iterable[str], known: Iterable[str], option: str) -> None:
    """A SiambenchError listing the known metrics when `names` holds another one (a typo would
    otherwise gate nothing, or apply no tolerance, and pass)."""
    known = set(known)
    unknown = sorted(set(names) - known)
    if unknown:
        raise SiambenchError(
            f"{option}: unknown metric{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (counts and "
            f"derived metrics are not gated); known: {', '.join(sorted(known)) or 'none'}")


def load_baseline(path: str | Path) -> list[ScoreEntry]:
    """The entries of a baseline file; malformed values and repeated keys are InputErrors."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "baseline not found; create it with --update")
    data = _read_baseline_object(path)
    default_variant = data.get("variant")
    entries: list[ScoreEntry] = []
    first: dict[tuple[str, str, str, str], int] = {}
    for i, raw in enumerate(data["entries"]):
        entry = _parse_entry(path, i, raw, default_variant)
        if entry.key in first:
            raise InputError(path, f"entries[{i}] repeats entries[{first[entry.key]}] "
                                   f"({'/'.join(entry.key)}); keep one")
        first[entry.key] = i
        entries.append(entry)
    return entries


def _read_baseline_object(path: Path) -> Mapping[str, Any]:
    """The decoded baseline object, its shape and format checked."""
    data = read_json(path, "baseline")
    if not isinstance(data, Mapping) or not isinstance(data.get("entries"), list):
        raise InputError(path, "expected an object with a list 'entries'")
    fmt = data.get("format", READABLE_FORMATS[0])  # early baselines carried no format
    if fmt not in READABLE_FORMATS:
        raise InputError(path, f"unknown baseline format {json.dumps(fmt)}; this siambench reads "
                               f"{' and '.join(READABLE_FORMATS)}")
    return data


def _parse_entry(path: Path, index: int, raw: Any, default_variant: Any) -> ScoreEntry:
    where = f"entries[{index}]"
    if not isinstance(raw, Mapping):
        raise InputError(path, f"{where}: expected an object with tracker, dataset, metric, variant "
                               f"and value, got {json.dumps(raw)}")
    names = []
    for field in _KEY_FIELDS:
        value = raw.get(field, default_variant if field == "variant" else None)
        if not isinstance(value, str) or not value:
            raise InputError(path, f"{where}: expected tracker, dataset, metric, variant and a numeric "
                                   f"value; {field!r} must be text, got {json.dumps(value)}")
        names.append(value)
    value = raw.get("value")
    if not is_finite_number(value):
        raise InputError(path, f"{where}: 'value' must be a finite number, got {json.dumps(value)}")
    counts = []
    for field in _COUNT_FIELDS:
        count = raw.get(field)
        if field in raw and not is_count(count):
            raise InputError(path, f"{where}: {field!r} must be a non-negative integer, got {json.dumps(count)}")
        counts.append(count)
    return ScoreEntry(*names, float(value), *counts)


def write_baseline(path: str | Path, entries: Iterable[ScoreEntry]) -> None:
    """Write the baseline atomically: a reader sees the old file or the new one, never half."""
    path = Path(path)
    rows = sorted(_by_key(entries, "baseline").values(), key=lambda e: e.key)
    variants = sorted({e.variant for e in rows})
    data = {
        "format": BASELINE_FORMAT,
        "siambench_version": __version__,
        "variant": variants[0] if len(variants) == 1 else None,
        "entries": [_entry_json(e) for e in rows],
    }
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _entry_json(entry: ScoreEntry) -> dict[str, Any]:
    row: dict[str, Any] = dict(zip(_KEY_FIELDS, entry.key, strict=True))
    row["value"] = entry.value
    for field, count in zip(_COUNT_FIELDS, Counts.of(entry), strict=True):
        if count is not None:  # unknown counts are left out, not written as null
            row[field] = count
    return row


def _by_key(entries: Iterable[ScoreEntry], side: str) -> dict[tuple[str, str, str, str], ScoreEntry]:
    """Entries by key; a repeated key is an error (one of them would silently win)."""
    out: dict[tuple[str, str, str, str], ScoreEntry] = {}
    for entry in entries:
        if entry.key in out:
            raise SiambenchError(f"{side} score {'/'.join(entry.key)} is given twice")
        out[entry.key] = entry
    return out


def compare(
    current: Iterable[ScoreEntry],
    baseline: Iterable[ScoreEntry],
    tolerances: Tolerances = Tolerances(),
    metrics: Iterable[str] | None = None,
) -> list[Change]:
    """One Change per key of either side (restricted to `metrics` when given)."""
    wanted = None if metrics is None else set(metrics)
    now = _by_key((e for e in current if wanted is None or e.metric in wanted), "current")
    then = _by_key((e for e in baseline if wanted is None or e.metric in wanted), "baseline")
    changes = []
    for key in sorted(now.keys() | then.keys()):
        tracker, dataset, metric, variant = key
        old, new = then.get(key), now.get(key)
        tol = tolerances.of(metric)
        changes.append(Change(tracker, dataset, metric, variant, _value(old), _value(new), tol,
                              _status(metric, old, new, tol), Counts.of(old), Counts.of(new)))
    return changes


def _value(entry: ScoreEntry | None) -> float | None:
    return None if entry is None else entry.value


def _status(metric: str, baseline: ScoreEntry | None, current: ScoreEntry | None, tolerance: float) -> str:
    if baseline is None:
        return "new"
    if current is None or not math.isfinite(current.value):
        return "missing"
    if any(now is not None and then is not None and now < then
           for now, then in zip(Counts.of(current), Counts.of(baseline), strict=True)):
        return "incomplete"  # over fewer sequences or frames the value says nothing, better or not
    gain = direction(metric) * (current.value - baseline.value)  # > 0: better
    if abs(gain) <= _EPS:
        return "same"
    if gain < -(tolerance + _EPS):
        return "worse"
    return "improved" if gain > 0 else "within"


def failed(changes: Iterable[Change]) -> bool:
    return any(c.status in FAILING for c in changes)


def unchecked_completeness(changes: Iterable[Change]) -> list[str]:
    """Warnings for compared scores whose completeness could not be checked, one line per cause."""
    compared = [c for c in changes if c.status not in ("new", "missing")]
    old = sum(not c.baseline_counts.known for c in compared)
    unrecorded = sum(c.baseline_counts.known and not c.current_counts.known for c in compared)
    lines = []
    if old:
        lines.append(f"{old} of {len(compared)} baseline scores record no sequence and frame counts "
                     "(a siambench-baseline/1 file, or scores that recorded none): their completeness "
                     "cannot be checked until the baseline is rewritten with --update")
    if unrecorded:
        lines.append(f"{unrecorded} current scores do not record sequences_scored and frames: "
                     "their completeness is not checked")
    return lines


def format_changes(changes: list[Change], show_all: bool = False, show_new: bool = False) -> str:
    """A text table of the entries that moved (or all of them), then a one-line summary.

    Scores the baseline does not list ("new": another tracker, metric or dataset in the same
    results tree) cannot fail the gate and are only counted, unless `show_new` or `show_all`.
    An incomplete score says in a last column, "note", which count fell short.
    """
    quiet = set() if show_all else {"same"} if show_new else {"same", "new"}
    shown = [c for c in changes if c.status not in quiet]

    def num(value: float | None, signed: bool = False) -> str:
        return "-" if value is None else (f"{value:+.4f}" if signed else f"{value:.4f}")

    rows = [["status", "tracker", "dataset", "metric", "variant", "baseline", "current", "delta",
             "tolerance", "note"]]
    rows += [[c.status.upper() if c.status in FAILING else c.status, c.tracker, c.dataset,
              f"{c.metric} {'↓' if direction(c.metric) < 0 else '↑'}", c.variant, num(c.baseline),
              num(c.current), num(c.delta, signed=True), f"{c.tolerance:g}", c.shortfall] for c in shown]
    if not any(c.shortfall for c in shown):
        rows = [row[:-1] for row in rows]  # no note to give
    lines = []
    if len(rows) > 1:
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        lines = ["  ".join(cell.rjust(w) if 5 <= j < 9 else cell.ljust(w) for j, (cell, w) in
                           enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    counts = {s: sum(c.status == s for c in changes) for s in STATUSES}
    verdict = "FAILED" if failed(changes) else "passed"
    hidden_new = " (not in the baseline; --all lists them)" if "new" in quiet and counts["new"] else ""
    lines.append(f"gate {verdict}: {len(changes)} scores; "
                 + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + hidden_new)
    return "\n".join(lines) + "\n"
