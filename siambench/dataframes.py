"""Scores as pandas DataFrames: overall, per sequence and per attribute (or VOT tag).

    frames = to_frames(evaluate("otb2015", "results"))
    frames["overall"].loc[("otb2015", "pysot", "SiamFC"), "auc"]
    frames["attributes"].xs("OCC", level="attribute")

pandas belongs to the ``report`` extra: importing this module needs it, scoring does not.
Curves (success, precision, EAO) stay in the score dicts; the frames hold the scalars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from siambench.scores import ScoreSet, numeric_values, parse_scores

FRAME_INDEX = {
    "overall": ["dataset", "variant", "tracker"],
    "sequences": ["dataset", "variant", "tracker", "sequence"],
    "attributes": ["dataset", "variant", "tracker", "attribute"],
}


def to_frames(scores: Mapping[str, Any] | ScoreSet | Iterable[ScoreSet]) -> dict[str, pd.DataFrame]:
    """{"overall", "sequences", "attributes"} DataFrames of one or more score sets.

    `scores` is what :func:`siambench.evaluate.evaluate` returns, a ScoreSet, or several.
    """
    if isinstance(scores, Mapping):
        sets = parse_scores(scores, "scores")
    elif isinstance(scores, ScoreSet):
        sets = [scores]
    else:
        sets = list(scores)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FRAME_INDEX}
    for s in sets:
        for tracker, values in s.trackers.items():
            head = {"dataset": s.dataset, "variant": s.variant, "tracker": tracker}
            rows["overall"].append({**head, **numeric_values(values.get("overall", {}))})
            for seq, seq_values in (values.get("sequences") or {}).items():
                rows["sequences"].append({**head, "sequence": seq, **numeric_values(seq_values)})
            for attr, attr_values in s.attributes(tracker).items():
                rows["attributes"].append({**head, "attribute": attr, **numeric_values(attr_values)})
    return {name: _frame(rows[name], FRAME_INDEX[name]) for name in FRAME_INDEX}


def _frame(rows: list[dict[str, Any]], index: list[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=index).set_index(index)
    return pd.DataFrame(rows).set_index(index).sort_index()
