"""Datasets that siambench does not know by name: a folder in the VOT or the OTB layout.

``siambench eval --dataset path/to/MyDrones`` (and ``run``, ``show``, ``tune``, ``speed``,
``gate --dataset``) reads a folder
without a JSON file to write first (the pysot#6 / #310 complaint):

- **VOT layout** (``list.txt``, ``<seq>/groundtruth.txt``, frames in ``<seq>/color/`` or
  ``<seq>/``, optional per-frame ``*.tag`` files): scored with the reset protocol, EAO over an
  interval estimated from the sequence lengths unless one is given (:func:`estimate_eao_interval`);
- **OTB layout** (``<Seq>/groundtruth_rect.txt``, ``<Seq>/img/0001.jpg``, optional
  ``attributes.txt``): scored one-pass.

A pysot description ``<FOLDER>.json`` in the folder is read instead, as for the registered
benchmarks (entries with VOT tags or polygons are VOT's, the others OTB's).

The dataset is named after the folder, and so is its results folder (``results/MyDrones/``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siambench.datasets.base import Dataset
from siambench.errors import InputError

# The share of sequence lengths the EAO interval covers, as the VOT challenges chose it.
EAO_INTERVAL_MASS = 0.5


def is_folder_name(name: str) -> bool:
    """Whether a --dataset value names a folder: it has a path separator, or is a folder that is
    not also a registered name (a registered name wins where both could be meant)."""
    from siambench.datasets.catalog import dataset_info
    from siambench.errors import UnknownNameError

    if "/" in name or "\\" in name:
        return True
    try:
        dataset_info(name)
    except UnknownNameError:
        return Path(name).is_dir()
    return False


def folder_layout(folder: Path) -> str:
    """"vot" or "otb" for a folder of sequences; an InputError naming both layouts otherwise."""
    if not folder.is_dir():
        raise InputError(folder, "dataset folder not found")
    description = folder / f"{folder.resolve().name}.json"
    if description.is_file():  # pysot's description: VOT's entries carry tags or polygons
        from siambench.datasets.pysot import read_pysot_json
        from siambench.interop.pysot_json import detect_kind

        return detect_kind(read_pysot_json(description))
    if (folder / "list.txt").is_file() or any(folder.glob("*/groundtruth.txt")):
        return "vot"
    if any(folder.glob("*/groundtruth_rect.txt")) or any(folder.glob("*/groundtruth_rect.[0-9].txt")):
        return "otb"
    raise InputError(folder, "not a dataset folder: expected the VOT layout (list.txt, <seq>/groundtruth.txt) "
                             "or the OTB layout (<Seq>/groundtruth_rect.txt, <Seq>/img/0001.jpg)")


def load_folder(folder: str | Path, strict: bool = False,
                eao_interval: tuple[int, int] | None = None) -> Dataset:
    """A dataset read from a folder in the VOT or OTB layout (see the module's docstring)."""
    folder = Path(folder)
    layout = folder_layout(folder)
    name = folder.resolve().name
    if layout == "vot":
        from siambench.datasets.vot import read_vot

        sequences = read_vot(folder, strict)
        if not sequences:
            raise InputError(folder / "list.txt", "lists no sequences")
        interval = eao_interval or estimate_eao_interval([len(s) for s in sequences])
        return Dataset(name, "supervised", name, sequences, folder, eao_interval=interval)
    from siambench.datasets.otb import read_otb_folder, read_otb_json

    description = folder / f"{name}.json"
    sequences = read_otb_json(description, folder) if description.is_file() else read_otb_folder(folder)
    return Dataset(name, "ope", name, sequences, folder)


def registered_twin(folder: str | Path) -> str | None:
    """The registered benchmark whose folder has this folder's name (VOT2018/ is vot2018's)."""
    from siambench.datasets.catalog import DATASETS

    name = Path(folder).resolve().name
    return next((key for key, info in DATASETS.items() if name in info.folders), None)


def estimate_eao_interval(lengths: list[int]) -> tuple[int, int]:
    """The EAO interval of a set of sequence lengths, estimated as the VOT challenges did.

    VOT2015 defined it as the range of typical sequence lengths: the range around the peak of
    a kernel density estimate of the lengths that holds half of its mass, with (nearly) equal
    density at both ends. With a Gaussian kernel and Silverman's bandwidth this gives [100, 357] on
    VOT2018's 60 sequences, against the published [100, 356]. A registered VOT dataset uses
    its published interval; this serves folders siambench does not know.
    """
    values = np.asarray(lengths, dtype=np.float64)
    if len(values) == 0:
        raise ValueError("no sequence lengths")
    spread = min(values.std(ddof=1) if len(values) > 1 else 0.0,
                 (np.percentile(values, 75) - np.percentile(values, 25)) / 1.34)
    if spread <= 0:  # all (or the middle half) of one length: a one-length interval around it
        middle = int(round(float(np.median(values))))
        return max(1, middle), max(1, middle)
    bandwidth = 0.9 * spread * len(values) ** -0.2
    grid = np.arange(0, int(values.max() + 4 * bandwidth) + 1, dtype=np.float64)
    density = np.exp(-0.5 * ((grid[:, None] - values[None, :]) / bandwidth) ** 2).sum(axis=1)
    density /= density.sum()
    # One range, grown from the mode towards the denser neighbour until it holds half the mass:
    # the highest-density interval where the density has one peak, and still one range (not
    # two pieces spanned by min and max) where the lengths cluster twice.
    lo = hi = int(np.argmax(density))
    mass = density[lo]
    while mass < EAO_INTERVAL_MASS:
        left = density[lo - 1] if lo > 0 else -1.0
        right = density[hi + 1] if hi + 1 < len(density) else -1.0
        if right >= left:
            hi += 1
            mass += right
        else:
            lo -= 1
            mass += left
    return max(1, int(grid[lo])), int(grid[hi])


__all__ = ["estimate_eao_interval", "folder_layout", "is_folder_name", "load_folder", "registered_twin"]
