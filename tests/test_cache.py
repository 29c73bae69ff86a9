"""Remembered VOT overlaps: the same scores as computing them, never a stale value, no numba on a hit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from siambench import cache
from siambench.metrics import vot as vot_metrics
from siambench.trajectory import Trajectory


def _sequences(seed: int = 0) -> list[vot_metrics.VotSequence]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(3):
        n = 40 + 10 * k
        centre = np.cumsum(rng.normal(0, 2, (n, 2)), axis=0) + 60
        gt = np.concatenate([centre - 10, centre + [10, -10], centre + 10, centre + [-10, 10]], axis=1)
        traj = [np.array([1.0])] + [np.r_[centre[i] - 9 + rng.normal(0, 2, 2), 19.0, 21.0] for i in range(1, n)]
        traj[20] = np.array([2.0])
        traj[21:25] = [np.array([0.0])] * 4
        traj[25] = np.array([1.0])
        out.append(vot_metrics.VotSequence(f"s{k}", gt, 160, 120, [traj]))
    return out


def test_remembered_scores_equal_computed_ones(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(cache.OVERLAP_CACHE_ENV, "off")
    expected = vot_metrics.pysot_supervised(_sequences(), (5, 30))
    expected_ao = vot_metrics.unsupervised(_sequences(), "vot-toolkit")
    monkeypatch.setenv(cache.OVERLAP_CACHE_ENV, str(tmp_path))
    for _ in range(2):  # the first run computes and keeps, the second reads
        assert vot_metrics.pysot_supervised(_sequences(), (5, 30)) == expected
        assert vot_metrics.unsupervised(_sequences(), "vot-toolkit") == expected_ao
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_any_changed_input_is_another_key() -> None:
    pred = Trajectory.of([np.array([1.0]), np.array([1.0, 2.0, 3.0, 4.0])])
    gt = Trajectory.of(np.arange(8.0).reshape(2, 4))
    bounds = (np.array([10.0, 10.0]), np.array([8.0, 8.0]))
    key = cache.overlap_key("pysot", pred, gt, bounds)
    moved = Trajectory.of([np.array([1.0]), np.array([1.0, 2.0, 3.0, 4.5])])
    assert cache.overlap_key("pysot", moved, gt, bounds) != key
    assert cache.overlap_key("vot-toolkit", pred, gt, bounds) != key
    assert cache.overlap_key("pysot", pred, gt, (bounds[0], bounds[1] - 1)) != key
    # the same numbers split into other frames are other inputs
    regrouped = Trajectory(pred.values, np.array([2, 3]))
    assert cache.overlap_key("pysot", regrouped, gt, bounds) != key


def test_an_unreadable_entry_is_computed_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(cache.OVERLAP_CACHE_ENV, str(tmp_path))
    calls = []

    def compute(pred, gt, bounds):
        calls.append(1)
        return np.full(len(pred), 0.5)

    pred = Trajectory.of(np.ones((3, 4)))
    bounds = (np.full(3, 9.0), np.full(3, 9.0))
    first = cache.remembered_overlaps("test", compute, pred, pred, bounds)
    again = cache.remembered_overlaps("test", compute, pred, pred, bounds)
    assert len(calls) == 1 and np.array_equal(first, again)
    (entry,) = tmp_path.glob("*.npz")
    entry.write_bytes(b"not a zip file")
    assert np.array_equal(cache.remembered_overlaps("test", compute, pred, pred, bounds), first)
    assert len(calls) == 2


def test_eval_scores_from_the_cache_without_numba(shared_data: Path, tmp_path) -> None:
    """A second `eval` of the same files reads the overlaps, so numba is never imported."""
    env = {**os.environ, cache.OVERLAP_CACHE_ENV: str(tmp_path / "overlaps")}
    script = (
        "import json, sys; from pathlib import Path\n"
        "from siambench.evaluate import evaluate\n"
        "out = evaluate('vot2018', Path(sys.argv[1]) / 'results', Path(sys.argv[1]), ['DaSiamRPN'])\n"
        "o = out['trackers']['DaSiamRPN']['overall']\n"
        "print(json.dumps({'eao': o['eao'], 'numba': 'numba' in sys.modules}))\n"
    )
    runs = [json.loads(subprocess.run([sys.executable, "-c", script, str(shared_data)], env=env, check=True,
                                      capture_output=True, text=True).stdout) for _ in range(2)]
    assert runs[0]["numba"] and not runs[1]["numba"]
    assert runs[0]["eao"] == runs[1]["eao"] == pytest.approx(0.383, abs=5e-4)


def test_the_least_recently_used_entries_go_first(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(cache.OVERLAP_CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(cache, "MAX_OVERLAP_ENTRIES", 3)
    bounds = (np.full(2, 9.0), np.full(2, 9.0))

    def run(i: int) -> None:
        pred = Trajectory.of(np.full((2, 4), float(i)))
        cache.remembered_overlaps("test", lambda p, g, b: np.zeros(len(p)), pred, pred, bounds)

    for i in range(3):
        run(i)
    keys = {i: cache.overlap_key("test", Trajectory.of(np.full((2, 4), float(i))),
                                 Trajectory.of(np.full((2, 4), float(i))), bounds) for i in range(4)}
    for i, age in ((0, 100), (1, 300), (2, 200)):  # entry 0 is the least recently used
        os.utime(tmp_path / f"{keys[i]}.npz", (age, age))
    run(3)
    left = {p.stem for p in tmp_path.glob("*.npz")}
    assert left == {keys[1], keys[2], keys[3]}
