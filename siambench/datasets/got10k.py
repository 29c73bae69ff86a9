"""GOT-10k (validation layout) and LaSOT (test layout), with their visibility labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siambench.datasets.base import Sequence
from siambench.errors import InputError
from siambench.textio import image_size, read_column, read_lines, read_regions


def read_got10k(folder: Path) -> list[Sequence]:
    """<GOT-10k>/val/list.txt, <seq>/groundtruth.txt, absence.label (1 = target absent)."""
    split = folder / "val" if (folder / "val").is_dir() else folder
    names = [n.strip() for n in read_lines(split / "list.txt") if n.strip()]
    out = []
    for name in names:
        path = split / name
        gt = read_regions(path / "groundtruth.txt")
        frames = sorted(path.glob("*.jpg"))[: len(gt)] or [path / f"{i + 1:08d}.jpg" for i in range(len(gt))]
        absent = None
        if (path / "absence.label").is_file():
            absent = read_column(path / "absence.label", dtype=np.int8)[: len(gt)]
        width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
        out.append(Sequence(name, frames, gt, width, height, absent=absent))
    return out


def read_lasot(folder: Path) -> list[Sequence]:
    """<LaSOT>/<class>/<class-N>/: groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/.

    The test split is taken from testing_set.txt when present, else every sequence found.
    """
    listing = folder / "testing_set.txt"
    if listing.is_file():
        names = [n.strip() for n in read_lines(listing) if n.strip()]
    else:
        names = sorted(p.parent.name for p in folder.glob("*/*/groundtruth.txt"))
    if not names:
        raise InputError(folder, "no LaSOT sequences found (expected <class>/<class-N>/groundtruth.txt)")
    out = []
    for name in names:
        path = folder / name.rsplit("-", 1)[0] / name
        gt = read_regions(path / "groundtruth.txt")
        absent = np.zeros(len(gt), dtype=np.int8)
        for label in ("full_occlusion.txt", "out_of_view.txt"):
            if (path / label).is_file():
                # one line of comma-separated 0/1 flags
                values = np.array([float(v) for v in read_lines(path / label)[0].split(",") if v.strip()])
                absent |= values[: len(gt)].astype(np.int8)
        frames = [path / "img" / f"{i + 1:08d}.jpg" for i in range(len(gt))]
        width, height = image_size(frames[0]) if frames[0].is_file() else (0, 0)
        out.append(Sequence(name, frames, gt, width, height, absent=absent))
    return out
