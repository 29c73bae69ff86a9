"""Where a tracker's weights come from, and which device it runs on.

Nothing is ever downloaded: a checkpoint is either given explicitly (``--weights FILE``) or
found by its spec's checkpoint name in the weights folder, ``$SIAMBENCH_WEIGHTS`` when set,
else ``~/.cache/siambench/weights``. A missing file is an error that says where it was looked
for and which official file belongs there.

A checkpoint name ``package:FILE`` names a file shipped inside siambench, in
``siambench/data/weights/`` (the small demo weights trained on synthetic data).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from siambench.errors import InputError, SiambenchError

if TYPE_CHECKING:
    import torch

    from siambench.trackers.registry import TrackerSpec

WEIGHTS_ENV = "SIAMBENCH_WEIGHTS"
PACKAGE_PREFIX = "package:"


def weights_dir() -> Path:
    """The folder that holds checkpoints by name."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/siambench/weights").expanduser()


def packaged_weights_dir() -> Path:
    """The folder of the weights shipped with siambench (``package:`` checkpoint names)."""
    return Path(__file__).resolve().parent / "data" / "weights"


def expected_weights_path(spec: TrackerSpec) -> Path | None:
    """Where the spec's checkpoint is looked for (None for trackers without weights)."""
    if not spec.checkpoint:
        return None
    if spec.runtime != "torch" and spec.source is not None:
        return spec.source.parent / spec.checkpoint  # export-onnx writes the manifest beside the spec
    if spec.checkpoint.startswith(PACKAGE_PREFIX):
        return packaged_weights_dir() / spec.checkpoint[len(PACKAGE_PREFIX) :]
    return weights_dir() / spec.checkpoint


def resolve_weights(spec: TrackerSpec, weights: str | Path | None = None) -> Path | None:
    """The checkpoint file to load for `spec`, or None when the tracker needs none.

    An explicit `weights` path wins; otherwise the spec's checkpoint name in :func:`weights_dir`.
    Raises SiambenchError naming the expected path and the official file when it is missing.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if path.is_dir():
            raise InputError(path, "is a folder; --weights takes a checkpoint file")
        if not path.is_file():
            raise SiambenchError(f"weights file {path} not found (given with --weights)")
        return path
    path = expected_weights_path(spec)
    if path is None:
        return None
    if path.is_dir():
        raise InputError(path, f"is a folder; expected the checkpoint file of tracker {spec.name!r}")
    if not path.is_file() and spec.runtime != "torch":
        raise InputError(path, f"the export-onnx manifest of tracker {spec.name!r} is not beside its spec; "
                               "keep the spec with the files `siambench export-onnx` wrote, or export again")
    if not path.is_file() and spec.checkpoint.startswith(PACKAGE_PREFIX):
        raise SiambenchError(
            f"weights for tracker {spec.name!r} should ship with siambench but {path} is "
            "missing: reinstall siambench, or pass --weights FILE"
        )
    if not path.is_file():
        raise SiambenchError(
            f"weights for tracker {spec.name!r} not found: expected {path} "
            f"({spec.description or 'the released checkpoint'}). siambench never downloads "
            f"weights: put the file there, set {WEIGHTS_ENV} to its folder, pass --weights FILE, "
            "or use --random-init to run without weights"
        )
    return path


def file_digest(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes: its identity, wherever it is stored."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> the first GPU when CUDA is available, else the CPU; ``cpu``; ``cuda[:N]``.

    Asking for a GPU that is not there is an error rather than a silent fall-back to the CPU,
    so that a benchmark's timings never come from a device the user did not choose.
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    name = str(device).strip().lower()
    if not _DEVICE_RE.match(name):
        raise SiambenchError(f"unknown device {device!r}; expected auto, cpu, cuda or cuda:N")
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise SiambenchError(f"device {name!r} requested but CUDA is not available")
    index = int(name.split(":")[1]) if ":" in name else 0
    count = torch.cuda.device_count()
    if index >= count:
        raise SiambenchError(f"device {name!r} requested but only {count} CUDA device(s) exist")
    return torch.device(f"cuda:{index}")
