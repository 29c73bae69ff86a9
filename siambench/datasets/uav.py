"""UAV123 and UAV20L in the official layout: one ``anno/`` folder, frame ranges from the configuration.

    UAV123/anno/UAV123/<seq>.txt          x,y,w,h per frame (NaN,NaN,NaN,NaN where the target is out of view)
    UAV123/anno/UAV20L/<seq>.txt
    UAV123/anno/UAV123/att/<seq>.txt      one line of 12 comma-separated 0/1 attribute flags, in
                                          the order of ATTRIBUTES (optional; UAV20L likewise in
                                          anno/UAV20L/att/)
    UAV123/data_seq/UAV123/<folder>/000001.jpg ...

Several UAV123 sequences are pieces of one video (``bird1_1``, ``bird1_2``, ``bird1_3`` all read
``data_seq/UAV123/bird1/``); where each starts is not in the annotation files but in the
benchmark's sequence configuration, shipped as siambench/data/uav123.json.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import resources
from pathlib import Path

from siambench.datasets.base import FrameList, Sequence
from siambench.errors import InputError
from siambench.textio import image_size, parse_numbers, read_lines, read_regions

log = logging.getLogger("siambench")

# The columns of an attribute file (the UAV123 paper's 12 attributes, in the order of the
# release's attribute files and of its MATLAB benchmark): scale variation, aspect ratio change,
# low resolution, fast motion, full occlusion, partial occlusion, out of view, background
# clutter, illumination variation, viewpoint change, camera motion, similar object.
ATTRIBUTES = ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB")


@lru_cache(maxsize=1)
def uav_sets() -> dict[str, dict[str, list]]:
    """{"UAV123" | "UAV20L": {sequence: [image folder, first frame, last frame]}}."""
    text = resources.files("siambench").joinpath("data/uav123.json").read_text(encoding="utf-8")
    return json.loads(text)["sets"]


def read_uav(folder: Path, version: str) -> list[Sequence]:
    """The sequences of `version` (UAV123 or UAV20L) whose annotation file is present."""
    anno_dir = folder / "anno" / version
    files = sorted(anno_dir.glob("*.txt")) if anno_dir.is_dir() else []
    if not files:
        raise InputError(anno_dir, f"no {version} annotation files (expected anno/{version}/<seq>.txt)")
    config = uav_sets()[version]
    found = [f for f in files if f.stem in config]
    unknown = [f for f in files if f.stem not in config]
    if unknown:
        raise InputError(unknown[0], f"sequence {unknown[0].stem!r} is not one of {version}'s {len(config)} "
                                     "(siambench/data/uav123.json)")
    if len(found) < len(config):
        log.warning("%s: %d of %d %s annotation files found; scores cover only those", anno_dir, len(found),
                    len(config), version)
    sequences = [_read_sequence(folder, f, config[f.stem]) for f in found]
    tagged = sum((anno_dir / "att" / f.name).is_file() for f in found)
    if 0 < tagged < len(found):
        log.warning("%s: %d of %d sequences have an attribute file; per-attribute scores cover only "
                    "those", anno_dir / "att", tagged, len(found))
    return sequences


def _read_sequence(folder: Path, anno: Path, entry: list) -> Sequence:
    image_folder, first, last = entry
    gt = read_regions(anno, sizes=(4,))
    if len(gt) != last - first + 1:
        raise InputError(anno, f"expected {last - first + 1} lines (frames {first}-{last} of {image_folder}), "
                               f"got {len(gt)}")
    frames = FrameList(folder / "data_seq" / "UAV123" / image_folder, pattern="{:06d}.jpg", start=first,
                       count=len(gt))
    width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
    return Sequence(anno.stem, frames, gt, width, height, attributes=read_attributes(anno))


def read_attributes(anno: Path) -> list[str]:
    """The attributes of the sequence annotated by `anno`, from ``att/<seq>.txt`` beside it
    (none where that file is absent)."""
    path = anno.parent / "att" / anno.name
    if not path.is_file():
        return []
    expected = f"{len(ATTRIBUTES)} comma-separated 0/1 flags ({', '.join(ATTRIBUTES)})"
    lines = read_lines(path)
    if len(lines) > 1:
        raise InputError(path, f"expected one line of {expected}", 2)
    # a trailing separator is tolerated: it is not an empty 13th flag
    flags = parse_numbers(lines[0].rstrip(" \t,"), path, 1)
    if len(flags) != len(ATTRIBUTES) or any(flag not in (0, 1) for flag in flags):
        raise InputError(path, f"expected {expected}, got {lines[0].strip()!r}", 1)
    return [name for name, flag in zip(ATTRIBUTES, flags, strict=True) if flag]
