"""Known dataset names, where their files live and how they are scored."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from siambench.errors import UnknownNameError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    family: str  # reader: "vot", "otb", "got10k", "lasot", "uav", "nfs", "trackingnet", "demo"
    folders: tuple[str, ...]  # folder names under the data root, first found wins
    protocol: str  # "supervised" (VOT reset) or "ope"
    results_name: str  # folder in the raw-results tree
    results_aliases: tuple[str, ...] = ()
    eao_interval: tuple[int, int] | None = None
    subset: str | None = None  # OTB subset key in siambench/data/otb.json; UAV123 / UAV20L; NfS frame rate
    sequences: tuple[str, ...] | None = None  # a fixed subset of the folder's sequences
    description: str = ""
    aliases: tuple[str, ...] = field(default=())
    attribute_set: str | None = None  # default per-sequence attribute table (OTB)


# EAO intervals as pysot hard-codes them (the VOT challenges' published ranges).
_VOT = {
    "vot2015": (108, 371),
    "vot2016": (108, 371),
    "vot2017": (100, 356),
    "vot2018": (100, 356),
    "vot2019": (46, 291),
}

DATASETS: dict[str, DatasetInfo] = {}


def _add(info: DatasetInfo) -> None:
    DATASETS[info.name] = info


for _name, _interval in _VOT.items():
    _folder = _name.upper()
    _add(DatasetInfo(_name, "vot", (_folder,), "supervised", _folder, eao_interval=_interval,
                     description=f"{_folder} short-term challenge (60 sequences, reset protocol)"))
_add(DatasetInfo("otb2015", "otb", ("OTB100", "OTB2015"), "ope", "OTB100", ("OTB2015",), subset="otb2015",
                 attribute_set="otb2015", description="OTB-2015 / OTB-100, 100 sequences, one-pass evaluation", aliases=("otb100",)))
_add(DatasetInfo("otb2013", "otb", ("OTB2013", "OTB100", "OTB2015"), "ope", "OTB2013", ("OTB100", "OTB2015"),
                 subset="otb2013", attribute_set="otb2013",
                 description="OTB-2013, the 51-sequence subset of OTB-100 (attributes of the OTB-2013 toolkit)"))
_add(DatasetInfo("otb50", "otb", ("OTB50", "OTB100", "OTB2015"), "ope", "OTB50", ("OTB100", "OTB2015"),
                 subset="otb50", attribute_set="otb2015", description="OTB-50, the 50 hardest sequences of OTB-100"))
_add(DatasetInfo("got10k-val", "got10k", ("GOT-10k", "GOT10k", "got10k"), "ope", "GOT-10k",
                 description="GOT-10k validation split (180 sequences)"))
_add(DatasetInfo("lasot", "lasot", ("LaSOT", "lasot"), "ope", "LaSOT",
                 description="LaSOT test split (280 sequences)"))
# UAV20L's long sequences share UAV123's image folders: both read one UAV123/ folder.
_add(DatasetInfo("uav123", "uav", ("UAV123", "Dataset_UAV123/UAV123"), "ope", "UAV123", subset="UAV123",
                 description="UAV123, 123 aerial sequences (anno/UAV123/, frame ranges of its configuration)"))
_add(DatasetInfo("uav20l", "uav", ("UAV123", "Dataset_UAV123/UAV123"), "ope", "UAV20L", subset="UAV20L",
                 description="UAV20L, the 20 long UAV123 sequences (anno/UAV20L/)"))
for _fps in (30, 240):
    _add(DatasetInfo(f"nfs{_fps}", "nfs", ("NfS", "NFS", "nfs"), "ope", f"NFS{_fps}", subset=str(_fps),
                     description=f"Need for Speed, 100 sequences at {_fps} fps (<seq>/{_fps}/<seq>.txt)"))
_add(DatasetInfo("trackingnet", "trackingnet", ("TrackingNet", "trackingnet"), "ope", "TrackingNet",
                 description="TrackingNet test split (511 sequences; TEST/anno holds first frames only, "
                             "scored by its server: siambench export-trackingnet)"))
_add(DatasetInfo("demo", "demo", ("demo",), "ope", "demo",
                 description="synthetic OTB-layout benchmark generated on first use (siambench data synth)"))
# Two of demo's shorter sequences (fast motion, in-plane rotation): the CI gate's subset.
# Its results live in demo's folder, not one of their own: a full `siambench demo` run can be
# gated on it, a quick run's two sequences are reused by the full run, and no stale copy of
# either can be scored in place of the other.
_add(DatasetInfo("demo-ci", "demo", ("demo",), "ope", "demo", sequences=("FastMotion1", "Rotation1"),
                 description="the CI subset of demo: FastMotion1 and Rotation1"))
_add(DatasetInfo("demo-vot", "demo", ("demo-vot",), "supervised", "demo-vot", eao_interval=(20, 90),
                 description="synthetic VOT-layout benchmark generated on first use"))

_ALIASES = {alias: info.name for info in DATASETS.values() for alias in info.aliases}


def dataset_info(name: str) -> DatasetInfo:
    key = name.lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise UnknownNameError("dataset", name, list(DATASETS) + list(_ALIASES))
    return DATASETS[key]


def default_data_root() -> Path:
    return Path(os.environ.get("SIAMBENCH_DATA", "data"))


def find_folder(info: DatasetInfo, root: Path) -> Path | None:
    """The dataset's folder under the data root, or None where none of its names exists."""
    for folder in info.folders:
        path = root / folder
        if path.is_dir():
            return path
    return None
