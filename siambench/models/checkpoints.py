"""Load released checkpoints into the models, unchanged and strictly.

A checkpoint file is read with ``torch.load(..., map_location="cpu", weights_only=True)``, so a
file can hold tensors but never run code. Wrappers that training scripts add are removed: a
``{"state_dict": ...}`` (or ``{"model": ...}``) dictionary and a ``module.`` prefix from
``DataParallel``. DaSiamRPN's files use their own names (``featureExtract.N``, ``conv_cls1``,
...), mapped onto pysot's (reference section 1.8). Then every key and shape must match the
model exactly; the one tolerated difference is BatchNorm's ``num_batches_tracked`` counter,
which files saved before PyTorch 0.4.1 lack and which inference never reads.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from siambench.errors import InputError

WRAPPER_KEYS = ("state_dict", "model")

# DaSiamRPN code/net.py attribute -> pysot SiamRPN attribute
DASIAMRPN_PREFIXES = {
    "featureExtract.": "backbone.features.",
    "conv_cls1.": "rpn_head.template_cls_conv.",
    "conv_r1.": "rpn_head.template_loc_conv.",
    "conv_cls2.": "rpn_head.search_cls_conv.",
    "conv_r2.": "rpn_head.search_loc_conv.",
    "regress_adjust.": "rpn_head.loc_adjust.",
}

_SHOWN = 3  # mismatching keys named in an error


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file as a flat state dict, wrappers removed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        raise InputError(path, f"not a readable PyTorch checkpoint: {_load_failure(exc)}") from exc
    return unwrap_state_dict(obj, path)


def _load_failure(exc: BaseException) -> str:
    """torch.load's reason in a few words; its own message runs to a paragraph of advice."""
    text = str(exc)
    unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if unsafe:
        # Loading with weights_only=False would run code from the file; siambench never does.
        return (f"it stores a Python object ({unsafe.group(1)}) besides tensors, which siambench "
                "does not unpickle; save just the state dict (torch.save(model.state_dict(), FILE))")
    if "WeightsUnpickler error" in text or "invalid load key" in text:
        return "expected a file written by torch.save (a zip archive or a legacy pickle)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if "central directory" in text or isinstance(exc, EOFError | OSError):
        # A cut zip archive makes torch seek past its end (EINVAL) or find no directory.
        return "the file is truncated or damaged"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first.split(". ")[0]


def unwrap_state_dict(obj: object, path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """Strip ``{"state_dict": ...}`` wrappers and ``module.`` prefixes; keep only tensors."""
    while isinstance(obj, Mapping):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise InputError(path, f"expected a state dict, found {type(obj).__name__}")
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise InputError(path, "the checkpoint holds no tensors")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def is_dasiamrpn_layout(state: Mapping[str, torch.Tensor]) -> bool:
    """True when the keys use DaSiamRPN's names."""
    return any(k.startswith("featureExtract.") for k in state)


def map_dasiamrpn_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename DaSiamRPN keys to pysot's; other keys are kept as they are."""
    mapped = {}
    for key, value in state.items():
        for old, new in DASIAMRPN_PREFIXES.items():
            if key.startswith(old):
                key = new + key[len(old) :]
                break
        mapped[key] = value
    return mapped


def _describe(keys: list[str]) -> str:
    more = len(keys) - _SHOWN
    return ", ".join(keys[:_SHOWN]) + (f" (+{more} more)" if more > 0 else "")


def mismatch_report(model: nn.Module, state: Mapping[str, torch.Tensor]) -> str | None:
    """None when `state` fits `model` exactly; otherwise a one-line summary of what differs."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_describe(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {_describe(shapes)}")
    return "; ".join(problems) or None


def load_state(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str | Path | None = None,
    model_name: str | None = None,
) -> nn.Module:
    """Load `state` into `model` strictly; raise InputError naming the first differences."""
    state = dict(state)
    if is_dasiamrpn_layout(state):
        state = map_dasiamrpn_keys(state)
    # Old files lack BatchNorm's step counter; it is not a weight, so give it the model's value.
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value.clone()
    problem = mismatch_report(model, state)
    if problem:
        name = model_name or f"the {type(model).__name__} model"
        raise InputError(source, f"checkpoint does not fit {name}: {problem}")
    model.load_state_dict(state, strict=True)
    return model


def load_checkpoint(model: nn.Module, path: str | Path, model_name: str | None = None) -> nn.Module:
    """Read `path` and load it into `model` strictly (see the module docstring).

    `model_name` names the model in the error message (e.g. "tracker 'siamrpnpp'").
    """
    return load_state(model, read_checkpoint(path), path, model_name)
