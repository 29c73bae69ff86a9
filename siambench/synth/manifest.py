"""``synth.json``: how a benchmark was made, and whether a folder is what a config would make."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from siambench import __version__
from siambench.synth.config import SynthConfig

#: Bumped whenever a change alters the rendered data; a cached demo of another version is redone.
GENERATOR_VERSION = 2  # 2: each sequence's visible.txt and distractors.txt
MANIFEST = "synth.json"


def write_manifest(root: Path, config: SynthConfig, sequence_info: list[dict]) -> None:
    """Record the generator version, the library versions, `config` and each sequence's facts."""
    import cv2

    manifest = {
        "generator": "siambench.synth",
        "generator_version": GENERATOR_VERSION,
        "siambench": __version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        **config.to_json(),
        "sequence_info": sequence_info,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def is_current(root: Path, config: SynthConfig) -> bool:
    """Does `root` hold a complete benchmark made by this generator version from `config`?"""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("generator_version") != GENERATOR_VERSION:
        return False
    if any(manifest.get(key) != value for key, value in config.to_json().items()):
        return False
    names = [info.get("name") for info in manifest.get("sequence_info", [])]
    return len(names) == config.sequences and all((root / str(name)).is_dir() for name in names)
