"""Figures of the analyses (PNG), drawn like :mod:`siambench.report.plots`: matplotlib's
``Figure`` with Agg, no pyplot state, matplotlib imported only here."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from siambench.textio import atomic_write_bytes


def _figure(size: tuple[float, float], columns: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots(1, columns, squeeze=False)[0]


def save_png(fig: Any, path: Path, dpi: int = 100) -> Path:
    """Render in memory, then write atomically through textio's writer."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def bias_figure(results: Sequence[Any]) -> Any:
    """Per tracker: the positional prior (peak counts over the score map) and, on the right,
    the localisation error against the offset's ring."""
    fig, axes = _figure((3.2 * len(results) + 3.6, 3.2), len(results) + 1)
    for ax, result in zip(axes, results, strict=False):
        half = result.cell_offsets[-1] + (result.cell_offsets[1] - result.cell_offsets[0]) / 2
        image = ax.imshow(result.heatmap, cmap="viridis", extent=(-half, half, half, -half))
        ax.set_title(f"{result.tracker}\ncentre-bias index {result.index:.2f}", fontsize=9)
        ax.set_xlabel("peak x offset (px)")
        ax.set_ylabel("peak y offset (px)")
        fig.colorbar(image, ax=ax, shrink=0.8, label="peaks")
    curve = axes[-1]
    for i, result in enumerate(results):
        rings, error = result.error_curve()
        curve.plot(rings, error, marker="o", color=f"C{i}", label=result.tracker)
    curve.set_xlabel("target offset, max(|dx|, |dy|) (px)")
    curve.set_ylabel("localisation error (px)")
    curve.grid(alpha=0.3)
    curve.legend(fontsize=7)
    return fig


def shift_figure(summary: Mapping[str, Any]) -> Any:
    """EAO, success AUC and centre-bias index against the training shift range."""
    fig, axes = _figure((10.5, 3.2), 3)
    panels = (("eao", "EAO (demo-vot)"), ("auc", "success AUC (demo)"),
              ("centre_bias_index", "centre-bias index"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for i, tracker in enumerate(summary["trackers"]):
            points = [p for p in summary["points"] if p["tracker"] == tracker]
            xs = [p["shift"] for p in points]
            ys = [np.nan if p[key] is None else p[key] for p in points]
            ax.plot(xs, ys, marker="o", color=f"C{i}", label=tracker)
        ax.set_xlabel("training shift range (px)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    axes[0].legend(fontsize=7)
    return fig


def prior_figure(priors: Mapping[str, Mapping[str, Any]]) -> Any:
    """The training-side prior: positive-label share over the score map, per shift range."""
    rows = list(priors.items())
    shifts = list(rows[0][1])
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.3 * len(shifts), 2.3 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), len(shifts), squeeze=False)
    for r, (tracker, by_shift) in enumerate(rows):
        for c, shift in enumerate(shifts):
            ax = axes[r][c]
            ax.imshow(np.asarray(by_shift[shift]), cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"shift {shift}", fontsize=8)
        axes[r][0].set_ylabel(tracker, fontsize=7)
    return fig
