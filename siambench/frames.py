"""Frame decoding ahead of the tracker.

JPEG decoding costs about as much as a light tracker's forward pass, so a background thread
decodes the next frames into a bounded queue while the tracker works on the current one
(OpenCV releases the GIL while decoding). The bound keeps memory flat on long sequences.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from siambench.errors import InputError
from siambench.textio import read_bytes

DEFAULT_PREFETCH = 8
log = logging.getLogger("siambench")


def read_frame(path: str | Path) -> np.ndarray:
    """One frame as a BGR uint8 (H, W, 3) array; grey images are expanded to three channels.

    Reading the bytes in Python and decoding them with cv2.imdecode (rather than cv2.imread)
    also works for paths OpenCV cannot open itself (non-ASCII names on Windows).
    """
    path = Path(path)
    data = np.frombuffer(read_bytes(path, "frame"), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(path, "cannot decode frame: not an image OpenCV can read")
    return image


class _End:
    """Marks the end of the frame stream."""


class _Failure:
    """Carries an exception from the decoding thread to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class FrameReader:
    """Iterate over decoded frames of `paths`, decoded `prefetch` frames ahead in a thread.

    Use as a context manager, or iterate to the end: leaving early (an exception in the
    tracker, a break) stops the thread either way.
    """

    def __init__(self, paths: Sequence[str | Path], prefetch: int = DEFAULT_PREFETCH) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._paths = [Path(p) for p in paths]
        self._queue: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._paths)

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._thread is not None:
            raise RuntimeError("a FrameReader can be iterated only once")
        self._thread = threading.Thread(target=self._decode_all, name="siambench-frames", daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop decoding and wait for the thread."""
        self._stop.set()
        if self._thread is None:
            return
        # Free a slot in case the thread is blocked on a full queue.
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            self._thread.join(timeout=0.05)

    def _decode_all(self) -> None:
        first: tuple[int, ...] | None = None
        warned = False  # once per sequence: a resized sequence would warn on every frame
        try:
            for path in self._paths:
                if self._stop.is_set():
                    return
                frame = read_frame(path)
                if first is None:
                    first = frame.shape[:2]
                elif not warned and frame.shape[:2] != first:
                    _warn_size(path, frame.shape[:2], first, self._paths[0])
                    warned = True
                if not self._put(frame):
                    return
            self._put(_End())
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(_Failure(exc))

    def _put(self, item: object) -> bool:
        """Queue `item`, giving up when the reader is closed; True if queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def _warn_size(path: Path, size: tuple[int, ...], first: tuple[int, ...], first_path: Path) -> None:
    """A frame of another size than the first (a mixed-up folder, a re-encoded file) is tracked
    in other coordinates than the annotations': worth a warning, though not an error."""
    log.warning("%s: frame is %dx%d but the sequence's first frame %s is %dx%d (warned once per sequence)",
                path, size[1], size[0], first_path.name, first[1], first[0])
