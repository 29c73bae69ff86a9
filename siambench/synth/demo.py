"""The ``demo`` and ``demo-vot`` datasets: rendered once into siambench's cache."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from siambench.cache import CACHE_ENV, cache_dir  # noqa: F401 - re-exported by siambench.synth
from siambench.errors import SiambenchError
from siambench.synth.config import SynthConfig
from siambench.synth.layout import write_benchmark
from siambench.synth.manifest import is_current
from siambench.synth.staging import publish, staging_folder

DEMO_FOLDERS = {"otb": "demo", "vot": "demo-vot"}


def demo_config(kind: str = "otb") -> SynthConfig:
    """The configuration of the ``demo`` (kind "otb") or ``demo-vot`` (kind "vot") dataset."""
    if kind not in DEMO_FOLDERS:
        raise SiambenchError(f"unknown demo kind {kind!r}; known: {', '.join(DEMO_FOLDERS)}")
    return SynthConfig(layout=kind)


def demo_path(kind: str = "otb") -> Path:
    """Where the demo dataset of `kind` lives (it may not exist yet)."""
    demo_config(kind)
    return cache_dir() / "data" / DEMO_FOLDERS[kind]


def ensure_demo(kind: str = "otb", progress: Callable[[int, int], None] | None = None) -> Path:
    """The folder of the ``demo`` ("otb") or ``demo-vot`` ("vot") dataset, rendered on first use."""
    config = demo_config(kind)
    root = demo_path(kind)
    if is_current(root, config):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(root)
    try:
        write_benchmark(staging, config, progress)
        # Another process may have finished first; its copy is identical, so keep it.
        if not is_current(root, config):
            publish(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
