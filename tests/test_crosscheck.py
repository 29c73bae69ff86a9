"""siambench's metrics equal the reference toolkits' on generated trajectories.

These tests import the real got10k 0.1.3 and vot-toolkit 0.9.0 packages (extra `crosscheck`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siambench.datasets import Dataset, Sequence
from siambench.evaluate import evaluate
from siambench.results import ResultStore

pytestmark = pytest.mark.crosscheck


def _track(gt: np.ndarray, rng: np.random.Generator, drift: float) -> np.ndarray:
    """A noisy tracker that drifts away now and then (frame 0 is the ground truth, as in got10k)."""
    noise = rng.normal(0, drift, gt.shape) * np.array([1, 1, 0.5, 0.5])
    pred = gt + noise
    lost = rng.random(len(gt)) < 0.1
    pred[lost, :2] += rng.uniform(30, 80, (lost.sum(), 2))
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    pred[0] = gt[0]
    return pred


def _otb_sequences(rng, n=6):
    seqs = []
    for i in range(n):
        length = int(rng.integers(40, 90))
        xy = np.cumsum(rng.normal(0, 3, (length, 2)), 0) + 100
        wh = np.abs(np.cumsum(rng.normal(0, 0.5, (length, 2)), 0)) + rng.uniform(15, 50, 2)
        seqs.append(Sequence(f"seq{i}", [], np.hstack([xy, wh])))
    return seqs


def test_otb_metrics_equal_got10k(tmp_path: Path):
    pytest.importorskip("got10k", reason="got10k 0.1.3 not installed (pip install .[crosscheck])")
    from got10k.experiments.otb import ExperimentOTB

    rng = np.random.default_rng(7)
    seqs = _otb_sequences(rng)
    store = ResultStore(tmp_path / "results", "SYN", "noisy")
    got_dir = tmp_path / "got10k" / "noisy"
    got_dir.mkdir(parents=True)
    for s in seqs:
        pred = _track(s.groundtruth, rng, 6.0)
        store.write_ope(s.name, pred)
        np.savetxt(got_dir / f"{s.name}.txt", pred, delimiter=",")

    class _Data:
        seq_names = [s.name for s in seqs]

        def __len__(self):
            return len(seqs)

        def __iter__(self):
            return iter((None, s.groundtruth) for s in seqs)

    exp = object.__new__(ExperimentOTB)
    exp.dataset, exp.nbins_iou, exp.nbins_ce = _Data(), 21, 51
    exp.result_dir, exp.report_dir = str(tmp_path / "got10k"), str(tmp_path / "reports")
    exp.plot_curves = lambda names: None  # its plots are not under test
    ref = exp.report(["noisy"])["noisy"]

    ds = Dataset("syn", "ope", "SYN", seqs)
    ours = evaluate(ds, tmp_path / "results")["trackers"]["noisy"]
    assert ours["overall"]["auc"] == pytest.approx(ref["overall"]["success_score"], abs=1e-12)
    assert ours["overall"]["precision"] == pytest.approx(ref["overall"]["precision_score"], abs=1e-12)
    np.testing.assert_allclose(ours["overall"]["curves"]["success"], ref["overall"]["success_curve"], atol=1e-12)
    for name, seq in ref["seq_wise"].items():
        assert ours["sequences"][name]["auc"] == pytest.approx(seq["success_score"], abs=1e-12)


def _vot_sequences(rng, n=5, size=(320, 240)):
    seqs = []
    for i in range(n):
        length = int(rng.integers(150, 260))
        c = np.cumsum(rng.normal(0, 2, (length, 2)), 0) + np.array(size) / 2
        half = rng.uniform(10, 30, 2)
        ang = np.cumsum(rng.normal(0, 0.02, length))
        corners = []
        for k, (sx, sy) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
            del k
            dx, dy = sx * half[0], sy * half[1]
            corners += [c[:, 0] + dx * np.cos(ang) - dy * np.sin(ang), c[:, 1] + dx * np.sin(ang) + dy * np.cos(ang)]
        gt = np.stack(corners, 1)
        tags = {"occlusion": (rng.random(length) < 0.2).astype(np.int8)}
        seqs.append(Sequence(f"vseq{i}", [], gt, size[0], size[1], tags))
    return seqs


def _supervised_run(seq: Sequence, rng) -> list[np.ndarray]:
    """Reset protocol driven by vot-toolkit's failure rule on a drifting box tracker."""
    from siambench.regions import polygon_to_rect, vot_overlap

    out, frame, start = [], 0, 0
    n = len(seq)
    while frame < n:
        if frame == start:
            out.append(np.array([1.0]))
            frame += 1
            continue
        box = polygon_to_rect(seq.groundtruth[frame]) + np.r_[rng.normal(0, 3, 2), 0, 0]
        if rng.random() < 0.02:
            box[:2] += 200  # a jump off the target
        if vot_overlap(box, seq.groundtruth[frame], (seq.width, seq.height)) > 0:
            out.append(box)
            frame += 1
        else:
            out.append(np.array([2.0]))
            skip = min(n, frame + 5)
            out.extend(np.array([0.0]) for _ in range(frame + 1, skip))
            frame = start = skip
    return out[:n]


def test_vot_toolkit_variant_equals_vot_toolkit_analyses(tmp_path: Path):
    pytest.importorskip("vot", reason="vot-toolkit 0.9.0 not installed (pip install .[crosscheck])")
    from siambench.metrics.votkit_reference import supervised_analyses

    rng = np.random.default_rng(11)
    seqs = _vot_sequences(rng)
    store = ResultStore(tmp_path, "SYN", "drift")
    for s in seqs:
        for r in (1, 2):
            store.write_supervised(s.name, r, _supervised_run(s, rng))
    # read back what was written (4-decimal files), so both sides see the same numbers
    trajs = {s.name: store.read_vot(s.name) for s in seqs}
    ref = supervised_analyses(seqs, trajs)
    per_seq, agg, curve = ref["per_sequence"], ref["aggregated"], ref["eao_curve"]
    low, high = 20, 120

    ds = Dataset("syn", "supervised", "SYN", seqs, eao_interval=(low, high))
    ours = evaluate(ds, tmp_path, variant="vot-toolkit")["trackers"]["drift"]
    assert ours["overall"]["accuracy"] == pytest.approx(agg[0], abs=1e-9)
    assert ours["overall"]["weighted_failures"] == pytest.approx(agg[1], abs=1e-9)
    np.testing.assert_allclose(ours["overall"]["curves"]["eao"], curve, atol=1e-6)
    assert ours["overall"]["eao"] == pytest.approx(float(np.mean(curve[low : high + 1])), abs=1e-6)
    for (a, f, _, _), s in zip(per_seq, seqs):
        assert ours["sequences"][s.name]["accuracy"] == pytest.approx(a, abs=1e-9)
        assert ours["sequences"][s.name]["failures"] == pytest.approx(f)


def test_got10k_variant_equals_got10k_experiment(tmp_path: Path):
    pytest.importorskip("got10k", reason="got10k 0.1.3 not installed (pip install .[crosscheck])")
    from got10k.experiments.got10k import ExperimentGOT10k

    rng = np.random.default_rng(11)
    size = (160, 120)  # small frames: boxes run over the border, where got10k clips them
    seqs = []
    for s in _otb_sequences(rng, n=5):
        cover = rng.integers(0, 9, len(s.groundtruth))
        cover[rng.random(len(cover)) < 0.7] = 8  # mostly visible, with hidden (0) frames between
        seqs.append(Sequence(s.name, [], s.groundtruth * 0.8, size[0], size[1], cover=cover.astype(np.int8)))
    store = ResultStore(tmp_path / "results", "GOT", "noisy")
    for s in seqs:
        pred = _track(s.groundtruth, rng, 8.0)
        store.write_ope(s.name, pred)
        folder = tmp_path / "got10k" / "noisy" / s.name
        folder.mkdir(parents=True)
        np.savetxt(folder / f"{s.name}_001.txt", pred, delimiter=",")
        np.savetxt(folder / f"{s.name}_time.txt", np.full(len(pred), 0.01))

    class _Data:
        seq_names = [s.name for s in seqs]

        def _item(self, s):
            return None, s.groundtruth, {"resolution": str(size), "cover": s.cover.astype(float)}

        def __getitem__(self, i):
            return self._item(seqs[i] if isinstance(i, int) else next(s for s in seqs if s.name == i))

        def __iter__(self):
            return (self._item(s) for s in seqs)

    exp = object.__new__(ExperimentGOT10k)
    exp.dataset, exp.subset, exp.nbins_iou = _Data(), "val", 101
    exp.result_dir, exp.report_dir = str(tmp_path / "got10k"), str(tmp_path / "reports")
    exp.plot_curves = lambda files, names: None  # its plots are not under test
    ref = exp.report(["noisy"])["noisy"]

    ds = Dataset("syn", "ope", "GOT", seqs)
    ours = evaluate(ds, tmp_path / "results", variant="got10k")["trackers"]["noisy"]
    assert ours["overall"]["ao"] == pytest.approx(ref["overall"]["ao"], abs=1e-12)
    assert ours["overall"]["sr50"] == pytest.approx(ref["overall"]["sr"], abs=1e-12)
    np.testing.assert_allclose(ours["overall"]["curves"]["success_got10k"], ref["overall"]["succ_curve"],
                               atol=1e-12)
    for name, seq in ref["seq_wise"].items():
        assert ours["sequences"][name]["ao"] == pytest.approx(seq["ao"], abs=1e-12)
        assert ours["sequences"][name]["sr50"] == pytest.approx(seq["sr"], abs=1e-12)
    assert 0 < ours["overall"]["sr75"] < ours["overall"]["sr50"]
