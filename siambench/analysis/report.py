"""What ``siambench report`` needs to include the analyses' figures (no torch, no matplotlib).

``analyze`` writes ``bias.png``, ``shift.png`` and ``prior.png`` beside its JSON under its
``--out`` folders; :func:`analysis_figures` finds them under a results tree so that a report
can link or copy them.
"""

from __future__ import annotations

from pathlib import Path

FIGURES = ("bias.png", "shift.png", "prior.png")


def analysis_figures(root: str | Path = "results/analysis") -> list[Path]:
    """The analysis figures under `root`, sorted (nothing when `root` does not exist)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.png") if p.name in FIGURES)
