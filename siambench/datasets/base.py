"""The sequence and dataset model shared by every reader."""

from __future__ import annotations

import logging
from collections import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from siambench.errors import InputError
from siambench.regions import axis_aligned

log = logging.getLogger("siambench")


class FrameList(abc.Sequence):
    """Frame paths made on demand: a dataset of 60k frames costs nothing until frames are read."""

    def __init__(self, folder: Path, names: abc.Sequence[str] | None = None, pattern: str = "{:04d}.jpg",
                 start: int = 1, count: int = 0) -> None:
        self.folder = Path(folder)
        self._names = names
        self._pattern, self._start = pattern, start
        self._count = len(names) if names is not None else count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        if self._names is not None:
            return self.folder / self._names[index]
        return self.folder / self._pattern.format(self._start + index)


@dataclass
class Sequence:
    """One annotated video. Frames are paths only: evaluation never reads pixels."""

    name: str
    frames: abc.Sequence[Path]  # a list or a FrameList
    groundtruth: np.ndarray  # (N, 4) x, y, w, h or (N, 8) polygon; NaN rows where unknown
    width: int = 0
    height: int = 0
    tags: dict[str, np.ndarray] = field(default_factory=dict)  # VOT per-frame 0/1 tags
    attributes: list[str] = field(default_factory=list)  # OTB per-sequence attributes
    absent: np.ndarray | None = None  # per frame, 1 where the target is not visible
    # per frame, GOT-10k's cover.label: the visible share of the target in 0..8 (0: hidden)
    cover: np.ndarray | None = None
    # per frame, the fraction of the target that is not occluded, where the data record it
    # (synthetic sets); training can keep mostly hidden frames from passing for the target
    # (--min-visible); scoring does not read it
    visible: np.ndarray | None = None
    # (N, K, 4) x, y, w, h of K look-alike objects per frame, where the data record them
    # (synthetic sets); training may centre search regions on them (hard negatives)
    distractors: np.ndarray | None = None
    fps: float | None = None  # frames per second, where the metadata give it (VOT's realtime pace)

    def __len__(self) -> int:
        return len(self.groundtruth)

    def init_box(self, frame: int = 0) -> np.ndarray:
        """Axis-aligned (x, y, w, h) a tracker is initialised with, as pysot's test.py derives it."""
        return axis_aligned(self.groundtruth[frame])

    def tag(self, name: str) -> np.ndarray:
        """Per-frame 0/1 mask of a tag; 'all' is every frame, 'empty' the frames with no tag."""
        n = len(self)
        if name == "all":
            return np.ones(n, dtype=bool)
        if name == "empty":
            any_tag = np.zeros(n, dtype=bool)
            for values in self.tags.values():
                any_tag[: len(values)] |= values[:n].astype(bool)  # a short tag list: rest untagged
            return ~any_tag
        out = np.zeros(n, dtype=bool)
        values = self.tags.get(name)
        if values is not None:
            out[: len(values)] = values[:n].astype(bool)
        return out


@dataclass
class Dataset:
    """An ordered collection of sequences plus what the protocol needs to score them."""

    name: str
    protocol: str  # "ope" or "supervised"
    results_name: str  # folder name in the raw-results tree, e.g. "VOT2018", "OTB100"
    sequences: list[Sequence]
    root: Path | None = None
    results_aliases: tuple[str, ...] = ()  # other folder names results may be found under
    eao_interval: tuple[int, int] | None = None  # VOT expected-overlap interval [low, high]
    attribute_set: str | None = None  # the per-sequence attribute table used (OTB: otb2013, otb2015)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, name: str) -> Sequence:
        for seq in self.sequences:
            if seq.name == name:
                return seq
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sequences]

    def select(self, names: list[str]) -> Dataset:
        """The same dataset restricted to `names` (in the given order)."""
        known = {s.name: s for s in self.sequences}
        missing = [n for n in names if n not in known]
        if missing:
            raise InputError(self.root, f"sequences not in {self.name}: {', '.join(missing)}")
        return Dataset(self.name, self.protocol, self.results_name, [known[n] for n in names],
                       self.root, self.results_aliases, self.eao_interval, self.attribute_set)


def check_finite_groundtruth(gt: np.ndarray, path: Path, what: str = "") -> np.ndarray:
    """`gt` itself, or an InputError at its first row holding NaN or infinity.

    A NaN box in a VOT or OTB ground truth is damage, not "target absent" (those benchmarks
    mark absence otherwise): scored, it would silently move EAO and success; tracked, it
    would start or restart the tracker nowhere. (UAV123's NaN rows do mean absence; its
    reader does not call this.) `what` names the sequence where one file holds several.
    """
    bad = np.flatnonzero(~np.isfinite(gt).all(axis=1))
    if len(bad):
        line = None if what else int(bad[0]) + 1
        row = f"{what}row {bad[0] + 1}: " if what else ""
        raise InputError(path, f"{row}expected finite coordinates in the ground truth, got "
                               f"{', '.join(f'{v:g}' for v in gt[bad[0]])}", line)
    return gt


def frame_flags(values, frames: int, path: Path, strict: bool = False, what: str = "") -> np.ndarray:
    """A per-frame 0/1 file's values fitted to the sequence's `frames`.

    A file shorter than the sequence leaves the rest untagged, a longer one has its tail ignored,
    as before; both are now said (with the file and the counts) or, with `strict`, an error. An
    empty file is a tag that never occurs (VOT2018's ball1), the official files' own convention.
    `what` names the field where one file holds several (pysot's JSON).
    """
    values = np.asarray(values, dtype=np.int8)
    if len(values) == frames or len(values) == 0:
        return np.pad(values, (0, frames - len(values)))
    if strict:
        raise InputError(path, f"{what}expected {frames} values (one per frame), got {len(values)}")
    rest = "the remaining frames are taken as 0" if len(values) < frames else "the extra values are ignored"
    log.warning("%s: %s%d values for %d frames; %s (--strict makes this an error)", path, what, len(values), frames,
                rest)
    return np.pad(values[:frames], (0, max(0, frames - len(values))))
