"""Need for Speed (NfS) in the official layout, at 30 or 240 fps.

    NfS/<seq>/240/<seq>.txt        one line per 240 fps frame
    NfS/<seq>/240/<seq>/00001.jpg ...
    NfS/<seq>/30/<seq>.txt
    NfS/<seq>/30/<seq>/00001.jpg ...

Annotation lines are the labelling tool's (VATIC's) columns, space-separated:
``track_id xmin ymin xmax ymax frame lost occluded generated "label"``; the box is
``(xmin, ymin, xmax - xmin, ymax - ymin)``, as got10k reads it. The 30 fps video keeps every
8th frame of the 240 fps one (frames 1, 9, 17, ...), and several ``30/<seq>.txt`` files still
hold the 240 fps annotation: then every 8th line, from the first, is the 30 fps frame's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from siambench.datasets.base import FrameList, Sequence
from siambench.errors import InputError
from siambench.textio import check_distinct, image_size, parse_numbers, read_lines

log = logging.getLogger("siambench")

STEP_30FPS = 8  # 240 / 30


def read_nfs(folder: Path, fps: int) -> list[Sequence]:
    """Every ``<seq>/<fps>/<seq>.txt`` under the NfS folder, sorted by name."""
    files = sorted(p for p in folder.glob(f"*/{fps}/*.txt") if p.stem == p.parent.parent.name)
    if not files:
        raise InputError(folder, f"no NfS sequences at {fps} fps (expected <seq>/{fps}/<seq>.txt)")
    check_distinct(((None, p.stem) for p in files), folder)
    return [_read_sequence(path, fps) for path in files]


def read_nfs_boxes(path: Path) -> np.ndarray:
    """(N, 4) x, y, w, h from an NfS annotation file."""
    rows = []
    for i, line in enumerate(read_lines(path), start=1):
        parts = line.split()
        if len(parts) < 5:
            raise InputError(path, "expected 'track_id xmin ymin xmax ymax ...' (at least 5 columns)", i)
        rows.append(parse_numbers(" ".join(parts[1:5]), path, i))
    corners = np.asarray(rows, dtype=np.float64)
    return np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)


def _read_sequence(path: Path, fps: int) -> Sequence:
    gt = read_nfs_boxes(path)
    image_dir = path.parent / path.stem
    images = sorted(image_dir.glob("*.jpg")) if image_dir.is_dir() else []
    if images:
        gt = _fit_to_frames(gt, len(images), fps, path)
        frames: list[Path] | FrameList = images[: len(gt)]
    else:  # annotations only: the frames the reader would expect
        frames = FrameList(image_dir, pattern="{:05d}.jpg", start=1, count=len(gt))
    width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
    return Sequence(path.stem, frames, gt, width, height)


def _fit_to_frames(gt: np.ndarray, n_frames: int, fps: int, path: Path) -> np.ndarray:
    if fps == 30 and len(gt) != n_frames and abs(len(gt) / n_frames - STEP_30FPS) < 1:
        gt = gt[::STEP_30FPS]  # the 240 fps annotation of a 30 fps video
    if len(gt) == n_frames:
        return gt
    if abs(len(gt) - n_frames) > 1:
        raise InputError(path, f"{len(gt)} annotation lines for {n_frames} frames in {path.parent / path.stem}")
    # Off by one frame in a few official sequences: score the common frames, and say so.
    log.warning("%s: %d annotation lines for %d frames; using the first %d", path, len(gt), n_frames,
                min(len(gt), n_frames))
    return gt[:n_frames]
