"""``siambench track``: one tracker on one video file or camera, outside any benchmark.

The tracker starts on the first frame at the box given, follows the target frame by frame, and
writes its boxes (``<stem>.<tracker>.txt``, x,y,w,h per line as OPE results are written) and a
video with the box, its score and the tracker's speed drawn on every frame
(``<stem>.<tracker>.mp4``), both atomically. Ctrl-C stops a camera (or a long file) early and
keeps what was tracked. No window is opened: siambench's OpenCV is headless.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import InputError, SiambenchError

DEFAULT_VIDEO_FPS = 25.0  # for writing, where the source does not say its rate (some cameras)


@dataclass
class VideoRun:
    """What track_video did."""

    tracker: str
    source: str
    frames: int  # frames with a box, the first (initialisation) included
    tracker_seconds: float  # time in the tracker's calls, init included
    boxes_path: Path
    video_path: Path | None
    interrupted: bool = False

    @property
    def fps(self) -> float:
        return self.frames / self.tracker_seconds if self.tracker_seconds > 0 else float("nan")

    def format(self) -> str:
        stop = " (stopped by Ctrl-C)" if self.interrupted else ""
        lines = [f"{self.tracker} on {self.source}: {self.frames} frames{stop}, tracker {self.fps:.1f} fps",
                 f"boxes: {self.boxes_path}"]
        if self.video_path is not None:
            lines.append(f"video: {self.video_path}")
        return "\n".join(lines)


def open_video(source: str | int | Path) -> tuple[Any, str, float, int | None]:
    """An opened cv2.VideoCapture, a name for the source, its frame rate for writing, and its
    frame count where the container says (None for a camera).

    `source` is a video file, or a camera index (an int, or digits that name no file).
    """
    import cv2

    text = str(source)
    if isinstance(source, int) or (text.isdigit() and not Path(text).exists()):
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # a missing camera: one line, ours
        try:
            capture = cv2.VideoCapture(int(text))
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not capture.isOpened():
            raise SiambenchError(f"camera {text} cannot be opened (no such device, or it is busy)")
        return capture, f"camera{text}", _rate(capture), None
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(path, "video not found")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise InputError(path, "OpenCV cannot read it as a video (expected a file such as .mp4 or .avi)")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return capture, path.stem, _rate(capture), count if count > 0 else None


def _rate(capture: Any) -> float:
    import cv2

    rate = capture.get(cv2.CAP_PROP_FPS)
    return rate if rate and np.isfinite(rate) and rate > 0 else DEFAULT_VIDEO_FPS


@contextlib.contextmanager
def _stop_requests() -> Iterator[Callable[[], bool]]:
    """While the block runs, Ctrl-C (SIGINT) asks the tracking loop to stop after the frame in
    hand instead of interrupting whatever runs (an encoder write would lose the whole video);
    yields the question "was a stop asked for?". Outside the main thread signals cannot be
    caught, and KeyboardInterrupt is caught where it lands in the loop instead."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    asked: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: asked.append(signum))
    try:
        yield lambda: bool(asked)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def parse_box(text: str) -> np.ndarray:
    """'x,y,w,h' as a box with a finite position and a positive size."""
    try:
        values = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        values = np.zeros(0)
    if values.size != 4 or not np.isfinite(values).all() or values[2] <= 0 or values[3] <= 0:
        raise SiambenchError(f"--box: expected x,y,w,h (four numbers, width and height above 0), got {text!r}")
    return values


def _check_box(box: np.ndarray, frame: np.ndarray, source: str) -> None:
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise SiambenchError(f"--box: expected x,y,w,h (four finite numbers, width and height above 0), "
                             f"got {', '.join(f'{v:g}' for v in box.ravel())}")
    height, width = frame.shape[:2]
    x, y, w, h = box
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise SiambenchError(f"--box {x:g},{y:g},{w:g},{h:g} lies outside the {width}x{height} frames of {source}")


def _frames(capture: Any, limit: int | None) -> Iterator[np.ndarray]:
    count = 0
    while limit is None or count < limit:
        ok, frame = capture.read()
        if not ok:
            return
        count += 1
        yield frame


class _Pass:
    """One tracking pass over a video: the boxes so far, the time in the tracker's calls, and
    whether Ctrl-C stopped it; :meth:`images` drives it, frame by frame."""

    def __init__(self, tracker: Any, name: str, draw: bool) -> None:
        from siambench.show import TrackLine

        self.tracker = tracker
        self.name = name
        self.draw = draw
        self.boxes: list[np.ndarray] = []
        self.seconds = 0.0
        self.interrupted = False
        self._line = TrackLine(name, self.boxes)  # grows with the boxes: frame i draws boxes[i]

    def _timed(self, call: Callable[..., Any], *args: Any) -> Any:
        tic = time.perf_counter()
        result = call(*args)
        self.seconds += time.perf_counter() - tic
        return result

    def images(self, first: np.ndarray, start: np.ndarray, frames: Iterator[np.ndarray],
               stop_asked: Callable[[], bool], progress: Callable[[int], None]) -> Iterator[np.ndarray]:
        """Each frame tracked, then drawn (or passed on as it is, without `draw`), until the
        frames end or Ctrl-C asks to stop."""
        try:
            self._timed(self.tracker.init, first, start)
            self.boxes.append(start)
            yield self._image(first, 0, float("nan"))
            for index, frame in enumerate(frames, start=1):
                if stop_asked():
                    self.interrupted = True
                    return
                result = self._timed(self.tracker.track, frame)
                self.boxes.append(np.asarray(result.box, dtype=np.float64))
                progress(len(self.boxes))
                yield self._image(frame, index, result.score)
        except KeyboardInterrupt:  # outside the main thread: wherever it landed in here
            self.interrupted = True

    def _image(self, frame: np.ndarray, index: int, score: float) -> np.ndarray:
        if not self.draw:
            return frame
        from siambench.show import draw_frame, label, tracker_colour, video_image

        image = video_image(frame, index, lambda f, i, width: draw_frame(f, i, None, [self._line], width))
        speed = len(self.boxes) / self.seconds if self.seconds > 0 else float("nan")
        score_text = f"  score {score:.2f}" if np.isfinite(score) else ""
        label(image, f"{self.name}  {speed:.1f} fps{score_text}", tracker_colour(0), row=-1)
        return image


def track_video(
    tracker: str | Path,
    source: str | int | Path,
    box: Sequence[float],
    out_dir: str | Path = Path("results") / "videos",
    device: str = "auto",
    weights: str | Path | None = None,
    max_frames: int | None = None,
    video: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> VideoRun:
    """Track the target at `box` (x, y, w, h on the first frame) through `source`; see the module doc.

    progress(done, total) is called after each frame once tracking runs (every check passed);
    total is None where the length is unknown (a camera).
    """
    from siambench.results import format_box
    from siambench.show import write_video
    from siambench.textio import atomic_write_lines, check_writable_dir
    from siambench.trackers.registry import create_tracker, load_spec

    if max_frames is not None and max_frames < 1:
        raise SiambenchError("--frames must be at least 1")
    spec = load_spec(tracker)
    out = Path(out_dir)
    check_writable_dir(out)
    capture, name, rate, count = open_video(source)
    total = min(count, max_frames) if count and max_frames else (count or max_frames)
    try:
        built = create_tracker(spec, device, weights)
        frames = _frames(capture, max_frames)
        first = next(frames, None)
        if first is None:
            raise InputError(None if isinstance(source, int) else source, "no frame could be read from the video")
        start = np.asarray(box, dtype=np.float64)
        _check_box(start, first, name)
        run = _Pass(built, spec.name, draw=video)
        stem = f"{name}.{spec.name}"
        video_path = out / f"{stem}.mp4" if video else None
        with _stop_requests() as stop_asked:
            images = run.images(first, start, frames, stop_asked,
                                lambda done: progress(done, total) if progress is not None else None)
            if video_path is not None:
                written = write_video(video_path, images, rate, without="--no-video-out")
                del run.boxes[written:]  # a box whose frame never reached the video (stopped in between)
            else:
                for _ in images:
                    pass
    finally:
        capture.release()
    boxes_path = out / f"{stem}.txt"
    atomic_write_lines(boxes_path, (format_box(b, vot=False) for b in run.boxes))
    return VideoRun(spec.name, name, len(run.boxes), run.seconds, boxes_path, video_path, run.interrupted)
