"""OTB-2013 / OTB-2015 (OTB-100) / OTB-50 in the official layout, with its quirks."""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from siambench.datasets.base import FrameList, Sequence, check_finite_groundtruth
from siambench.datasets.pysot import read_pysot_json
from siambench.errors import InputError
from siambench.textio import check_distinct, image_size, read_lines, read_regions

log = logging.getLogger("siambench")

# First image of sequences whose annotations do not start at img/0001.jpg (OTB configSeqs).
START_FRAME = {"David": 300, "BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18, "Tiger1": 6}
# Ground-truth files that annotate images the toolkit skips: {name: (lines of that file, lines
# skipped)}. OTB-100's Tiger1 file has 354 lines, but the MATLAB toolkit starts at image 6 and
# scores 349 frames (its initOmit); pysot's JSON and other downloads hold the 349 already.
INIT_OMIT = {"Tiger1": (354, 5)}
# Sequences with two targets annotated in groundtruth_rect.1.txt / .2.txt.
SPLIT = re.compile(r"^(?P<base>.+)-(?P<idx>\d)$")


@lru_cache(maxsize=1)
def otb_metadata() -> dict:
    """Attribute tags and subset lists shipped with siambench (siambench/data/otb.json)."""
    return json.loads(resources.files("siambench").joinpath("data/otb.json").read_text(encoding="utf-8"))


def subset_names(subset: str) -> list[str]:
    return list(otb_metadata()["subsets"][subset])


def attribute_sets() -> dict[str, dict]:
    """The attribute tables shipped with siambench, by benchmark: {name: {source, attributes}}."""
    return otb_metadata()["attribute_sets"]


def apply_attributes(sequences: list[Sequence], table: str, explicit: bool = False) -> None:
    """Give each sequence its tags from the attribute table `table` (``otb2013``, ``otb2015``).

    The two tables disagree (OTB-2013's toolkit tags Coke without BC, Crossing without FM and
    OPR), so the table is the benchmark's own unless one is asked for. A sequence the table does
    not list has no tags; when a table was asked for, that is said.
    """
    tags = attribute_sets()[table]["attributes"]
    for seq in sequences:
        seq.attributes = list(tags.get(seq.name, []))
    outside = [seq.name for seq in sequences if seq.name not in tags]
    if explicit and outside:
        log.warning("attribute table %s lists %d of the %d sequences; %d (first: %s) are left out of the "
                    "per-attribute scores", table, len(sequences) - len(outside), len(sequences), len(outside),
                    outside[0])


def read_otb(folder: Path, subset: str) -> list[Sequence]:
    """Sequences of `subset` from an OTB folder (pysot's <FOLDER>.json when present)."""
    json_path = folder / f"{folder.name}.json"
    names = subset_names(subset)
    if json_path.is_file():
        return read_otb_json(json_path, folder, names)
    missing = [n for n in names if not _gt_path(folder, n).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InputError(folder, f"{len(missing)} {subset} sequences have no groundtruth_rect file ({shown})")
    return [_read_sequence(folder, n, []) for n in names]  # attributes: load_dataset's table


def _gt_path(folder: Path, name: str) -> Path:
    m = SPLIT.match(name)
    if m and not (folder / name).is_dir():
        return folder / m["base"] / f"groundtruth_rect.{m['idx']}.txt"
    return folder / name / "groundtruth_rect.txt"


def _read_sequence(folder: Path, name: str, attributes: list[str]) -> Sequence:
    gt_path = _gt_path(folder, name)
    gt = check_finite_groundtruth(read_regions(gt_path), gt_path)
    if gt.shape[1] != 4:
        raise InputError(gt_path, f"expected 4 values (x,y,w,h) per line, got {gt.shape[1]}", 1)
    seq_dir = gt_path.parent
    full, omit = INIT_OMIT.get(seq_dir.name, (None, 0))
    if len(gt) == full:
        gt = gt[omit:]
    start = START_FRAME.get(seq_dir.name, 1)
    frames = _frames(seq_dir / "img", start, len(gt))
    if frames[0].is_file():
        if not frames[len(gt) - 1].is_file():
            raise InputError(gt_path, f"{len(gt)} annotated frames from {frames[0].name} on, but the last one, "
                                      f"{frames[len(gt) - 1]}, is missing")
        width, height = image_size(frames[0])
    else:
        width, height = 0, 0
    return Sequence(name, frames, gt, width, height, attributes=list(attributes))


def _frames(img_dir: Path, start: int, count: int) -> FrameList:
    """img/0001.jpg ... counted from the sequence's first annotated frame (Board uses 5 digits,
    some copies of KiteSurf hold .png images)."""
    for digits in (4, 5):
        for ext in ("jpg", "png"):
            if (img_dir / f"{start:0{digits}d}.{ext}").is_file():
                return FrameList(img_dir, pattern="{:0" + str(digits) + "d}." + ext, start=start, count=count)
    return FrameList(img_dir, pattern="{:04d}.jpg", start=start, count=count)  # annotations only


def read_otb_json(path: Path, root: Path, names: list[str] | None = None) -> list[Sequence]:
    """Sequences `names` (default: all) of pysot's OTB JSON: {name: {img_names, gt_rect, attr}}."""
    meta = read_pysot_json(path, sizes=(4,))
    names = list(meta) if names is None else names
    out = []
    for name in names:
        if name not in meta:
            raise InputError(path, f"sequence {name!r} missing")
        entry = meta[name]
        frames = FrameList(root, entry["img_names"])
        gt = check_finite_groundtruth(np.asarray(entry["gt_rect"], dtype=np.float64), path,
                                      f"sequence {name!r}, gt_rect ")
        out.append(Sequence(name, frames, gt, attributes=list(entry.get("attr", []))))
    return out


def read_otb_folder(folder: Path) -> list[Sequence]:
    """Every sequence of an OTB-layout folder (e.g. a synthetic benchmark), sorted by name; a
    ``groundtruth_rect.N.txt`` is sequence ``<Seq>-N``, as OTB-100 names its two-target ones.

    Attributes come from `attributes.txt` (``Name<TAB>IV, OCC, ...``) when the folder has one.
    """
    listing = folder / "attributes.txt"
    attrs = read_attributes(listing) if listing.is_file() else {}
    names = sorted([p.parent.name for p in folder.glob("*/groundtruth_rect.txt")]
                   # two targets (Jogging) or the second only (Human4): OTB-100's <Seq>-N names
                   + [f"{p.parent.name}-{p.name.split('.')[1]}" for p in folder.glob("*/groundtruth_rect.[0-9].txt")])
    if not names:
        raise InputError(folder, "no sequences found (expected <Seq>/groundtruth_rect.txt)")
    check_distinct(((None, n) for n in names), folder)
    return [_read_sequence(folder, n, attrs.get(n, [])) for n in names]


def read_attributes(path: Path) -> dict[str, list[str]]:
    """attributes.txt: ``Name<TAB>IV, OCC, ...`` per line; a name listed twice is an error."""
    entries = []
    for i, line in enumerate(read_lines(path, allow_empty=True), start=1):
        if not line.strip():
            continue
        name, sep, tags = line.partition("\t")
        if not sep or not name.strip():
            raise InputError(path, "expected 'Name<TAB>TAG, TAG, ...'", i)
        entries.append((i, name.strip(), [t.strip() for t in tags.split(",") if t.strip()]))
    check_distinct(((i, name) for i, name, _ in entries), path)
    return {name: tags for _, name, tags in entries}
