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
from siambench.errors import InputError, SiambenchError, UnknownNameError
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


def load_dataset(name: str, root: str | Path | None = None, attributes: str | None = None,
                 strict: bool = False) -> Dataset:
    """Read a dataset's annotations (never its pixels; at most a first frame's header for its size).

    `name` is a registered benchmark, or a folder in the VOT or OTB layout
    (:mod:`siambench.datasets.folder`; `root` does not apply to it).

    attributes: the per-sequence attribute table of an OTB dataset (``otb2013`` or ``otb2015``;
    default the benchmark's own). strict: a per-frame tag or label file whose length differs
    from the sequence is an error instead of a warning.
    """
    from siambench.datasets.folder import is_folder_name, load_folder

    if is_folder_name(name):  # a folder in the VOT or OTB layout, not a registered benchmark
        if attributes is not None:
            raise SiambenchError("--attributes chooses an OTB attribute table of a registered benchmark; "
                                 f"{name} is a folder (its attributes.txt is read)")
        return load_folder(name, strict)
    info = dataset_info(name)
    attribute_set = _attribute_set(info, attributes)
    folder = dataset_folder(name, root)
    try:
        sequences = _read_sequences(info, folder, strict)
    except OSError as exc:  # a listing or stat the readers do not catch themselves
        raise InputError(exc.filename or folder, f"cannot read dataset {info.name} ({os_reason(exc)})") from None
    if not sequences:  # it would score nothing and succeed
        raise InputError(folder, f"dataset {info.name} has no sequences")
    if attribute_set is not None and (attributes is not None or not _has_json(folder)):
        from siambench.datasets.otb import apply_attributes

        apply_attributes(sequences, attribute_set, explicit=attributes is not None)
    ds = Dataset(info.name, info.protocol, info.results_name, sequences, folder,
                 info.results_aliases, info.eao_interval, attribute_set)
    return ds.select(list(info.sequences)) if info.sequences else ds


def _attribute_set(info: DatasetInfo, attributes: str | None) -> str | None:
    if attributes is None:
        return info.attribute_set
    from siambench.datasets.otb import attribute_sets

    if info.family != "otb":
        raise SiambenchError(f"--attributes chooses an OTB attribute table; {info.name} has none")
    if attributes not in attribute_sets():
        raise UnknownNameError("attribute table", attributes, list(attribute_sets()))
    return attributes


def _has_json(folder: Path) -> bool:
    """pysot's <FOLDER>.json carries its own attributes, used unless a table is asked for."""
    return (folder / f"{folder.name}.json").is_file()


def _read_sequences(info: DatasetInfo, folder: Path, strict: bool = False) -> list[Sequence]:
    if info.family == "vot" or (info.family == "demo" and info.protocol == "supervised"):
        from siambench.datasets.vot import read_vot

        return read_vot(folder, strict)
    if info.family in ("otb", "demo"):
        from siambench.datasets.otb import read_otb, read_otb_folder

        return read_otb(folder, info.subset) if info.subset else read_otb_folder(folder)
    if info.family == "got10k":
        from siambench.datasets.got10k import read_got10k

        return read_got10k(folder, strict)
    if info.family == "lasot":
        from siambench.datasets.got10k import read_lasot

        return read_lasot(folder, strict)
    if info.family == "uav":
        from siambench.datasets.uav import read_uav

        return read_uav(folder, info.subset)
    if info.family == "nfs":
        from siambench.datasets.nfs import read_nfs

        return read_nfs(folder, int(info.subset))
    if info.family == "trackingnet":
        from siambench.datasets.trackingnet import read_trackingnet

        return read_trackingnet(folder)
    raise InputError(folder, f"no reader for dataset family {info.family}")  # pragma: no cover
