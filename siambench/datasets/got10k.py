"""GOT-10k (validation layout) and LaSOT (test layout), with their visibility labels."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from siambench.datasets.base import Sequence, frame_flags
from siambench.errors import InputError
from siambench.textio import (
    check_distinct,
    image_size,
    read_column,
    read_flags,
    read_names,
    read_regions,
)

log = logging.getLogger("siambench")

def read_got10k(folder: Path, strict: bool = False) -> list[Sequence]:
    """<GOT-10k>/val/list.txt, <seq>/groundtruth.txt, absence.label (1 = target absent),
    cover.label (eighths visible, which the got10k variant masks frames by)."""
    split = folder / "val" if (folder / "val").is_dir() else folder
    names = read_names(split / "list.txt")
    out = []
    for name in names:
        path = split / name
        gt = read_regions(path / "groundtruth.txt")
        frames = sorted(path.glob("*.jpg"))[: len(gt)] or [path / f"{i + 1:08d}.jpg" for i in range(len(gt))]
        absent = None
        if (path / "absence.label").is_file():
            absent = frame_flags(read_flags(path / "absence.label"), len(gt), path / "absence.label", strict)
        cover = None
        if (path / "cover.label").is_file():
            cover = _read_cover(path / "cover.label", len(gt), strict)
        width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
        out.append(Sequence(name, frames, gt, width, height, absent=absent, cover=cover))
    return out


def _read_cover(path: Path, frames: int, strict: bool) -> np.ndarray | None:
    """cover.label: per frame, the visible share of the target in eighths (0..8)."""
    values = read_column(path)
    bad = np.flatnonzero(~np.isin(values, np.arange(9)))
    if len(bad):
        raise InputError(path, f"expected a whole number 0..8 (eighths of the target visible), got "
                               f"{values[bad[0]]:g}", int(bad[0]) + 1)
    if len(values) != frames:
        # padded, the missing frames would read as hidden (0) and leave got10k's AO: the file
        # is set aside (absence.label masks the frames instead), or with strict an error
        if strict:
            raise InputError(path, f"expected {frames} values (one per frame), got {len(values)}")
        log.warning("%s: %d values for %d frames; not used (absence.label masks the frames; --strict makes "
                    "this an error)", path, len(values), frames)
        return None
    return values.astype(np.int8)


def read_lasot(folder: Path, strict: bool = False) -> list[Sequence]:
    """<LaSOT>/<class>/<class-N>/: groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/.

    The test split is taken from testing_set.txt when present, else every sequence found.
    """
    listing = folder / "testing_set.txt"
    if listing.is_file():
        names = read_names(listing)
    else:
        names = sorted(p.parent.name for p in folder.glob("*/*/groundtruth.txt"))
        check_distinct(((None, n) for n in names), folder)
    if not names:
        raise InputError(folder, "no LaSOT sequences found (expected <class>/<class-N>/groundtruth.txt)")
    out = []
    for name in names:
        path = folder / name.rsplit("-", 1)[0] / name
        gt = read_regions(path / "groundtruth.txt")
        absent = np.zeros(len(gt), dtype=np.int8)
        for label in ("full_occlusion.txt", "out_of_view.txt"):
            if (path / label).is_file():
                absent |= frame_flags(read_flags(path / label, one_line=True), len(gt), path / label, strict)
        frames = [path / "img" / f"{i + 1:08d}.jpg" for i in range(len(gt))]
        width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
        out.append(Sequence(name, frames, gt, width, height, absent=absent))
    return out
