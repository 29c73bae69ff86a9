"""Load released checkpoints into the models, unchanged and strictly.

A checkpoint file is read with ``torch.load(..., map_location="cpu", weights_only=True)``, so a
file can hold tensors but never run code. Wrappers that training scripts add are removed: a
``{"state_dict": ...}`` (or ``{"model": ...}``) dictionary and a ``module.`` prefix from
``DataParallel``. DaSiamRPN's files use their own names (``featureExtract.N``, ``conv_cls1``,
...), mapped onto pysot's (reference section 1.8). Then every key and shape must match the
model exactly; the one tolerated difference is BatchNorm's ``num_batches_tracked`` counter,
which files saved before PyTorch 0.4.1 lack and which inference never reads.

Whatever is wrong with a file (not a torch file, cut short, a folder, a state dict holding
other values than tensors, NaN or infinite weights, integer tensors where the model has
floating ones) is one :class:`~siambench.errors.InputError` naming the file.
"""

from __future__ import annotations

import re
import zipfile
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
    if path.is_dir():
        raise InputError(path, "is a folder; expected a checkpoint file")
    if not path.is_file():
        raise InputError(path, "checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpicklers raise anything on a bad file
        raise InputError(path, f"not a readable PyTorch checkpoint: {_load_failure(exc, path)}") from exc
    return unwrap_state_dict(obj, path)


_TORCH_FILE = "expected a file written by torch.save (a zip archive or a legacy pickle)"


def _load_failure(exc: BaseException, path: Path) -> str:
    """torch.load's reason in a few words; its own message runs to a paragraph of advice."""
    text = str(exc)
    unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if unsafe:
        # Loading with weights_only=False would run code from the file; siambench never does.
        return (f"it stores a Python object ({unsafe.group(1)}) besides tensors, which siambench "
                "does not unpickle; save just the state dict (torch.save(model.state_dict(), FILE))")
    if isinstance(exc, PermissionError):
        return "permission denied"
    head = _head(path)
    if not head:
        return "the file is empty"
    if head.startswith(b"PK\x03\x04") and not _is_torch_zip(path):
        return "a zip archive, but not one written by torch.save (no data.pkl in it)"
    if not head.startswith((b"PK", b"\x80")):
        # torch.save writes a zip archive (PK...) or a pickle of protocol 2 or more (\x80)
        kind = "a text file" if _looks_like_text(head) else "unknown binary data"
        return f"{_TORCH_FILE}, not {kind}"
    if "WeightsUnpickler error" in text or "invalid load key" in text:
        return _TORCH_FILE
    if "central directory" in text or isinstance(exc, EOFError | OSError):
        # A cut zip archive makes torch seek past its end (EINVAL) or find no directory.
        return "the file is truncated or damaged"
    # What is left is a torch file cut or corrupted inside its pickle: the unpickler's own
    # exception (KeyError, IndexError, struct.error ...) says nothing a user can act on.
    return f"the file is truncated or damaged ({type(exc).__name__})"


def _head(path: Path, size: int = 512) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _is_torch_zip(path: Path) -> bool:
    """Whether a zip archive holds a torch pickle (``<name>/data.pkl``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith("data.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return True  # a damaged torch zip: let the caller call it truncated


def unwrap_state_dict(obj: object, path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """Strip ``{"state_dict": ...}`` wrappers and ``module.`` prefixes; keep only tensors."""
    while isinstance(obj, Mapping):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise InputError(path, f"expected a state dict, found {type(obj).__name__}")
    if not obj:
        raise InputError(path, "the checkpoint holds no tensors")
    others = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if others:
        # A state dict maps names to tensors; anything else means a wrong or hand-made file.
        first = others[0]
        raise InputError(path, f"expected a state dict of tensors, but {first!r} holds a "
                         f"{type(obj[first]).__name__}" + _more(len(others) - 1))
    state = {str(k): v for k, v in obj.items()}
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


def _more(count: int) -> str:
    return f" (+{count} more)" if count > 0 else ""


def _kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    if dtype.is_complex:
        return "complex"
    return "float" if dtype.is_floating_point else "int"


def value_report(model: nn.Module, state: Mapping[str, torch.Tensor]) -> str | None:
    """None when every tensor of `state` can stand in for the model's; otherwise why not.

    Floating tensors must be finite (a NaN weight turns every output into NaN, silently), and
    each tensor's dtype must be of the model's kind: float16 for float32 is fine (the demo
    weights store kernels so), an integer or bool tensor where the model has floats is not,
    nor a float where it counts (BatchNorm's integer ``num_batches_tracked``).
    """
    expected = model.state_dict()
    for key, value in state.items():
        mine = expected.get(key)
        if mine is not None and _kind(value.dtype) != _kind(mine.dtype):
            return (f"{key} is {str(value.dtype).removeprefix('torch.')} but the model's is "
                    f"{str(mine.dtype).removeprefix('torch.')}")
    for key, value in state.items():
        if (value.is_floating_point() or value.is_complex()) and not torch.isfinite(value).all():
            return f"{key} holds NaN or infinite values"
    return None


def _describe(keys: list[str]) -> str:
    more = len(keys) - _SHOWN
    return ", ".join(keys[:_SHOWN]) + (f" (+{more} more)" if more > 0 else "")


class CheckpointMismatchError(InputError):
    """A readable checkpoint that does not fit the model; `differences` says by how much."""

    def __init__(self, path: str | Path | None, message: str, differences: float) -> None:
        super().__init__(path, message)
        self.differences = differences


def count_differences(model: nn.Module, state: Mapping[str, torch.Tensor]) -> float:
    """How far the layout is from fitting: the share of keys, of the model's and the file's
    together, that are missing, unexpected or of another shape (0: it fits; values aside).

    A share, not a count: a count ranks the smallest network nearest to any file, since it
    has the fewest keys to miss.
    """
    # BatchNorm's step counters are not weights, and loading fills in the missing ones
    expected = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    given = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    keys = set(expected) | set(given)
    matching = sum(k in given and tuple(given[k].shape) == tuple(v.shape) for k, v in expected.items())
    return 1.0 - matching / len(keys) if keys else 0.0


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
    problem = mismatch_report(model, state) or value_report(model, state)
    if problem:
        name = model_name or f"the {type(model).__name__} model"
        raise CheckpointMismatchError(source, f"checkpoint does not fit {name}: {problem}",
                                      differences=count_differences(model, state))
    model.load_state_dict(state, strict=True)
    return model


def load_checkpoint(model: nn.Module, path: str | Path, model_name: str | None = None) -> nn.Module:
    """Read `path` and load it into `model` strictly (see the module docstring).

    `model_name` names the model in the error message (e.g. "tracker 'siamrpnpp'").
    """
    return load_state(model, read_checkpoint(path), path, model_name)
