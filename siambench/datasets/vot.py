"""VOT short-term datasets: the official layout and pysot's JSON description."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from siambench.datasets.base import FrameList, Sequence, check_finite_groundtruth, frame_flags
from siambench.datasets.pysot import read_pysot_json
from siambench.errors import InputError
from siambench.textio import image_size, read_flags, read_lines, read_names, read_regions

log = logging.getLogger("siambench")

TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")


def read_vot(folder: Path, strict: bool = False) -> list[Sequence]:
    """Sequences of a VOT folder: pysot's <FOLDER>.json when present, else the official layout."""
    json_path = folder / f"{folder.name}.json"
    if json_path.is_file():
        return read_vot_json(json_path, folder, strict)
    return read_vot_layout(folder, strict)


def read_vot_json(path: Path, root: Path, strict: bool = False) -> list[Sequence]:
    """pysot's dataset JSON: {name: {img_names, gt_rect, [width, height,] <tag>: [0/1...]}}.

    Most published copies (pysot's own VOT2018.json) carry no width and height: pysot reads
    them from the images, and so does this reader, from the first frame's header.
    """
    meta = read_pysot_json(path, sizes=(4, 8), flags=TAGS)
    sequences = []
    for name in sorted(meta):
        entry = meta[name]
        gt = check_finite_groundtruth(_pad_regions(entry["gt_rect"]), path, f"sequence {name!r}, gt_rect ")
        frames = FrameList(root, entry["img_names"])
        # An empty list (ball1's occlusion) is a tag that never occurs, as a missing tag file.
        tags = {t: frame_flags(entry[t], len(gt), path, strict, f"sequence {name!r}, {t}: ")
                for t in TAGS if entry.get(t)}
        width, height = _json_size(path, name, entry, frames[0])
        sequences.append(Sequence(name, frames, gt, width, height, tags))
    return sequences


def _json_size(path: Path, name: str, entry: dict, first_frame: Path) -> tuple[int, int]:
    """The JSON's width and height, else the first frame's; with neither, an error saying what to add."""
    if "width" in entry and "height" in entry:
        return entry["width"], entry["height"]
    if first_frame.is_file():
        return image_size(first_frame)
    raise InputError(path, f"sequence {name!r}: no width/height and its first frame {first_frame} is not "
                           "there; add \"width\" and \"height\" to the JSON or put the frames under "
                           f"{path.parent}")


def _pad_regions(rows: list[list[float]]) -> np.ndarray:
    """Regions as a 2-D array; a rectangle in a polygon dataset becomes its polygon.

    Rows are checked first (read_pysot_json): each holds 4 or 8 numbers.
    """
    width = max(map(len, rows))
    if min(map(len, rows)) == width:
        return np.array(rows, dtype=np.float64)
    out = np.empty((len(rows), width))
    for i, r in enumerate(rows):
        if len(r) == 4 and width == 8:
            x, y, w, h = r
            r = [x, y, x, y + h - 1, x + w - 1, y + h - 1, x + w - 1, y]
        out[i] = r
    return out


def read_vot_layout(folder: Path, strict: bool = False) -> list[Sequence]:
    """list.txt, <seq>/groundtruth.txt, frames in <seq>/color/ or <seq>/, per-frame *.tag files."""
    return [read_vot_sequence(folder / name, strict) for name in read_names(folder / "list.txt")]


def read_vot_sequence(path: Path, strict: bool = False) -> Sequence:
    if not path.is_dir():
        raise InputError(path, "sequence folder listed in list.txt not found")
    gt = check_finite_groundtruth(read_regions(path / "groundtruth.txt"), path / "groundtruth.txt")
    frames = _frames(path)
    if frames and len(frames) < len(gt):
        raise InputError(path / "groundtruth.txt", f"{len(gt)} regions but only {len(frames)} frames in {path}")
    frames = frames[: len(gt)] if frames else [path / "color" / f"{i + 1:08d}.jpg" for i in range(len(gt))]
    # The metadata's size serves where the images are absent (a layout written from pysot's
    # JSON without them); its frame rate paces the realtime experiment.
    have_images = frames[0].is_file()
    meta = _metadata_numbers(path, sizes=not have_images)
    width, height = image_size(frames[0]) if have_images else (meta.get("width", 0), meta.get("height", 0))
    tags = {}
    for tag in TAGS:
        for suffix in (".tag", ".label"):
            tag_file = path / f"{tag}{suffix}"
            if tag_file.is_file():
                # An empty tag file (a tag that never occurs, as in VOT2018's ball1) is all zeros.
                tags[tag] = frame_flags(read_flags(tag_file, allow_empty=True), len(gt), tag_file, strict)
                break
    return Sequence(path.name, frames, gt, int(width), int(height), tags, fps=meta.get("fps"))


def _frames(path: Path) -> list[Path]:
    pattern = _sequence_pattern(path)
    if pattern is not None:
        folder, suffix = pattern
        found = sorted(folder.glob(f"*{suffix}"))
        if found:
            return found
    for folder in (path / "color", path):
        found = sorted(p for p in folder.glob("*.jpg")) if folder.is_dir() else []
        if found:
            return found
    return []


def _metadata_numbers(path: Path, sizes: bool) -> dict[str, float]:
    """From the `sequence` metadata file: width and height (only with `sizes`: where the images
    are absent and they are needed, so a malformed size is an error then and only then) and
    fps, the pace of the realtime experiment (one that is not a positive number is left out
    with a warning: the toolkit's default then applies)."""
    meta = path / "sequence"
    if not meta.is_file():
        return {}
    values: dict[str, float] = {}
    for number, line in enumerate(read_lines(meta, allow_empty=True), start=1):
        key, _, value = (part.strip() for part in line.partition("="))
        if sizes and key in ("width", "height"):
            try:
                values[key] = int(value)
            except ValueError:
                raise InputError(meta, f"expected a whole number of pixels for {key}, got {value!r}",
                                 number) from None
        elif key == "fps":
            try:
                fps = float(value)
            except ValueError:
                fps = float("nan")
            if np.isfinite(fps) and fps > 0:
                values[key] = fps
            else:
                log.warning("%s:%d: fps %r is not a positive number; the realtime experiment takes 30",
                            meta, number, value)
    return values


def _sequence_pattern(path: Path) -> tuple[Path, str] | None:
    """channels.color from the `sequence` metadata file, e.g. color/%08d.jpg."""
    meta = path / "sequence"
    if not meta.is_file():
        return None
    for line in read_lines(meta, allow_empty=True):
        key, _, value = line.partition("=")
        if key.strip() == "channels.color" and value.strip():
            rel = Path(value.strip())
            return path / rel.parent, rel.suffix
    return None
