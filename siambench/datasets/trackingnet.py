"""TrackingNet in the official layout (the devkit's): ``TEST/anno/<seq>.txt`` and ``TEST/frames/<seq>/``.

Frames are ``0.jpg``, ``1.jpg``, ... (no zero padding). The test split's annotation holds the first
frame's box only: the rest is withheld and scored by the evaluation server (``siambench
export-trackingnet`` writes the submission). Here those frames are NaN rows, the model's
"unknown"; a split with full annotations (a TRAIN_<n> chunk) is scored like any one-pass dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siambench.datasets.base import FrameList, Sequence
from siambench.errors import InputError
from siambench.textio import image_size, read_regions


def read_trackingnet(folder: Path, split: str = "TEST") -> list[Sequence]:
    anno_dir = folder / split / "anno"
    files = sorted(anno_dir.glob("*.txt")) if anno_dir.is_dir() else []
    if not files:
        raise InputError(anno_dir, f"no TrackingNet annotation files (expected {split}/anno/<seq>.txt)")
    return [_read_sequence(path, folder / split / "frames" / path.stem) for path in files]


def frame_count(image_dir: Path) -> int:
    """Frames 0.jpg .. N-1.jpg of a sequence; the numbering must have no gap."""
    if not image_dir.is_dir():
        return 0
    numbers = sorted(int(p.stem) for p in image_dir.glob("*.jpg") if p.stem.isdigit())
    if numbers != list(range(len(numbers))):
        missing = next(i for i, n in enumerate(numbers + [-1]) if n != i)
        raise InputError(image_dir / f"{missing}.jpg", "frame missing (expected 0.jpg, 1.jpg, ... without gaps)")
    return len(numbers)


def is_withheld(seq: Sequence) -> bool:
    """True where only the first frame's box is known (the test split)."""
    return len(seq) > 1 and bool(np.isnan(seq.groundtruth[1:]).all())


def _read_sequence(anno: Path, image_dir: Path) -> Sequence:
    gt = read_regions(anno, sizes=(4,))
    n = frame_count(image_dir)
    if len(gt) == 1 and n > 1:
        gt = np.vstack([gt, np.full((n - 1, 4), np.nan)])
    elif n and len(gt) != n:
        raise InputError(anno, f"expected 1 line (the first frame) or {n} (one per frame in {image_dir}), "
                               f"got {len(gt)}")
    frames = FrameList(image_dir, pattern="{:d}.jpg", start=0, count=len(gt))
    width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
    return Sequence(anno.stem, frames, gt, width, height)
