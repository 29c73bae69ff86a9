"""Checks of a tracker spec's ``model`` and ``hyper`` sections, shared by the adapters.

Every adapter rejects keys it does not know (a typo must not silently fall back to a default)
and names the spec in its errors the same way.

The types of the built-in adapters' values (:data:`HYPER_KINDS`, :data:`MODEL_KINDS`) are
checked when a spec is read, so that ``penalty_k: "0.1"`` or ``lr: [0.3]`` is an error naming
the file and key before anything runs, not a TypeError in the middle of tracking. The tables
are kept here, away from the adapters, because reading a spec must not import torch; a test
compares them with the adapters' own configuration classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from siambench.errors import SiambenchError
from siambench.trackers.box_policy import BOX_POLICIES

if TYPE_CHECKING:
    from siambench.trackers.registry import TrackerSpec

C = TypeVar("C")

# Kinds of value: number (int or float, finite, not a bool), int, str, bool, numbers (a
# non-empty list of numbers), part (pysot's model description: a mapping with a string 'type'
# and an optional 'kwargs' mapping), auto-or-bool; a trailing '?' also allows null.
_SIAMRPN_HYPER = {
    "penalty_k": "number", "window_influence": "number", "lr": "number",
    "exemplar_size": "int", "instance_size": "int", "base_size": "int",
    "context_amount": "number", "anchor_stride": "int",
    "anchor_ratios": "numbers", "anchor_scales": "numbers",
    "small_target_instance_size": "int?", "small_target_area_ratio": "number",
    "crop_rounding": "str",
}
_SIAMFC_HYPER = {
    "exemplar_size": "int", "instance_size": "int", "context_amount": "number",
    "scale_num": "int", "scale_step": "number", "scale_lr": "number", "scale_penalty": "number",
    "window_influence": "number", "response_size": "int", "response_up": "int",
    "total_stride": "int",
}
_SIAMFCPLUS_HYPER = {
    "num_scale": "int", "scale_step": "number", "scale_penalty": "number", "scale_lr": "number",
    "response_up": "int", "windowing": "str", "w_influence": "number", "instance_size": "int",
    "total_stride": "int", "context_amount": "number", "exemplar_size": "int?",
    "score_size": "int?", "benchmark": "str",
}
_SIAMRPNPLUS_HYPER = {
    "penalty_k": "number", "window_influence": "number", "lr": "number", "windowing": "str",
    "exemplar_size": "int", "instance_size": "int", "total_stride": "int",
    "context_amount": "number", "ratios": "numbers", "scales": "numbers",
    "small_target_instance_size": "int?", "small_target_area_ratio": "number",
    "benchmark": "str",
}
_OPENCV_MIL_HYPER = {
    "samplerInitInRadius": "number", "samplerInitMaxNegNum": "int",
    "samplerSearchWinSize": "number", "samplerTrackInRadius": "number",
    "samplerTrackMaxPosNum": "int", "samplerTrackMaxNegNum": "int",
    "featureSetNumFeatures": "int", "seed": "int",
}

# Ranges beyond the type, where a value outside makes the tracker crash or loop (scale_num 0,
# a 0-pixel crop, a zero step): ">=1", ">0", ">=0", or "0..1" (both ends included).
_SIZES = dict.fromkeys(("exemplar_size", "instance_size", "response_size", "response_up", "total_stride",
                        "scale_num", "num_scale", "anchor_stride", "small_target_instance_size", "score_size",
                        "samplerInitMaxNegNum", "samplerTrackMaxPosNum", "samplerTrackMaxNegNum",
                        "featureSetNumFeatures"), ">=1")
_SHARES = dict.fromkeys(("window_influence", "w_influence", "lr", "scale_lr"), "0..1")
_POSITIVE = dict.fromkeys(("scale_step", "scale_penalty", "samplerInitInRadius", "samplerSearchWinSize",
                           "samplerTrackInRadius"), ">0")
_NON_NEGATIVE = dict.fromkeys(("penalty_k", "context_amount", "base_size", "small_target_area_ratio"), ">=0")
_POSITIVE_LISTS = dict.fromkeys(("anchor_ratios", "anchor_scales", "ratios", "scales"), ">0")  # each item
#: hyper key -> the range its value (or each of its values) must lie in (any built-in adapter)
HYPER_RANGES: dict[str, str] = {**_SIZES, **_SHARES, **_POSITIVE, **_NON_NEGATIVE, **_POSITIVE_LISTS}


def range_problem(value: Any, rule: str) -> str | None:
    """None when the number `value` keeps to `rule` (see HYPER_RANGES); otherwise what was expected."""
    if value is None:
        return None
    ok = {">=1": lambda v: v >= 1, ">0": lambda v: v > 0, ">=0": lambda v: v >= 0,
          "0..1": lambda v: 0 <= v <= 1}[rule](value)
    expected = {">=1": "at least 1", ">0": "above 0", ">=0": "0 or more", "0..1": "between 0 and 1"}[rule]
    return None if ok else f"expected {expected}, got {_shown(value)}"


#: adapter -> hyper key -> kind, for the built-in adapters (keys not listed are the adapter's
#: to reject; plugins' values are their own business)
HYPER_KINDS: dict[str, dict[str, str]] = {
    "siamrpn": _SIAMRPN_HYPER,
    "siamfc": _SIAMFC_HYPER,
    "siamfcplus": _SIAMFCPLUS_HYPER,
    "siamrpnplus": _SIAMRPNPLUS_HYPER,
    "opencv-mil": _OPENCV_MIL_HYPER,
}

#: adapter -> model key -> kind
MODEL_KINDS: dict[str, dict[str, str]] = {
    "siamrpn": {"arch": "str", "backbone": "part", "neck": "part?", "rpn": "part",
                "checkpoint_layout": "str", "fuse_bn": "bool", "channels_last": "auto-or-bool?"},
    "siamfc": {"backbone": "str", "out_scale": "number", "input_color": "str", "fuse_bn": "bool",
               "channels_last": "auto-or-bool?"},
    "siamfcplus": {"arch": "str", "corr_scale": "number", "fuse_bn": "bool", "channels_last": "auto-or-bool?"},
    "siamrpnplus": {"arch": "str", "cls_type": "str", "anchor_num": "int", "fuse_bn": "bool",
                    "channels_last": "auto-or-bool?"},
    "opencv-mil": {},
}


#: adapter -> the box policy of the original it follows, for specs that name none (plugins:
#: pysot's, siambench's init box as it is)
DEFAULT_BOX_POLICY: dict[str, str] = {
    "siamrpn": "pysot",
    "siamfc": "siamfc-pytorch",
    "siamfcplus": "siamdw-otb",
    "siamrpnplus": "siamdw-otb",
    "opencv-mil": "pysot",
}


def box_policy_name(spec: TrackerSpec) -> str:
    """The box policy `spec` runs under: its own, or its adapter's default."""
    return spec.box_policy or DEFAULT_BOX_POLICY.get(spec.adapter, "pysot")


def box_policy_problem(value: Any) -> str | None:
    """What is wrong with a spec's ``box_policy`` value (None: absent, or a known name)."""
    if value is None or (isinstance(value, str) and value in BOX_POLICIES):
        return None
    return f"'box_policy' must be one of {', '.join(BOX_POLICIES)}, got {_shown(value)}"


def _shown(value: Any) -> str:
    """A wrong value as an error message names it."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return f"a list ({len(value)} item(s))"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"{value!r}"


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def kind_problem(value: Any, kind: str) -> str | None:
    """None when `value` is of `kind` (see the kinds above); otherwise what was expected."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "number":
        ok, expected = _is_number(value), "a finite number"
    elif kind == "int":
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif kind == "str":
        ok, expected = isinstance(value, str), "a string"
    elif kind == "bool":
        ok, expected = isinstance(value, bool), "true or false"
    elif kind == "numbers":
        ok = isinstance(value, list | tuple) and bool(value) and all(_is_number(v) for v in value)
        expected = "a non-empty list of numbers"
    elif kind == "auto-or-bool":
        ok, expected = value == "auto" or isinstance(value, bool), "auto, true or false"
    elif kind == "part":
        ok = (isinstance(value, Mapping) and isinstance(value.get("type"), str)
              and isinstance(value.get("kwargs") or {}, Mapping))
        expected = "a mapping with a string 'type' and a mapping 'kwargs'"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return None if ok else f"expected {expected}, got {_shown(value)}"


def section_problem(section: Mapping[str, Any], kinds: Mapping[str, str], name: str,
                    ranges: Mapping[str, str] | None = None) -> str | None:
    """The first value of `section` (the spec's `name` section) that is not of its kind, or
    outside its range."""
    for key, value in section.items():
        if not isinstance(key, str):
            return f"{name}: keys must be names, got {_shown(key)}"
        kind = kinds.get(key)
        problem = None if kind is None else kind_problem(value, kind)
        if problem is None and kind is not None and key in (ranges or {}):
            if kind.rstrip("?") in ("int", "number"):
                problem = range_problem(value, ranges[key])
            elif kind == "numbers":
                problem = next(filter(None, (range_problem(v, ranges[key]) for v in value)), None)
        if problem:
            return f"{name}.{key}: {problem}"
    return None


def spec_problem(adapter: str, model: Mapping[str, Any], hyper: Mapping[str, Any]) -> str | None:
    """The first value of a spec's model or hyper section of the wrong type, or None."""
    return (section_problem(model, MODEL_KINDS.get(adapter, {}), "model")
            or section_problem(hyper, HYPER_KINDS.get(adapter, {}), "hyper", HYPER_RANGES)
            or _sizes_problem(adapter, hyper))


#: adapter -> (exemplar_size, instance_size) when a spec leaves them out (the adapters' config
#: defaults; a test compares them). SiamDW's SiamFC+ derives its exemplar: instance - 128.
DEFAULT_SIZES: dict[str, tuple[int | None, int]] = {
    "siamrpn": (127, 255), "siamfc": (127, 255), "siamrpnplus": (127, 255), "siamfcplus": (None, 255),
}
SIAMFCPLUS_EXEMPLAR_MARGIN = 128


def _sizes_problem(adapter: str, hyper: Mapping[str, Any]) -> str | None:
    """The search region must hold the exemplar: a smaller one fails in the first correlation."""
    if adapter not in DEFAULT_SIZES:
        return None
    default_exemplar, default_instance = DEFAULT_SIZES[adapter]
    instance = hyper.get("instance_size", default_instance)
    if adapter == "siamfcplus":
        if isinstance(instance, int) and instance <= SIAMFCPLUS_EXEMPLAR_MARGIN:
            return (f"hyper.instance_size: expected above {SIAMFCPLUS_EXEMPLAR_MARGIN} (SiamDW's exemplar is "
                    f"{SIAMFCPLUS_EXEMPLAR_MARGIN} px smaller), got {instance}")
        return None
    exemplar = hyper.get("exemplar_size", default_exemplar)
    if isinstance(exemplar, int) and isinstance(instance, int) and instance < exemplar:
        return f"hyper.instance_size: expected at least exemplar_size ({exemplar}), got {instance}"
    return None


def check_spec(spec: TrackerSpec) -> None:
    """Raise SiambenchError naming the spec and key when a value has the wrong type."""
    problem = spec_problem(spec.adapter, spec.model, spec.hyper) or box_policy_problem(spec.box_policy)
    if problem:
        raise SiambenchError(f"{where(spec)}: {problem}")


def check_hyper_kinds(spec: TrackerSpec, hyper: Mapping[str, Any], place: str) -> None:
    """Raise SiambenchError when `hyper` values would not fit `spec`'s adapter (tune's settings)."""
    problem = section_problem(hyper, HYPER_KINDS.get(spec.adapter, {}), "hyper", HYPER_RANGES)
    if problem:
        raise SiambenchError(f"{place}: {problem} (tracker {spec.name!r})")


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
