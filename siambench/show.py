"""Tracking you can see: raw results drawn on the frames, as a video and a contact sheet.

    paths = show(["siamfc-demo", "opencv-mil"], "demo", "Occlusion1", results_dir="results")

Everything comes from what is on disk: the dataset's frames and ground truth, and the raw results
that ``siambench run`` (or an import) left, chosen exactly as ``siambench eval`` chooses them
(:class:`siambench.results.ResultIndex`). Nothing is tracked again. On VOT data the first
repetition of the supervised experiment is drawn (else the unsupervised one): a failure frame is
marked with a red border and the tracker's name, the frames skipped after it are left without a
box, and a re-initialisation is labelled.

The video is an MP4 written by OpenCV (``mp4v``), the sheet a PNG grid of evenly spaced frames
plus every failure frame, each tile numbered; both are written to a temporary file beside the
target and renamed, so a stopped command never leaves half a file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from siambench.datasets import Dataset, load_dataset
from siambench.errors import InputError, SiambenchError
from siambench.results import (
    EXPERIMENT_PROTOCOLS,
    FAILURE,
    INIT,
    ResultIndex,
    ResultStore,
    list_trackers,
)
from siambench.textio import ordinary_mode

log = logging.getLogger("siambench")

GT_COLOUR = (0, 200, 0)  # BGR
# Distinct colours for the trackers (BGR), in order; the ground truth is green. Past these,
# colours are spread over the hue circle (tracker_colour).
TRACKER_COLOURS = ((0, 140, 255), (255, 120, 0), (200, 0, 200), (0, 220, 220), (255, 255, 255),
                   (120, 120, 255), (255, 200, 140), (0, 90, 170), (170, 255, 120), (150, 40, 110))
FAILURE_COLOUR = (0, 0, 255)
SHEET_TILE_WIDTH = 320
VIDEO_MIN_WIDTH = 480


@dataclass
class TrackLine:
    """One tracker's result on one sequence, per frame: a region, or a VOT code."""

    tracker: str
    regions: list[np.ndarray | None]  # (4,) box or (8,) polygon; None where there is no box
    events: dict[int, str] = field(default_factory=dict)  # frame -> "failure" | "init"
    source: Path | None = None


def load_track(ds: Dataset, results_dir: Path, tracker: str, sequence: str,
               experiment: str | None = None) -> TrackLine:
    """The result of `tracker` on `sequence`, as eval would score it; on VOT data the first
    repetition of `experiment` (baseline, unsupervised, realtime; default: the first of them
    the tracker has)."""
    found = list_trackers(results_dir, (ds.results_name, *ds.results_aliases))
    if tracker not in found:
        raise InputError(results_dir, f"no results of tracker {tracker!r} for {ds.name} "
                                      f"(found: {', '.join(found) or 'none'})")
    index = ResultIndex(ResultStore(found[tracker].parent, found[tracker].name, tracker), names=ds.names)
    index.check_one_run([sequence])
    if ds.protocol == "ope":
        path = index.ope(sequence)
        if path is None:
            raise InputError(found[tracker] / tracker, f"no result file for sequence {sequence!r}")
        from siambench.results import read_boxes

        return TrackLine(tracker, [b if np.isfinite(b).all() else None for b in read_boxes(path)], source=path)
    for name in [experiment] if experiment else index.experiments():
        paths = index.vot(sequence, name)
        if paths:
            return _vot_line(tracker, paths[0])
    which = f"{experiment} result" if experiment else "VOT result"
    raise InputError(found[tracker] / tracker, f"no {which} for sequence {sequence!r}")


def _load_tracks(ds: Dataset, results_dir: Path, trackers: Sequence[str], sequence: str,
                 experiment: str | None = None) -> list[TrackLine]:
    """Each tracker's result on the sequence; one without one is left out with a warning (all
    without one is an error), and a result whose length is not the sequence's is warned about."""
    lines, problems = [], []
    for tracker in trackers:
        try:
            lines.append(load_track(ds, results_dir, tracker, sequence, experiment))
        except InputError as exc:
            if len(trackers) == 1:
                raise
            problems.append(str(exc))
    if not lines:
        raise InputError(None, "none of the trackers has a result to show: " + "; ".join(problems))
    for problem in problems:
        log.warning("%s; shown without it", problem)
    length = len(ds[sequence].groundtruth)
    for line in lines:
        if len(line.regions) != length:
            log.warning("%s: %d lines for the %d frames of %s; drawn as far as it goes", line.source,
                        len(line.regions), length, sequence)
    return lines


def _vot_line(tracker: str, path: Path) -> TrackLine:
    from siambench.results import read_vot_trajectory

    regions: list[np.ndarray | None] = []
    events: dict[int, str] = {}
    for i, entry in enumerate(read_vot_trajectory(path)):
        if entry.size == 1:
            code = int(entry[0])
            if code == FAILURE:
                events[i] = "failure"
            elif code == INIT and i > 0:
                events[i] = "init"
            # A code frame has no box: an init frame's region is the ground truth (drawn anyway).
            regions.append(None)
        else:
            regions.append(entry if np.isfinite(entry).all() else None)
    return TrackLine(tracker, regions, events, path)


def tracker_colour(k: int) -> tuple[int, int, int]:
    """The BGR colour of the k-th tracker: the fixed palette, then golden-ratio hues."""
    if k < len(TRACKER_COLOURS):
        return TRACKER_COLOURS[k]
    import colorsys

    hue = (0.13 + 0.618034 * (k - len(TRACKER_COLOURS))) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return round(b * 255), round(g * 255), round(r * 255)


def _polygon(region: np.ndarray) -> np.ndarray:
    if region.size == 4:
        x, y, w, h = region
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    return region.reshape(-1, 2)


def draw_frame(image: np.ndarray, index: int, groundtruth: np.ndarray | None, lines: Sequence[TrackLine],
               width: int | None = None) -> np.ndarray:
    """Frame `index` resized to `width` (default: as it is), with the ground truth, each
    tracker's region and the frame's events drawn at that size (so text stays sharp)."""
    import cv2

    h, w = image.shape[:2]
    scale = 1.0 if width is None else width / w
    out = image.copy() if scale == 1.0 else cv2.resize(image, (width, max(1, round(h * scale))),
                                                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    thickness = max(1, round(min(out.shape[:2]) / 160))

    def outline(region: np.ndarray, colour: tuple[int, int, int]) -> None:
        points = _polygon(region) * scale
        if np.abs(points).max() > 1e6:  # a diverged tracker's 1e30: nowhere near the frame, and
            return                      # clipping a vertex would tilt the edges that do cross it
        points = np.round(points).astype(np.int32)
        cv2.polylines(out, [points], True, colour, thickness, cv2.LINE_AA)

    failed, notes = [], []
    for k, line in enumerate(lines):
        colour = tracker_colour(k)
        region = line.regions[index] if index < len(line.regions) else None
        if region is not None:
            outline(region, colour)
        event = line.events.get(index)
        if event == "failure":
            failed.append(line.tracker)
        elif event == "init":
            notes.append((f"{line.tracker}: re-init", colour))
    if groundtruth is not None and np.isfinite(groundtruth).all() and np.any(groundtruth):
        outline(groundtruth, GT_COLOUR)  # last, so a box on top of it does not hide it
    if failed:
        cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), FAILURE_COLOUR, 2 * thickness + 2)
        notes.insert(0, ("failure: " + ", ".join(failed), FAILURE_COLOUR))
    for row, (text, colour) in enumerate([(f"#{index + 1}", (255, 255, 255)), *notes]):
        label(out, text, colour, row)
    return out


def label(image: np.ndarray, text: str, colour: tuple[int, int, int], row: int) -> None:
    """`text` on a dark band at the left, on line `row` from the top (-1: the bottom line)."""
    import cv2

    scale = 0.45
    y = 18 + 18 * row if row >= 0 else image.shape[0] - 8 + 18 * (row + 1)
    # On a dark box rather than over a thick black copy of itself: the two strokes drift apart
    # along a long line, which doubles the letters.
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(image, (3, y - h - 3), (9 + w, y + base), (0, 0, 0), -1)
    cv2.putText(image, text, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def sheet_frames(length: int, lines: Sequence[TrackLine], tiles: int) -> list[int]:
    """Evenly spaced frames (first and last included) plus every failure, at most `tiles` + failures."""
    even = {int(round(i)) for i in np.linspace(0, length - 1, num=min(tiles, length))}
    failures = {i for line in lines for i, kind in line.events.items() if kind == "failure" and i < length}
    return sorted(even | failures)


def contact_sheet(tiles: Sequence[np.ndarray], columns: int = 4) -> np.ndarray:
    """Tiles of equal width in a grid, on a dark background."""
    tile_w = tiles[0].shape[1]
    tile_h = max(t.shape[0] for t in tiles)
    rows = -(-len(tiles) // columns)
    gap = 4
    sheet = np.full((rows * (tile_h + gap) + gap, columns * (tile_w + gap) + gap, 3), 32, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = gap + r * (tile_h + gap), gap + c * (tile_w + gap)
        sheet[y : y + tile.shape[0], x : x + tile_w] = tile
    return sheet


def _legend(width: int, lines: Sequence[TrackLine]) -> np.ndarray:
    import cv2

    entries = [("ground truth", GT_COLOUR)] + [(line.tracker, tracker_colour(k)) for k, line in enumerate(lines)]
    # Lay the entries out in rows that fit the width (a long list wraps instead of running off).
    rows: list[list[tuple[int, str, tuple[int, int, int]]]] = [[]]
    x = 8
    for name, colour in entries:
        w = 24 + cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 16
        if rows[-1] and x + w > width:
            rows.append([])
            x = 8
        rows[-1].append((x, name, colour))
        x += w
    strip = np.full((28 * len(rows), width, 3), 32, dtype=np.uint8)
    for r, row in enumerate(rows):
        for x, name, colour in row:
            cv2.rectangle(strip, (x, 9 + 28 * r), (x + 18, 19 + 28 * r), colour, -1)
            cv2.putText(strip, name, (x + 24, 19 + 28 * r), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1,
                        cv2.LINE_AA)
    return strip


def _atomic_image(path: Path, image: np.ndarray) -> None:
    import cv2

    from siambench.textio import atomic_write_bytes

    ok, data = cv2.imencode(path.suffix, image)
    if not ok:
        raise InputError(path, "OpenCV could not encode the image")
    atomic_write_bytes(path, data.tobytes())


def video_image(frame: np.ndarray, index: int, draw: Callable[[np.ndarray, int, int], np.ndarray]) -> np.ndarray:
    """Frame `index` drawn for a video: small frames enlarged so that boxes and labels stay legible."""
    return draw(frame, index, max(VIDEO_MIN_WIDTH, frame.shape[1]))


def write_video(path: Path, images: Iterable[np.ndarray], fps: float, without: str = "--no-video") -> int:
    """Write `images` (BGR, taken lazily) as an MP4 at `path`, atomically; the frame count.

    Frames of another size than the first are resized to it. Nothing is left at `path` unless
    every image was written. `without`: the caller's option for doing without a video.
    """
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    writer = None
    count = 0
    try:
        for image in images:
            if writer is None:
                size = (image.shape[1], image.shape[0])
                writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
                if not writer.isOpened():
                    raise SiambenchError(f"OpenCV cannot write MP4 video here (no mp4v encoder); use {without}")
            if (image.shape[1], image.shape[0]) != size:
                image = cv2.resize(image, size)
            writer.write(image)
            count += 1
        if writer is None:
            raise InputError(path, "no frames to write")
        writer.release()
        writer = None
        ordinary_mode(tmp)
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.release()
        Path(tmp).unlink(missing_ok=True)
    return count


def show(
    trackers: Sequence[str],
    dataset: str | Dataset,
    sequence: str,
    results_dir: str | Path = "results",
    data_root: str | Path | None = None,
    out: str | Path | None = None,
    video: bool = True,
    sheet: bool = True,
    tiles: int = 12,
    fps: float = 20.0,
    stem: str | None = None,
    experiment: str | None = None,
) -> dict[str, Path]:
    """Write `<out>/<stem>.mp4` and `<out>/<stem>.png` (stem: the sequence's name by default,
    then `-<experiment>` where one is named).

    experiment: on VOT data, the experiment to draw (see :func:`load_track`).

    Returns the paths written, {"video": ..., "sheet": ...}.
    """
    from siambench.frames import read_frame
    from siambench.textio import check_writable_dir

    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_root)
    if sequence not in ds.names:
        from siambench.errors import UnknownNameError

        raise UnknownNameError(f"sequence of {ds.name}", sequence, list(ds.names))
    if not trackers:
        raise SiambenchError("name at least one tracker to show")
    seq = ds[sequence]
    results_dir = Path(results_dir)
    out = Path(out) if out is not None else results_dir / "show" / ds.results_name
    check_writable_dir(out)
    if experiment is not None and experiment not in EXPERIMENT_PROTOCOLS:
        raise SiambenchError(f"unknown experiment {experiment!r}; expected one of {', '.join(EXPERIMENT_PROTOCOLS)}")
    if experiment is not None and ds.protocol == "ope":
        raise SiambenchError(f"{ds.name} is a one-pass dataset: it has no VOT experiments to choose from")
    stem = stem or (sequence if experiment is None else f"{sequence}-{experiment}")
    lines = _load_tracks(ds, results_dir, trackers, sequence, experiment)
    frames = list(seq.frames)
    if not frames or not Path(frames[0]).is_file():
        raise InputError(frames[0] if frames else ds.root, f"the frames of sequence {sequence!r} are missing: "
                         "show draws on the images (annotations alone are not enough)")
    length = min(len(frames), len(seq.groundtruth))

    def draw(image: np.ndarray, i: int, width: int | None = None) -> np.ndarray:
        return draw_frame(image, i, seq.groundtruth[i] if i < len(seq.groundtruth) else None, lines, width)

    written: dict[str, Path] = {}
    if sheet:
        chosen = sheet_frames(length, lines, tiles)
        grid = contact_sheet([draw(read_frame(frames[i]), i, SHEET_TILE_WIDTH) for i in chosen])
        image = np.concatenate([_legend(grid.shape[1], lines), grid], axis=0)
        written["sheet"] = out / f"{stem or sequence}.png"
        _atomic_image(written["sheet"], image)
    if video:
        written["video"] = out / f"{stem or sequence}.mp4"
        write_video(written["video"], (video_image(read_frame(path), i, draw) for i, path in enumerate(frames[:length])),
                    fps)
    return written
