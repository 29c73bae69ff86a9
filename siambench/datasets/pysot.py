"""pysot's dataset JSON, ``{sequence: {img_names, gt_rect, ...}}``, checked before any field is used.

The VOT and OTB readers and ``siambench data import-json`` read it through :func:`read_pysot_json`,
so a wrong type is a one-line error naming the file and the sequence, never a traceback or a
silently changed score (a short ground-truth row used to become NaN, which scores as a miss).
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Any

from siambench.errors import InputError
from siambench.textio import check_distinct, read_json

_NUMBER_TYPES = {int, float}  # bool is neither (type(True) is bool)


def read_pysot_json(path: Path, sizes: tuple[int, ...] = (4, 8), flags: tuple[str, ...] = (),
                    required: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The checked mapping of a pysot JSON file.

    sizes: values a gt_rect row may hold. flags: fields holding per-frame 0/1 lists (VOT's
    tags). required: fields besides img_names and gt_rect every sequence must have.
    """
    meta = read_json(path, "dataset JSON")
    if not isinstance(meta, dict):
        raise InputError(path, "expected pysot's {sequence: {img_names, gt_rect, ...}} object, "
                               f"got a JSON {type(meta).__name__}")
    if not meta:
        raise InputError(path, "no sequences (the JSON object is empty)")
    check_distinct(((None, name) for name in meta), path)
    for name, entry in meta.items():
        _check_entry(path, name, entry, sizes, flags, required)
    return meta


def check_rows(path: Path, name: str, rows: list, sizes: tuple[int, ...]) -> None:
    """Every gt_rect row a list of `sizes` numbers; the first bad row is named.

    The common case (all good) is checked with set() over map(), in C: VOT2018 has 21k rows.
    """
    if not isinstance(rows, list) or not rows:
        raise InputError(path, f"sequence {name!r}: expected gt_rect, a non-empty list of rows")
    if set(map(type, rows)) == {list} and set(map(len, rows)) <= set(sizes) \
            and set(map(type, chain.from_iterable(rows))) <= _NUMBER_TYPES:
        return
    expected = " or ".join(str(s) for s in sizes)
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise InputError(path, f"sequence {name!r}: gt_rect row {i}: expected a list of {expected} "
                                   f"numbers, got {_short(row)}")
        if len(row) not in sizes:
            raise InputError(path, f"sequence {name!r}: gt_rect row {i} has {len(row)} values, expected {expected}")
        bad = [v for v in row if type(v) not in _NUMBER_TYPES]
        if bad:
            raise InputError(path, f"sequence {name!r}: gt_rect row {i}: expected numbers, got {_short(bad[0])}")


def _check_entry(path: Path, name: str, entry: Any, sizes: tuple[int, ...], flags: tuple[str, ...],
                 required: tuple[str, ...]) -> None:
    where = f"sequence {name!r}"
    if not name.strip():
        raise InputError(path, "a sequence has an empty name")
    if not isinstance(entry, dict):
        raise InputError(path, f"{where}: expected an object with img_names and gt_rect, got {_short(entry)}")
    missing = [k for k in ("img_names", "gt_rect", *required) if k not in entry]
    if missing:
        raise InputError(path, f"{where}: missing {', '.join(missing)}")
    images = entry["img_names"]
    if not isinstance(images, list) or not all(isinstance(n, str) and n for n in images):
        raise InputError(path, f"{where}: expected img_names, a list of image paths")
    check_rows(path, name, entry["gt_rect"], sizes)
    if len(images) != len(entry["gt_rect"]):
        raise InputError(path, f"{where}: {len(images)} images but {len(entry['gt_rect'])} gt_rect rows")
    for key in ("width", "height"):
        value = entry.get(key, 1)
        if type(value) is not int or value <= 0:
            raise InputError(path, f"{where}: expected {key}, a positive integer, got {_short(value)}")
    for key in flags:
        values = entry.get(key, [])
        if not isinstance(values, list) or not set(map(type, values)) <= {int} or not set(values) <= {0, 1}:
            raise InputError(path, f"{where}: expected {key}, a list of 0/1 flags per frame")
    attributes = entry.get("attr", [])
    if not isinstance(attributes, list) or not all(isinstance(v, str) for v in attributes):
        raise InputError(path, f"{where}: expected attr, a list of attribute names")
    if not isinstance(entry.get("video_dir", ""), str):
        raise InputError(path, f"{where}: expected video_dir, a folder name")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
