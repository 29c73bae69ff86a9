"""Checks of a tracker spec's ``model`` and ``hyper`` sections, shared by the adapters.

Every adapter rejects keys it does not know (a typo must not silently fall back to a default)
and names the spec in its errors the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from siambench.errors import SiambenchError
from siambench.trackers.registry import TrackerSpec

C = TypeVar("C")


def where(spec: TrackerSpec) -> str:
    """How error messages name a spec."""
    return f"tracker {spec.name!r}" + (f" ({spec.source})" if spec.source else "")


def check_keys(
    section: Mapping[str, Any], known: set[str], what: str, place: str, noun: str | None = None
) -> None:
    """Raise SiambenchError naming every key of `section` that is not in `known`.

    The message says "unknown <what> key(s)", or "unknown <noun>" when `noun` is given.
    """
    unknown = sorted(set(section) - known)
    if unknown:
        raise SiambenchError(
            f"{place}: unknown {noun or f'{what} key(s)'} {', '.join(map(str, unknown))}; "
            f"expected {', '.join(sorted(known))}"
        )


def config_from(cls: type[C], values: Mapping[str, Any], place: str) -> C:
    """Build the dataclass `cls` from a spec's hyper section, rejecting keys it does not have."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    check_keys(values, names, "hyper", place)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
    try:
        return cls(**kwargs)
    except SiambenchError as exc:  # a value the config itself rejects
        raise SiambenchError(f"{place}: {exc}") from exc
