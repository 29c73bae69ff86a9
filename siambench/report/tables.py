"""Paper-style tables: a layout (YAML data) + published reference rows + measured scores.

Layouts live in benchmarks/tables/*.yaml and published numbers in benchmarks/references/*.yaml, so
a new table needs no code. `build_table` joins them into a `Table`, a format-free model that
`siambench.report.render` turns into text.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siambench import __version__
from siambench.errors import InputError, UnknownNameError
from siambench.project_data import project_folder
from siambench.scores import ScoreSet, direction
from siambench.textio import read_yaml

ORIENTATIONS = ("trackers-as-rows", "trackers-as-columns")


def benchmarks_dir() -> Path:
    """$SIAMBENCH_BENCHMARKS, else the benchmarks/ folder of the checkout or of the install."""
    env = os.environ.get("SIAMBENCH_BENCHMARKS")
    return Path(env) if env else project_folder("benchmarks")


@dataclass(frozen=True)
class MetricColumn:
    """One metric of a table: where its numbers come from and how to print them."""

    label: str
    dataset: str
    metric: str
    better: int  # +1 higher is better, -1 lower is better
    digits: int = 3
    group: str = ""

    @property
    def arrow(self) -> str:
        return "↑" if self.better > 0 else "↓"


@dataclass(frozen=True)
class InfoColumn:
    field: str
    label: str


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    source: str
    orientation: str
    references: tuple[str, ...]
    metrics: tuple[MetricColumn, ...]
    info: tuple[InfoColumn, ...] = ()
    mark_top: int = 3
    aliases: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    @property
    def datasets(self) -> set[str]:
        return {m.dataset for m in self.metrics}


@dataclass(frozen=True)
class ReferenceTracker:
    name: str
    scores: Mapping[tuple[str, str], float]  # (dataset, metric) -> published value
    info: Mapping[str, Any]


@dataclass(frozen=True)
class Reference:
    name: str
    citation: str
    trackers: tuple[ReferenceTracker, ...]
    path: Path | None = None


@dataclass
class Entry:
    """A tracker's line of a table (a row or a column, depending on the orientation)."""

    label: str
    kind: str  # "published", "measured" or "delta" (measured minus published)
    tracker: str  # the name in its source: reference file or score set
    values: list[float | None]
    info: dict[str, str]
    marks: list[int] = field(default_factory=list)  # 1, 2, 3 = first, second, third; 0 = none


@dataclass
class Table:
    layout: Layout
    entries: list[Entry]
    notes: list[str]
    variant: str
    siambench_version: str = __version__

    @property
    def name(self) -> str:
        return self.layout.name

    @property
    def metrics(self) -> tuple[MetricColumn, ...]:
        return self.layout.metrics

    @property
    def caption(self) -> str:
        return f"{self.layout.title} (layout of {self.layout.source})" if self.layout.source else self.layout.title


# --- loading layouts and references -----------------------------------------------------------

def _read_yaml(path: Path) -> Mapping[str, Any]:
    data = read_yaml(path, "table file")
    if not isinstance(data, Mapping):
        raise InputError(path, "expected a mapping at the top level")
    return data


def available_tables(search: Iterable[Path] | None = None) -> dict[str, Path]:
    """Table name -> layout file, from benchmarks/tables (or the given folders)."""
    folders = list(search) if search is not None else [benchmarks_dir() / "tables"]
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def resolve_table(name: str, search: Iterable[Path] | None = None) -> Path:
    """A layout file from a table name (`table2`) or a path to a YAML file."""
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"} and candidate.is_file():
        return candidate
    tables = available_tables(search)
    if name not in tables:
        raise UnknownNameError("table", name, list(tables))
    return tables[name]


def load_layout(path: str | Path) -> Layout:
    path = Path(path)
    data = _read_yaml(path)
    orientation = data.get("orientation", "trackers-as-rows")
    if orientation not in ORIENTATIONS:
        raise InputError(path, f"orientation must be one of {', '.join(ORIENTATIONS)}, not {orientation!r}")
    raw_metrics = data.get("metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise InputError(path, "expected a non-empty list 'metrics'")
    metrics = tuple(_metric_column(path, i, m) for i, m in enumerate(raw_metrics))
    info = tuple(
        InfoColumn(str(i["field"]), str(i.get("label", i["field"])))
        for i in data.get("info") or []
        if isinstance(i, Mapping) and "field" in i
    )
    references = data.get("references") or []
    if isinstance(references, str):
        references = [references]
    aliases = (data.get("measured") or {}).get("aliases") or {}
    if not isinstance(aliases, Mapping):
        raise InputError(path, "measured.aliases must map measured tracker names to table names")
    return Layout(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        source=str(data.get("source", "")),
        orientation=orientation,
        references=tuple(str(r) for r in references),
        metrics=metrics,
        info=info,
        mark_top=int(data.get("mark_top", 3)),
        aliases={str(k): str(v) for k, v in aliases.items()},
        path=path,
    )


def _metric_column(path: Path, index: int, raw: Any) -> MetricColumn:
    if not isinstance(raw, Mapping) or not {"dataset", "metric"} <= raw.keys():
        raise InputError(path, f"metrics[{index}] needs at least 'dataset' and 'metric'")
    metric = str(raw["metric"])
    better = raw.get("better")
    if better not in (None, "higher", "lower"):
        raise InputError(path, f"metrics[{index}].better must be 'higher' or 'lower'")
    sign = direction(metric) if better is None else (1 if better == "higher" else -1)
    return MetricColumn(
        label=str(raw.get("label", metric)),
        dataset=str(raw["dataset"]),
        metric=metric,
        better=sign,
        digits=int(raw.get("digits", 3)),
        group=str(raw.get("group", "")),
    )


def load_reference(name: str, relative_to: Path | None = None) -> Reference:
    """Published numbers by name (benchmarks/references/<name>.yaml) or path."""
    candidates = [Path(name)]
    if relative_to is not None:
        candidates.append(relative_to / name)
    candidates.append(benchmarks_dir() / "references" / f"{name}.yaml")
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise InputError(candidates[-1], f"reference {name!r} not found")
    data = _read_yaml(path)
    trackers = []
    for i, raw in enumerate(data.get("trackers") or []):
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise InputError(path, f"trackers[{i}] needs a 'name'")
        scores: dict[tuple[str, str], float] = {}
        for dataset, metrics in (raw.get("scores") or {}).items():
            if not isinstance(metrics, Mapping):
                raise InputError(path, f"trackers[{i}].scores.{dataset} must map metric -> value")
            for metric, value in metrics.items():
                scores[(str(dataset), str(metric))] = float(value)
        info = {k: v for k, v in raw.items() if k not in {"name", "scores"}}
        trackers.append(ReferenceTracker(str(raw["name"]), scores, info))
    return Reference(str(data.get("name", path.stem)), " ".join(str(data.get("citation", "")).split()),
                     tuple(trackers), path)


# --- building -------------------------------------------------------------------------------------

def has_results(layout: Layout, scores: Iterable[ScoreSet]) -> bool:
    """Whether any measured score fills a cell of `layout`."""
    return any(
        s.dataset == m.dataset and s.value(t, m.metric) is not None
        for s in scores for t in s.trackers for m in layout.metrics
    )


def build_table(
    layout: Layout,
    scores: Iterable[ScoreSet] = (),
    aliases: Mapping[str, str] | None = None,
    show_delta: bool = True,
    references: Iterable[Reference] | None = None,
) -> Table:
    """Join published rows and measured scores into a table.

    A measured tracker whose (aliased) name matches a published one is placed right after it,
    followed by a delta entry (measured minus published) when `show_delta` is set.
    """
    if references is None:
        base = layout.path.parent if layout.path else None
        references = [load_reference(r, base) for r in layout.references]
    references = list(references)
    scores = [s for s in scores if s.dataset in layout.datasets]
    names = {**layout.aliases, **(aliases or {})}

    published = [_published_entry(layout, t) for ref in references for t in ref.trackers]
    measured = _measured_entries(layout, scores, names)
    entries: list[Entry] = []
    for entry in published:
        entries.append(entry)
        for m in [m for m in measured if m.label == entry.label]:
            measured.remove(m)
            entries.append(_as_measured(m, entry))
            if show_delta:
                entries.append(_delta(m, entry))
    entries.extend(_as_measured(m, None) for m in measured)
    _mark(entries, layout)
    return Table(layout, entries, _notes(layout, references, scores, names), _variant(scores))


def _published_entry(layout: Layout, tracker: ReferenceTracker) -> Entry:
    values = [tracker.scores.get((m.dataset, m.metric)) for m in layout.metrics]
    info = {c.field: str(tracker.info.get(c.field, "-")) for c in layout.info}
    return Entry(tracker.name, "published", tracker.name, values, info)


def _measured_entries(layout: Layout, scores: list[ScoreSet], names: Mapping[str, str]) -> list[Entry]:
    """One entry per measured tracker (under its display name) with at least one cell filled."""
    by_name: dict[str, Entry] = {}
    for score_set in scores:
        for tracker in score_set.trackers:
            label = names.get(tracker, tracker)
            entry = by_name.setdefault(
                label, Entry(label, "measured", tracker, [None] * len(layout.metrics), {})
            )
            for i, m in enumerate(layout.metrics):
                if m.dataset == score_set.dataset and entry.values[i] is None:
                    entry.values[i] = score_set.value(tracker, m.metric)
    return [e for e in by_name.values() if any(v is not None for v in e.values)]


def _as_measured(entry: Entry, published: Entry | None) -> Entry:
    entry.label = f"{entry.label} (measured)"
    entry.info = dict(published.info) if published else {}
    return entry


def _delta(measured: Entry, published: Entry) -> Entry:
    values = [None if m is None or p is None else m - p for m, p in zip(measured.values, published.values, strict=True)]
    return Entry(f"Δ {published.label}", "delta", measured.tracker, values, {})


def _mark(entries: list[Entry], layout: Layout) -> None:
    """Rank first/second/third per metric over published and measured entries.

    Values are compared as printed, so two trackers showing the same number share a place.
    """
    for entry in entries:
        entry.marks = [0] * len(layout.metrics)
    if layout.mark_top <= 0:
        return
    ranked = [e for e in entries if e.kind != "delta"]
    for i, m in enumerate(layout.metrics):
        shown = {round(e.values[i], m.digits) for e in ranked if _finite(e.values[i])}
        order = sorted(shown, reverse=m.better > 0)[: layout.mark_top]
        for e in ranked:
            if _finite(e.values[i]) and round(e.values[i], m.digits) in order:
                e.marks[i] = order.index(round(e.values[i], m.digits)) + 1


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _variant(scores: list[ScoreSet]) -> str:
    variants = sorted({s.variant for s in scores})
    return ", ".join(variants) if variants else "none measured"


def _notes(layout: Layout, references: list[Reference], scores: list[ScoreSet], names: Mapping[str, str]) -> list[str]:
    notes = [f"Published rows: {r.citation}" for r in references if r.citation]
    for s in scores:
        renamed = [f"{t} shown as {names[t]}" for t in s.trackers if t in names]
        extra = f"; {', '.join(renamed)}" if renamed else ""
        notes.append(f"Measured ({s.dataset}, variant {s.variant}, siambench {s.siambench_version}): "
                     f"{s.source}{extra}")
    notes.append(f"Metric variant: {_variant(scores)}; siambench {__version__}; "
                 "↑ higher is better, ↓ lower is better; - not reported.")
    return notes
