"""pysot's dataset JSON files, to and from the benchmarks' official layouts.

pysot describes a dataset by one JSON file, ``{sequence: meta}``, with frame paths relative to
the dataset folder:

* VOT style (``VOT2018.json``): ``video_dir``, ``init_rect``, ``img_names``, ``gt_rect`` (8-value
  polygons), the five per-frame 0/1 tags (``camera_motion``, ``illum_change``, ``motion_change``,
  ``size_change``, ``occlusion``), ``width``, ``height``.
* OTB style (``OTB100.json``): ``video_dir``, ``init_rect``, ``img_names``, ``gt_rect``
  (x, y, w, h as the annotation files hold them) and ``attr`` (attribute names). Sequences with
  two targets appear twice (``Jogging-1``, ``Jogging-2``) with the same ``video_dir``.

:func:`export_json` writes such a file from a dataset siambench reads (official layout or
synthetic); :func:`import_json` writes the official layout from such a file (VOT: ``list.txt``,
``<seq>/groundtruth.txt``, ``<tag>.tag``, ``sequence``, frames in ``<seq>/color/``; OTB:
``<Seq>/groundtruth_rect[.N].txt``, frames in ``<Seq>/img/``, ``attributes.txt``), placing the
frames by link or copy, keeping their file names (OTB's David starts at 0300.jpg).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from siambench.datasets.pysot import check_rows, read_pysot_json
from siambench.errors import InputError, SiambenchError
from siambench.textio import atomic_write_lines, check_writable_dir, os_reason

VOT_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")
IMAGE_MODES = ("link", "copy", "none")
KINDS = ("vot", "otb")
_SPLIT = re.compile(r"^(?P<base>.+)-(?P<idx>\d)$")  # Jogging-1: target 1 of Jogging


def _number(value: float) -> float | int:
    """A coordinate as JSON and the annotation files show it: 12 rather than 12.0."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _row(values: np.ndarray) -> list[float | int]:
    return [_number(v) for v in values if np.isfinite(v)]


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def dataset_json(ds: Any) -> dict[str, dict[str, Any]]:
    """pysot's description of a loaded siambench Dataset (VOT style for supervised datasets)."""
    if ds.root is None:
        raise SiambenchError(f"dataset {ds.name} has no folder: frame paths cannot be made relative")
    root = Path(ds.root)
    vot = ds.protocol == "supervised"
    out: dict[str, dict[str, Any]] = {}
    for seq in ds:
        frames = [Path(f) for f in seq.frames]
        try:
            names = [f.relative_to(root).as_posix() for f in frames]
        except ValueError:
            raise InputError(frames[0], f"frame outside the dataset folder {root}") from None
        video_dir = Path(names[0]).parts[0] if names else seq.name
        gt = [_row(r) for r in np.asarray(seq.groundtruth, dtype=np.float64)]
        entry: dict[str, Any] = {"video_dir": video_dir, "init_rect": gt[0] if gt else [],
                                 "img_names": names, "gt_rect": gt}
        if vot:
            for tag in VOT_TAGS:
                values = seq.tags.get(tag)
                entry[tag] = [int(v) for v in values] if values is not None else [0] * len(gt)
            if seq.width <= 0 or seq.height <= 0:
                raise InputError(frames[0] if frames else root,
                                 f"{seq.name}: image size unknown (frames missing); pysot's VOT JSON needs it")
            entry["height"], entry["width"] = int(seq.height), int(seq.width)
        else:
            entry["attr"] = list(seq.attributes)
        out[seq.name] = entry
    return out


def export_json(dataset: str | Any, out: str | Path | None = None, data_root: str | Path | None = None) -> Path:
    """Write pysot's JSON of `dataset` (a name or a loaded Dataset); default ``<folder>/<FOLDER>.json``.

    Note: siambench reads ``<FOLDER>/<FOLDER>.json`` instead of the layout when it exists.
    """
    from siambench.datasets import Dataset, load_dataset
    from siambench.textio import atomic_write_text

    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, root=data_root)
    data = dataset_json(ds)
    path = Path(out) if out is not None else Path(ds.root) / f"{Path(ds.root).name}.json"
    atomic_write_text(path, json.dumps(data) + "\n")
    return path


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def detect_kind(meta: dict[str, Any]) -> str:
    """'vot' when the entries carry VOT tags or polygons, 'otb' otherwise."""
    for entry in meta.values():
        if any(tag in entry for tag in VOT_TAGS) or "width" in entry:
            return "vot"
        rows = entry.get("gt_rect") or []
        if rows and len(rows[0]) == 8:
            return "vot"
    return "otb"


def _inside(out: Path, folder: str, name: str, json_path: Path) -> Path:
    """out/folder, where `folder` (a sequence name, a video_dir) must be one folder name that
    stays inside `out` once resolved: no '..', no absolute path, no link that leads out."""
    target = out / folder
    base = out.resolve()
    if folder in ("", ".", "..") or "/" in folder or "\\" in folder \
            or target.resolve().parent != base:
        raise InputError(json_path, f"sequence {name!r}: folder {folder!r} would be written outside "
                                    f"the output folder {out} (expected a plain folder name)")
    return target


def _place(source: Path, target: Path, mode: str) -> None:
    """Put frame `source` at `target` (link or copy), unless it is already there."""
    if mode == "none":
        return
    try:
        if target.exists() and source.exists() and os.path.samefile(source, target):
            return
        if not source.is_file():
            raise InputError(source, "frame not found (use --images none to write annotations only)")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        if mode == "link":
            os.symlink(source.resolve(), target)
        else:
            shutil.copy2(source, target)
    except OSError as exc:
        raise InputError(target, f"cannot place frame {source} ({os_reason(exc)})") from None


def _csv(row: list[float]) -> str:
    return ",".join(str(_number(v)) for v in row)


def _frame_pattern(names: list[str]) -> str | None:
    """'%08d.jpg' when the frames are numbered from 1 with 8 digits (the `sequence` file form)."""
    expected = [f"{i + 1:08d}.jpg" for i in range(len(names))]
    return "%08d.jpg" if [Path(n).name for n in names] == expected else None


def import_json(json_path: str | Path, out: str | Path | None = None, images: str = "link",
                root: str | Path | None = None, kind: str | None = None) -> list[str]:
    """Write the official layout described by a pysot JSON file; returns the sequence names.

    root: the folder the JSON's image paths are relative to (default: the JSON's folder).
    out: where to write the layout (default: root). images: link, copy or none (frames that
    are already in place are left alone).
    """
    json_path = Path(json_path)
    if images not in IMAGE_MODES:
        raise SiambenchError(f"unknown image mode {images!r}; expected one of {', '.join(IMAGE_MODES)}")
    meta = read_pysot_json(json_path, flags=VOT_TAGS)
    kind = kind or detect_kind(meta)
    if kind not in KINDS:
        raise SiambenchError(f"unknown JSON kind {kind!r}; expected vot or otb")
    src = Path(root) if root is not None else json_path.parent
    dst = Path(out) if out is not None else src
    names = list(meta)  # the file's order (pysot itself sorts; list.txt keeps what the file says)
    folders = _sequence_folders(meta, kind, dst, json_path, images)
    check_writable_dir(dst)
    if kind == "vot":
        for name in names:
            _write_vot_sequence(folders[name], name, meta[name], src, images)
        atomic_write_lines(dst / "list.txt", names)
    else:
        attributes = []
        for name in names:
            _write_otb_sequence(folders[name], name, meta[name], src, images)
            attributes.append(f"{name}\t{', '.join(meta[name].get('attr', []))}")
        atomic_write_lines(dst / "attributes.txt", attributes)
    return names


def _sequence_folders(meta: dict[str, Any], kind: str, dst: Path, json_path: Path,
                      images: str) -> dict[str, Path]:
    """Each sequence's folder in `dst`; every name is checked before anything is written, so
    that a bad one leaves no half-written layout."""
    folders = {}
    for name, entry in meta.items():
        if kind == "otb":
            check_rows(json_path, name, entry["gt_rect"], (4,))  # OTB boxes are x, y, w, h
        folder = _inside(dst, name if kind == "vot" else str(entry.get("video_dir") or name), name, json_path)
        if images != "none":
            _inside(folder, "color" if kind == "vot" else "img", name, json_path)
            bad = next((n for n in entry["img_names"] if Path(n).name in ("", ".", "..")), None)
            if bad is not None:
                raise InputError(json_path, f"sequence {name!r}: image path {bad!r} has no file name")
        folders[name] = folder
    return folders


def _write_vot_sequence(folder: Path, name: str, entry: dict[str, Any], src: Path, images: str) -> None:
    frames = entry["img_names"]
    for image in frames:
        _place(src / image, folder / "color" / Path(image).name, images)
    atomic_write_lines(folder / "groundtruth.txt", [_csv(r) for r in entry["gt_rect"]])
    for tag in VOT_TAGS:
        # An empty list (VOT2018's ball1 has no occlusion labels) means: never tagged, which a
        # missing tag file also says.
        if entry.get(tag):
            atomic_write_lines(folder / f"{tag}.tag", [str(v) for v in entry[tag]])
    pattern = _frame_pattern(frames)
    lines = [f"channels.color=color/{pattern}"] if pattern is not None else []
    if "width" in entry and "height" in entry:  # the size, for a layout written without its images
        lines += [f"width={int(entry['width'])}", f"height={int(entry['height'])}"]
    if lines:
        atomic_write_lines(folder / "sequence", [*lines, "format=default", "fps=30", f"name={name}"])


def _write_otb_sequence(folder: Path, name: str, entry: dict[str, Any], src: Path, images: str) -> None:
    for image in entry["img_names"]:
        _place(src / image, folder / "img" / Path(image).name, images)
    split = _SPLIT.match(name)
    if split and folder.name == split["base"]:
        gt_file = folder / f"groundtruth_rect.{split['idx']}.txt"
    else:
        gt_file = folder / "groundtruth_rect.txt"
    atomic_write_lines(gt_file, [_csv(r) for r in entry["gt_rect"]])
