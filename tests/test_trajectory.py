"""The packed trajectory reads like the list of per-frame arrays it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from siambench.trajectory import Trajectory

ENTRIES = [np.array([1.0]), np.array([10.0, 20.0, 30.0, 40.0]), np.array([2.0]), np.array([0.0]),
           np.array([1.0]), np.arange(8.0)]


def _as_lists(entries) -> list[list[float]]:
    return [np.asarray(e).tolist() for e in entries]


def test_reads_like_the_list() -> None:
    traj = Trajectory.of(ENTRIES)
    assert len(traj) == len(ENTRIES)
    assert _as_lists(traj) == _as_lists(ENTRIES)
    assert traj[-1].tolist() == list(range(8))
    assert traj.codes().tolist() == [1, -1, 2, 0, 1, -1]
    with pytest.raises(IndexError):
        traj[len(ENTRIES)]


@pytest.mark.parametrize("part", [slice(0, 3), slice(2, None), slice(4, 2), slice(None, None, 2),
                                  slice(None, None, -1), slice(-3, -1), slice(6, 10)])
def test_slices_equal_list_slices(part: slice) -> None:
    traj = Trajectory.of(ENTRIES)
    assert _as_lists(traj[part]) == _as_lists(ENTRIES[part])
    assert traj[part].codes().tolist() == traj.codes()[part].tolist()


def test_a_table_is_one_region_per_row_and_concat_keeps_order() -> None:
    table = np.arange(12.0).reshape(3, 4)
    packed = Trajectory.of(table)
    assert packed.counts.tolist() == [4, 4, 4]
    both = Trajectory.concat([packed, Trajectory.of(ENTRIES[:2])])
    assert _as_lists(both) == _as_lists(list(table) + ENTRIES[:2])
    assert Trajectory.of(both) is both
    assert both == Trajectory.of(list(both))
    assert len(Trajectory.concat([])) == 0


def test_counts_must_cover_the_values() -> None:
    with pytest.raises(ValueError, match="counts add up to 3"):
        Trajectory(np.zeros(4), np.array([1, 2]))
