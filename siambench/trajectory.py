"""A VOT trajectory (or any list of regions) packed into two arrays.

A VOT result file holds, per frame, a one-value code (1 initialisation, 2 failure, 0 skipped)
or a region of 4 or 2k values. As a Python list of per-frame arrays, every pass over a
benchmark's 20,000 frames (codes, packing for the rasteriser, finiteness checks) costs a Python
step per frame. A :class:`Trajectory` keeps all values end to end in one array with each
frame's count beside it, so those passes are a few numpy operations; it still reads as a
sequence of per-frame arrays (``len``, indexing, slicing, iteration), so code that walks the
frames keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

CODE_OF_REGION = -1  # what :meth:`Trajectory.codes` gives for a frame that holds a region


class Trajectory(Sequence):
    """Per-frame value arrays stored end to end: ``values[starts[i]:starts[i] + counts[i]]``."""

    __slots__ = ("values", "counts", "starts", "_codes")

    def __init__(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.float64).ravel()
        self.counts = np.asarray(counts, dtype=np.int64).ravel()
        ends = np.cumsum(self.counts)
        if (len(ends) and ends[-1] != len(self.values)) or (not len(ends) and len(self.values)):
            raise ValueError(f"counts add up to {int(ends[-1]) if len(ends) else 0}, "
                             f"but there are {len(self.values)} values")
        self.starts = ends - self.counts
        self._codes: np.ndarray | None = None

    @classmethod
    def of(cls, entries: Trajectory | np.ndarray | Iterable[np.ndarray]) -> Trajectory:
        """A Trajectory as is; a 2-D (N, k) table as N regions of k values; else per-frame arrays."""
        if isinstance(entries, Trajectory):
            return entries
        if isinstance(entries, np.ndarray) and entries.ndim == 2:
            return cls(entries.ravel(), np.full(entries.shape[0], entries.shape[1], dtype=np.int64))
        arrays = [np.asarray(e, dtype=np.float64).ravel() for e in entries]
        counts = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
        values = np.concatenate(arrays) if arrays else np.zeros(0)
        return cls(values, counts)

    @classmethod
    def concat(cls, parts: Iterable[Trajectory]) -> Trajectory:
        """The frames of several trajectories, one after the other."""
        parts = [cls.of(p) for p in parts]
        if not parts:
            return cls(np.zeros(0), np.zeros(0, dtype=np.int64))
        return cls(np.concatenate([p.values for p in parts]), np.concatenate([p.counts for p in parts]))

    def __len__(self) -> int:
        return len(self.counts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            first, stop, step = index.indices(len(self))
            if step == 1:
                stop = max(stop, first)
                lo = int(self.starts[first]) if first < len(self) else len(self.values)
                hi = int(self.starts[stop - 1] + self.counts[stop - 1]) if stop > first else lo
                return Trajectory(self.values[lo:hi], self.counts[first:stop])
            return self.take(np.arange(first, stop, step))
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"frame {index} of a {len(self)}-frame trajectory")
        start = int(self.starts[i])
        return self.values[start : start + int(self.counts[i])]

    def take(self, frames: np.ndarray) -> Trajectory:
        """The given frames (indices), in that order."""
        frames = np.asarray(frames, dtype=np.int64)
        counts = self.counts[frames]
        offsets = np.repeat(self.starts[frames] - (np.cumsum(counts) - counts), counts)
        return Trajectory(self.values[np.arange(int(counts.sum())) + offsets], counts)

    def codes(self) -> np.ndarray:
        """Per frame: its code (0, 1 or 2), or -1 where the frame holds a region."""
        if self._codes is None:
            single = self.counts == 1
            codes = np.full(len(self), CODE_OF_REGION, dtype=np.int64)
            codes[single] = self.values[self.starts[single]].astype(np.int64)
            self._codes = codes
        return self._codes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectory):
            return NotImplemented
        return np.array_equal(self.counts, other.counts) and np.array_equal(self.values, other.values,
                                                                            equal_nan=True)

    __hash__ = None  # mutable arrays inside

    def __repr__(self) -> str:
        return f"Trajectory({len(self)} frames, {len(self.values)} values)"
