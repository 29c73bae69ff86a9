"""Run vot-toolkit 0.9.0's own supervised analyses on siambench's data.

Used by the cross-check tests and by ``make bench`` to compare the ``vot-toolkit`` variant with
the reference implementation on the same trajectories. Needs the ``crosscheck`` extra.
"""

from __future__ import annotations

import numpy as np

from siambench.datasets import Sequence


def to_region(entry: np.ndarray):
    """A trajectory entry (code, box or polygon) as a vot-toolkit region."""
    from vot.region import Special
    from vot.region.shapes import Polygon, Rectangle

    if entry.size == 1:
        return Special(int(entry[0]))
    if entry.size == 4:
        return Rectangle(*entry)
    return Polygon([(entry[i], entry[i + 1]) for i in range(0, entry.size, 2)])


class _Trajectory:
    def __init__(self, entries: list[np.ndarray]) -> None:
        self._regions = [to_region(e) for e in entries]

    def regions(self) -> list:
        return self._regions


class _Sequence:
    """The part of vot-toolkit's Sequence its supervised analyses use."""

    def __init__(self, seq: Sequence) -> None:
        self.name = seq.name
        self.size = (seq.width, seq.height)
        self._gt = [to_region(g) for g in seq.groundtruth]

    def groundtruth(self) -> list:
        return self._gt

    def __len__(self) -> int:
        return len(self._gt)


class _Experiment:
    def __init__(self, trajectories: dict[str, list[list[np.ndarray]]]) -> None:
        self._trajectories = {name: [_Trajectory(t) for t in reps] for name, reps in trajectories.items()}

    def gather(self, tracker, sequence) -> list[_Trajectory]:
        return self._trajectories[sequence.name]


def supervised_analyses(sequences: list[Sequence], trajectories: dict[str, list[list[np.ndarray]]]) -> dict:
    """vot-toolkit's per-sequence AR, aggregated AR and EAO curve for the given repetitions."""
    from vot.analysis.supervised import AccuracyRobustness, AverageAccuracyRobustness, EAOCurve

    experiment = _Experiment(trajectories)
    vot_sequences = [_Sequence(s) for s in sequences]
    analysis = AccuracyRobustness()
    per_sequence = [analysis.subcompute(experiment, None, s, []) for s in vot_sequences]
    aggregated = AverageAccuracyRobustness().aggregate(None, vot_sequences, per_sequence)
    curve = EAOCurve().subcompute(experiment, None, vot_sequences, [])[0]
    return {"per_sequence": per_sequence, "aggregated": aggregated, "eao_curve": np.asarray(curve)}
