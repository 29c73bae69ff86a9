"""Rows for `siambench list trackers`: what each tracker is and whether its weights are here."""

from __future__ import annotations

from typing import Any

from siambench.errors import SiambenchError
from siambench.trackers.registry import list_trackers, load_spec
from siambench.weights import expected_weights_path


def tracker_rows() -> list[dict[str, Any]]:
    """One dict per tracker, sorted by name.

    Keys: name, adapter, checkpoint (file name or None), weights_path (where it is looked for,
    or None), weights_found (True/False, None when the tracker has no weights), description.
    A spec file that does not load is listed with its error as the description rather than
    hiding the other trackers.
    """
    rows = []
    for name in list_trackers():
        try:
            spec = load_spec(name)
        except SiambenchError as exc:
            rows.append({"name": name, "adapter": "?", "checkpoint": None, "weights_path": None,
                         "weights_found": None, "description": f"error: {exc}"})
            continue
        path = expected_weights_path(spec)
        rows.append({
            "name": spec.name,
            "adapter": spec.adapter,
            "checkpoint": spec.checkpoint,
            "weights_path": str(path) if path is not None else None,
            # an empty file (an interrupted download) is not weights
            "weights_found": None if path is None else path.is_file() and path.stat().st_size > 0,
            "description": spec.description,
        })
    return rows
