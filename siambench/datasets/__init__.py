"""Datasets by name: ``load_dataset("vot2018", root)``.

Each dataset lives in a folder under the data root (``--data-root``, else ``$SIAMBENCH_DATA``,
else ``./data``), named as the benchmark distributes it (``VOT2018/``, ``OTB100/``, ...).
"""

from __future__ import annotations

from pathlib import Path

from siambench.datasets.base import Dataset, Sequence
from siambench.datasets.catalog import (
    DATASETS,
    DatasetInfo,
    dataset_info,
    default_data_root,
    find_folder,
)
from siambench.errors import InputError
from siambench.textio import os_reason

__all__ = ["DATASETS", "Dataset", "DatasetInfo", "Sequence", "dataset_info", "load_dataset", "dataset_folder"]


def dataset_folder(name: str, root: str | Path | None = None) -> Path:
    """The folder a dataset is read from; an error naming the expected place where it is absent."""
    info = dataset_info(name)
    base = Path(root) if root is not None else default_data_root()
    folder = find_folder(info, base)
    if folder is None and info.family == "demo":
        from siambench.synth import ensure_demo  # generates the synthetic benchmark on first use

        return Path(ensure_demo("vot" if info.protocol == "supervised" else "otb"))
    if folder is None:
        expected = " or ".join(str(base / f) for f in info.folders)
        raise InputError(None, f"dataset {info.name}: folder not found, expected {expected} "
                               "(set --data-root or SIAMBENCH_DATA)")
    return folder


def load_dataset(name: str, root: str | Path | None = None) -> Dataset:
    """Read a dataset's annotations (never its pixels)."""
    info = dataset_info(name)
    folder = dataset_folder(name, root)
    try:
        sequences = _read_sequences(info, folder)
    except OSError as exc:  # a listing or stat the readers do not catch themselves
        raise InputError(exc.filename or folder, f"cannot read dataset {info.name} ({os_reason(exc)})") from None
    if not sequences:  # it would score nothing and succeed
        raise InputError(folder, f"dataset {info.name} has no sequences")
    ds = Dataset(info.name, info.protocol, info.results_name, sequences, folder,
                 info.results_aliases, info.eao_interval)
    return ds.select(list(info.sequences)) if info.sequences else ds


def _read_sequences(info: DatasetInfo, folder: Path) -> list[Sequence]:
    if info.family == "vot" or (info.family == "demo" and info.protocol == "supervised"):
        from siambench.datasets.vot import read_vot

        return read_vot(folder)
    if info.family in ("otb", "demo"):
        from siambench.datasets.otb import read_otb, read_otb_folder

        return read_otb(folder, info.subset) if info.subset else read_otb_folder(folder)
    if info.family == "got10k":
        from siambench.datasets.got10k import read_got10k

        return read_got10k(folder)
    if info.family == "lasot":
        from siambench.datasets.got10k import read_lasot

        return read_lasot(folder)
    raise InputError(folder, f"no reader for dataset family {info.family}")  # pragma: no cover
