"""Figures from score sets: OTB success/precision, per-attribute success, VOT EAO curves,
accuracy-robustness scatter, attribute radar.

matplotlib is imported inside the functions (reports and gates that print tables never load it),
and only through `matplotlib.figure.Figure`, which draws with Agg/PDF without pyplot's global
state, so no display and no LaTeX installation are needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from siambench.scores import ScoreSet

FORMATS = ("png", "pdf")
LINESTYLES = ("-", "--", "-.", ":")


def _figure(size: tuple[float, float] = (6.0, 4.5), polar: bool = False) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot(projection="polar" if polar else None)
    return fig, ax


def _save(fig: Any, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    """Render in memory, then write atomically (a stopped report leaves no half-written plot)."""
    import io

    from siambench.textio import atomic_write_bytes

    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=150, format=fmt)
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    return paths


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "x"


def _style(i: int) -> dict[str, Any]:
    return {"color": f"C{i % 10}", "linestyle": LINESTYLES[(i // 10) % len(LINESTYLES)], "linewidth": 1.8}


def _label(name: str, aliases: Mapping[str, str]) -> str:
    return aliases.get(name, name)


def _curve(scores: Mapping[str, Any], key: str) -> list[float] | None:
    """A curve stored as {"curves": {key: [...]}} or as "<key>_curve" (per-attribute scores)."""
    curve = (scores.get("curves") or {}).get(key) or scores.get(f"{key}_curve")
    return [float(v) for v in curve] if isinstance(curve, list) and curve else None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


# --- OTB ------------------------------------------------------------------------------------------

def success_plot(lines: Mapping[str, list[float]], title: str) -> Any:
    """Success rate against overlap threshold, legend ranked by AUC (mean of the curve)."""
    fig, ax = _figure()
    ranked = sorted(lines.items(), key=lambda kv: -_mean(kv[1]))
    for i, (name, curve) in enumerate(ranked):
        xs = [j / (len(curve) - 1) for j in range(len(curve))]
        ax.plot(xs, curve, label=f"{name} [{_mean(curve):.3f}]", **_style(i))
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Overlap threshold", ylabel="Success rate", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small", title="AUC")
    return fig


def precision_plot(lines: Mapping[str, list[float]], title: str, at: int = 20) -> Any:
    """Precision against location-error threshold (px), legend ranked by precision at `at` px."""
    fig, ax = _figure()

    def score(curve: list[float]) -> float:
        return curve[min(at, len(curve) - 1)]

    ranked = sorted(lines.items(), key=lambda kv: -score(kv[1]))
    for i, (name, curve) in enumerate(ranked):
        ax.plot(range(len(curve)), curve, label=f"{name} [{score(curve):.3f}]", **_style(i))
    ax.set(xlim=(0, max(len(c) for c in lines.values()) - 1), ylim=(0, 1.02),
           xlabel="Location error threshold (px)", ylabel="Precision", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small", title=f"Precision @{at}px")
    return fig


# --- VOT ------------------------------------------------------------------------------------------

def eao_plot(lines: Mapping[str, list[float]], eao: Mapping[str, float], interval: tuple[int, int] | None,
             title: str) -> Any:
    """Expected-overlap curves over sequence length; the averaging interval is shaded."""
    fig, ax = _figure()
    if interval is not None:
        ax.axvspan(interval[0], interval[1], color="0.85", label=f"interval [{interval[0]}, {interval[1]}]")
    ranked = sorted(lines, key=lambda name: -eao.get(name, 0.0))
    for i, name in enumerate(ranked):
        suffix = f" [{eao[name]:.3f}]" if name in eao else ""
        ax.plot(range(len(lines[name])), lines[name], label=f"{name}{suffix}", **_style(i))
    ax.set(xlabel="Sequence length (frames)", ylabel="Expected overlap", ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="small", title="EAO")
    return fig


def ar_plot(points: Mapping[str, tuple[float, float]], title: str) -> Any:
    """Accuracy (up is better) against robustness (left is better, failures per 100 frames)."""
    fig, ax = _figure()
    for i, (name, (robustness, accuracy)) in enumerate(sorted(points.items())):
        ax.scatter([robustness], [accuracy], color=f"C{i % 10}", label=name, zorder=3)
        ax.annotate(name, (robustness, accuracy), textcoords="offset points", xytext=(4, 4), fontsize="small")
    ax.set(xlabel="Robustness (lower is better)", ylabel="Accuracy (higher is better)", title=title)
    ax.grid(alpha=0.3)
    return fig


# --- attributes -----------------------------------------------------------------------------------

def radar_plot(values: Mapping[str, Mapping[str, float]], metric: str, title: str) -> Any:
    """One polygon per tracker over the attributes.

    With several trackers each axis is scaled by its best value (as pysot's radar does), so the
    shape shows who leads where; a single tracker is drawn on the metric's own scale instead.
    """
    import math

    attributes = sorted({a for per in values.values() for a in per})
    if len(values) > 1:
        scale = {a: max((per.get(a, 0.0) for per in values.values()), default=0.0) or 1.0 for a in attributes}
        note = "each axis scaled by its best value (shown)"
    else:
        scale = dict.fromkeys(attributes, 1.0)
        note = "value per attribute"
    top = max(per.get(a, 0.0) / scale[a] for per in values.values() for a in attributes)
    angles = [2 * math.pi * k / len(attributes) for k in range(len(attributes))]
    fig, ax = _figure((6.5, 6.5), polar=True)
    for i, (name, per) in enumerate(sorted(values.items())):
        radii = [per.get(a, 0.0) / scale[a] for a in attributes]
        ax.plot(angles + angles[:1], radii + radii[:1], label=name, **_style(i))
        ax.fill(angles + angles[:1], radii + radii[:1], color=f"C{i % 10}", alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels([f"{a}\n({scale[a]:.3f})" if len(values) > 1 else a for a in attributes],
                       fontsize="small")
    ax.tick_params(axis="x", pad=12)
    ax.tick_params(axis="y", labelsize="x-small")
    ax.set_ylim(0, max(top, 1e-9) * 1.05)
    if len(values) > 1:
        ax.set_yticklabels([])
    ax.set_title(f"{title}\n{metric}, {note}", fontsize="medium")
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.1), fontsize="small")
    return fig


def _attribute_curves(score_set: ScoreSet, tracker: str, key: str) -> dict[str, list[float]]:
    curves = {}
    for attribute, per in score_set.attributes(tracker).items():
        curve = _curve(per, key) if isinstance(per, Mapping) else None
        if curve:
            curves[attribute] = curve
    return curves


def _radar_metric(score_set: ScoreSet) -> str | None:
    for metric in ("auc", "eao", "accuracy"):
        if any(isinstance(per, Mapping) and isinstance(per.get(metric), int | float)
               for t in score_set.trackers for per in score_set.attributes(t).values()):
            return metric
    return None


# --- driver ---------------------------------------------------------------------------------------

def write_plots(
    scores: Iterable[ScoreSet],
    out_dir: str | Path,
    formats: Sequence[str] = FORMATS,
    aliases: Mapping[str, str] | None = None,
) -> list[Path]:
    """Every plot the score sets support, as `<dataset>_<plot>.<fmt>` in `out_dir`."""
    from siambench.textio import check_writable_dir

    out = Path(out_dir)
    check_writable_dir(out)
    names = dict(aliases or {})
    written: list[Path] = []
    for s in scores:
        written += _ope_plots(s, out, formats, names)
        written += _vot_plots(s, out, formats, names)
        written += _radar(s, out, formats, names)
    return written


def _ope_plots(s: ScoreSet, out: Path, formats: Sequence[str], names: Mapping[str, str]) -> list[Path]:
    written: list[Path] = []
    dataset = s.dataset.upper()
    for key, plot, title in (("success", success_plot, "Success plots of OPE"),
                             ("precision", precision_plot, "Precision plots of OPE")):
        lines = {_label(t, names): c for t in s.trackers if (c := _curve(s.overall(t), key))}
        if lines:
            written += _save(plot(lines, f"{title} on {dataset}"), out, f"{s.dataset}_{key}", formats)
    per_attribute: dict[str, dict[str, list[float]]] = {}
    for t in s.trackers:
        for attribute, curve in _attribute_curves(s, t, "success").items():
            per_attribute.setdefault(attribute, {})[_label(t, names)] = curve
    for attribute, lines in sorted(per_attribute.items()):
        fig = success_plot(lines, f"Success plots of OPE on {dataset} - {attribute}")
        written += _save(fig, out, f"{s.dataset}_success_{_slug(attribute)}", formats)
    return written


def _vot_plots(s: ScoreSet, out: Path, formats: Sequence[str], names: Mapping[str, str]) -> list[Path]:
    written: list[Path] = []
    dataset = s.dataset.upper()
    lines = {_label(t, names): c for t in s.trackers if (c := _curve(s.overall(t), "eao"))}
    if lines:
        eao = {_label(t, names): v for t in s.trackers if (v := s.value(t, "eao")) is not None}
        interval = s.extra.get("eao_interval") or _eao_interval(s.dataset)
        fig = eao_plot(lines, eao, tuple(interval) if interval else None, f"Expected overlap curves on {dataset}")
        written += _save(fig, out, f"{s.dataset}_eao_curve", formats)
    points = {}
    for t in s.trackers:
        accuracy, robustness = s.value(t, "accuracy"), s.value(t, "robustness")
        if accuracy is not None and robustness is not None:
            points[_label(t, names)] = (robustness, accuracy)
    if points:
        written += _save(ar_plot(points, f"Accuracy-robustness on {dataset}"), out, f"{s.dataset}_ar", formats)
    return written


def _eao_interval(dataset: str) -> tuple[int, int] | None:
    """The registered expected-overlap interval of a VOT dataset (None for unknown names)."""
    from siambench.datasets import DATASETS

    info = DATASETS.get(dataset)
    return None if info is None else info.eao_interval


def _radar(s: ScoreSet, out: Path, formats: Sequence[str], names: Mapping[str, str]) -> list[Path]:
    metric = _radar_metric(s)
    if metric is None:
        return []
    values = {}
    for t in s.trackers:
        per = {a: float(v[metric]) for a, v in s.attributes(t).items()
               if isinstance(v, Mapping) and isinstance(v.get(metric), int | float)}
        if per:
            values[_label(t, names)] = per
    if not values or len({a for per in values.values() for a in per}) < 3:
        return []  # a radar needs at least three axes
    fig = radar_plot(values, metric, f"Attributes on {s.dataset.upper()}")
    return _save(fig, out, f"{s.dataset}_radar", formats)
