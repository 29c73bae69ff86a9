"""Results integrity: the ledger decides which files are scored; reruns, imports and concurrent
runs leave a folder whose files and ledger agree (issue: never a wrong score)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from siambench.errors import InputError
from siambench.evaluate import evaluate
from siambench.ledger import LEDGER_NAME, FolderBusyError, Ledger, file_sha256
from siambench.results import ResultStore
from siambench.runner import run
from siambench.synth import generate
from siambench.trackers.base import Tracker, TrackResult

N_FRAMES = 20


class Drift(Tracker):
    """Moves its box by `hyper.step` px per frame, so specs with other steps give other files."""

    def __init__(self, step: float) -> None:
        self.step = step

    def init(self, frame, box):
        self.box = np.asarray(box, dtype=float)

    def track(self, frame):
        self.box = self.box + [self.step, 0, 0, 0]
        return TrackResult(self.box.copy(), 1.0)


@pytest.fixture
def drift(isolated_registry):
    """Register `drift` (step from the spec) and return a function that re-registers a step."""

    def with_step(step: float) -> None:
        isolated_registry("drift", lambda spec: Drift(spec.hyper.get("step", 0.0)), hyper={"step": step})

    with_step(0.0)
    return with_step


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo-vot", layout="vot", sequences=2, frames=N_FRAMES, size=(96, 72))
    generate(root / "demo", layout="otb", sequences=2, frames=N_FRAMES, size=(96, 72))
    return root


def _vot_run(data_root, results, **kwargs):
    return run("drift", "demo-vot", data_root=data_root, results_dir=results, device="cpu", progress=False,
               **kwargs)


def _rep_files(results: Path, seq: str) -> list[str]:
    return sorted(p.name for p in (results / "demo-vot" / "drift" / "baseline" / seq).glob("*_0*.txt"))


def _eval_vot(data_root, results, strict=False):
    return evaluate("demo-vot", results_dir=results, data_root=data_root, strict=strict)["trackers"]["drift"]


# ------------------------------------------------------------------ reruns supersede


def test_rerun_with_fewer_repetitions_removes_the_superseded_ones(drift, data_root, tmp_path):
    _vot_run(data_root, tmp_path, repetitions=3)
    assert _rep_files(tmp_path, "occlusion1") == [f"occlusion1_00{i}.txt" for i in (1, 2, 3)]
    summary = _vot_run(data_root, tmp_path, repetitions=1)
    assert summary.sequences_skipped == ["occlusion1", "clutter1"]
    assert len(summary.removed_files) == 4 and "superseded" in summary.format()
    assert _rep_files(tmp_path, "occlusion1") == ["occlusion1_001.txt"]
    entry = Ledger(tmp_path / "demo-vot" / "drift").entry("supervised", "occlusion1")
    assert entry["repetitions"] == [1] and list(entry["files"]) == ["1"]
    assert _eval_vot(data_root, tmp_path, strict=True)["overall"]["repetitions"] == 1


def test_rerun_with_other_settings_and_fewer_repetitions_leaves_only_the_new_run(drift, data_root, tmp_path):
    _vot_run(data_root, tmp_path, repetitions=2)
    drift(1.0)  # another spec: another run key
    summary = _vot_run(data_root, tmp_path, repetitions=1)
    assert summary.sequences_run == ["occlusion1", "clutter1"]
    assert _rep_files(tmp_path, "clutter1") == ["clutter1_001.txt"]
    ledger = Ledger(tmp_path / "demo-vot" / "drift")
    assert {ledger.entry("supervised", s)["key"] for s in ("occlusion1", "clutter1")} == {summary.run_key}


def test_an_edited_result_is_an_error_for_eval_and_rerun_by_run(drift, data_root, tmp_path):
    _vot_run(data_root, tmp_path)
    path = ResultStore(tmp_path, "demo-vot", "drift").vot_path("occlusion1")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "0.0000,0.0000,1.0000,1.0000", *lines[2:]]) + "\n")  # edited by hand
    # not a warning: a gate fed these scores would pass whatever the edit did
    with pytest.raises(InputError, match="hash differs from the ledger's.*delete .siambench.json"):
        _eval_vot(data_root, tmp_path)
    summary = _vot_run(data_root, tmp_path)
    assert summary.sequences_run == ["occlusion1"]
    _eval_vot(data_root, tmp_path, strict=True)  # consistent again


def test_results_of_two_runs_under_one_tracker_name_are_an_error(drift, data_root, tmp_path):
    _vot_run(data_root, tmp_path, sequences=["occlusion1"])
    drift(2.0)  # another spec, run on the other sequence only
    _vot_run(data_root, tmp_path, sequences=["clutter1"])
    with pytest.raises(InputError, match=r"results of 2 different runs .*e\.g\. (occlusion1|clutter1).*"
                                         r"rerun `siambench run`"):
        _eval_vot(data_root, tmp_path)
    _vot_run(data_root, tmp_path)  # the current spec redoes occlusion1: one run again
    assert _eval_vot(data_root, tmp_path)["overall"]["sequences_scored"] == 2


def test_reduced_precision_is_part_of_the_run_key(drift):
    import hashlib

    from siambench.runner import run_key
    from siambench.trackers.registry import load_spec

    spec = load_spec("drift")
    fp32, info = run_key(spec, None, random_init=True)
    bf16, _ = run_key(spec, None, random_init=True, precision="bf16")
    assert bf16 != fp32 and info["precision"] == "fp32"
    # fp32 keeps the key that runs recorded before precision was part of it
    assert fp32 == hashlib.sha256(f"{spec.spec_hash()}|random-init".encode()).hexdigest()[:16]


# ------------------------------------------------------------------ completeness counts


def _cut(path: Path, keep: int) -> None:
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:keep]))


@pytest.mark.parametrize("variant", ["pysot", "vot-toolkit"])
def test_a_shortened_supervised_file_lowers_the_frame_count(data_root, tmp_path, variant):
    root = _foreign_vot(tmp_path, data_root, {})
    full = evaluate("demo-vot", results_dir=tmp_path, data_root=data_root, variant=variant)
    _cut(root / "clutter1" / "clutter1_001.txt", N_FRAMES // 2)
    cut = evaluate("demo-vot", results_dir=tmp_path, data_root=data_root, variant=variant)
    frames = [s["trackers"]["other"]["overall"]["frames"] for s in (full, cut)]
    assert frames == [2 * N_FRAMES, 2 * N_FRAMES - N_FRAMES // 2]


def test_a_shortened_unsupervised_file_lowers_the_frame_count(data_root, tmp_path):
    root = _foreign_vot(tmp_path, data_root, {})
    unsup = root.parent / "unsupervised"
    shutil.copytree(root, unsup)
    full = _eval_foreign(data_root, tmp_path)
    _cut(unsup / "clutter1" / "clutter1_001.txt", N_FRAMES // 2)
    # AO averages whatever frames a file has, so only the count can show the loss
    assert _eval_foreign(data_root, tmp_path)["frames"] == full["frames"] - N_FRAMES // 2


def test_a_lost_baseline_repetition_counts_beside_a_complete_unsupervised_experiment(data_root, tmp_path):
    root = _foreign_vot(tmp_path, data_root, {"occlusion1": 3, "clutter1": 3})
    unsup = root.parent / "unsupervised"
    unsup.mkdir()
    for seq in ("occlusion1", "clutter1"):
        (unsup / seq).mkdir()
        shutil.copy(root / seq / f"{seq}_001.txt", unsup / seq / f"{seq}_001.txt")
    full = _eval_foreign(data_root, tmp_path)
    assert full["frames"] == (6 + 2) * N_FRAMES  # both experiments' lines, not the lesser count
    (root / "clutter1" / "clutter1_003.txt").unlink()
    assert _eval_foreign(data_root, tmp_path)["frames"] == full["frames"] - N_FRAMES


def test_a_shortened_realtime_file_lowers_the_frame_count_and_a_foreign_realtime_folder_is_scored(
        data_root, tmp_path):
    root = _foreign_vot(tmp_path, data_root, {})
    realtime = root.parent / "realtime"
    shutil.copytree(root, realtime)
    full = _eval_foreign(data_root, tmp_path)
    assert full["realtime_eao"] == full["eao"] and full["frames"] == 4 * N_FRAMES
    _cut(realtime / "clutter1" / "clutter1_001.txt", N_FRAMES // 2)
    assert _eval_foreign(data_root, tmp_path)["frames"] == full["frames"] - N_FRAMES // 2


def test_import_vot_brings_the_realtime_experiment(data_root, tmp_path):
    from siambench.interop.vot_integration import import_vot

    workspace = tmp_path / "ws"
    _foreign_vot(tmp_path / "src", data_root, {})
    for experiment in ("baseline", "realtime"):
        shutil.copytree(tmp_path / "src" / "demo-vot" / "other" / "baseline", workspace / "results" / "T" / experiment)
    imported = import_vot(workspace, "T", "demo-vot", results_dir=tmp_path / "results", data_root=data_root)
    assert sorted(imported) == ["baseline", "realtime"]
    overall = evaluate("demo-vot", results_dir=tmp_path / "results", data_root=data_root,
                       strict=True)["trackers"]["T"]["overall"]
    assert overall["realtime_eao"] == overall["eao"]


def test_a_deleted_repetition_lowers_the_frame_count(data_root, tmp_path, caplog):
    root = _foreign_vot(tmp_path, data_root, {"occlusion1": 3, "clutter1": 3})
    full = _eval_foreign(data_root, tmp_path)
    (root / "clutter1" / "clutter1_003.txt").unlink()
    assert _eval_foreign(data_root, tmp_path)["frames"] == full["frames"] - N_FRAMES == 5 * N_FRAMES


def _eval_foreign(data_root, results):
    return evaluate("demo-vot", results_dir=results, data_root=data_root)["trackers"]["other"]["overall"]


# ------------------------------------------------------------------ eval scores the ledger's files


def test_eval_ignores_result_files_the_ledger_does_not_list(drift, data_root, tmp_path, caplog):
    _vot_run(data_root, tmp_path)
    before = _eval_vot(data_root, tmp_path)["overall"]
    folder = tmp_path / "demo-vot" / "drift" / "baseline" / "occlusion1"
    # A backup copy and a stray second repetition that no run wrote.
    (folder / "occlusion1_002.txt").write_text("1\n" + "0,0,1,1\n" * (N_FRAMES - 1))
    shutil.copy(folder / "occlusion1_001.txt", folder / "backup_001.txt")
    with caplog.at_level("WARNING", "siambench"):
        after = _eval_vot(data_root, tmp_path)["overall"]
    assert after["eao"] == before["eao"] and after["repetitions"] == 1
    assert "2 result file(s) not written by the run" in caplog.text
    with pytest.raises(InputError, match="not written by the run"):
        _eval_vot(data_root, tmp_path, strict=True)


def test_eval_of_an_ope_folder_reports_a_stray_file(drift, data_root, tmp_path):
    run("drift", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    root = tmp_path / "demo" / "drift"
    shutil.copy(next(root.glob("*[0-9].txt")), root / "old_copy.txt")
    with pytest.raises(InputError, match=r"not scored: old_copy.txt"):
        evaluate("demo", results_dir=tmp_path, data_root=data_root, strict=True)
    scores = evaluate("demo", results_dir=tmp_path, data_root=data_root)["trackers"]["drift"]["overall"]
    assert scores["sequences_scored"] == 2 and scores["frames"] == 2 * N_FRAMES


def _foreign_vot(results: Path, data_root: Path, copies: dict[str, int]) -> Path:
    """A results folder without a ledger (as another toolkit writes it): `copies` per sequence."""
    from siambench.datasets import load_dataset

    root = results / "demo-vot" / "other" / "baseline"
    for seq in load_dataset("demo-vot", root=data_root):
        folder = root / seq.name
        folder.mkdir(parents=True)
        boxes = seq.groundtruth[:, :4] if seq.groundtruth.shape[1] == 4 else None
        if boxes is None:
            xs, ys = seq.groundtruth[:, 0::2], seq.groundtruth[:, 1::2]
            boxes = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)], 1)
        # A weak tracker, different per sequence, so that weighting matters.
        shift = 6.0 if seq.name == "occlusion1" else 0.5
        lines = ["1"] + [",".join(f"{v:.4f}" for v in b + [shift * i / 4, 0, 0, 0])
                         for i, b in enumerate(boxes[1:], start=1)]
        for rep in range(1, copies.get(seq.name, 1) + 1):
            (folder / f"{seq.name}_{rep:03d}.txt").write_text("\n".join(lines) + "\n")
    return root


def test_unequal_repetition_counts_are_reported_and_do_not_reweight_eao(data_root, tmp_path, caplog):
    one = _foreign_vot(tmp_path / "one", data_root, {})
    many = _foreign_vot(tmp_path / "many", data_root, {"clutter1": 15})
    assert one.is_dir() and many.is_dir()
    ref = evaluate("demo-vot", results_dir=tmp_path / "one", data_root=data_root)["trackers"]["other"]["overall"]
    with caplog.at_level("WARNING", "siambench"):
        got = evaluate("demo-vot", results_dir=tmp_path / "many", data_root=data_root)["trackers"]["other"]
    assert "unequal repetition counts (1 for occlusion1, 15 for clutter1)" in caplog.text
    assert got["overall"]["eao"] == pytest.approx(ref["eao"], abs=1e-12)
    assert got["overall"]["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-12)
    with pytest.raises(InputError, match="unequal repetition counts"):
        evaluate("demo-vot", results_dir=tmp_path / "many", data_root=data_root, strict=True)


def test_foreign_folder_ignores_files_named_for_another_sequence(data_root, tmp_path, caplog):
    root = _foreign_vot(tmp_path, data_root, {})
    ref = evaluate("demo-vot", results_dir=tmp_path, data_root=data_root)["trackers"]["other"]["overall"]
    shutil.copy(root / "clutter1" / "clutter1_001.txt", root / "occlusion1" / "clutter1_002.txt")
    shutil.copy(root / "clutter1" / "clutter1_001.txt", root / "occlusion1" / "backup_001.txt")
    with caplog.at_level("WARNING", "siambench"):
        got = evaluate("demo-vot", results_dir=tmp_path, data_root=data_root)["trackers"]["other"]["overall"]
    assert "2 file(s) named for another sequence ignored (backup_001.txt, clutter1_002.txt)" in caplog.text
    assert got["eao"] == ref["eao"] and got["repetitions"] == 1


def test_two_spellings_of_one_result_file_are_an_error(tmp_path):
    store = ResultStore(tmp_path, "OTB100", "t")
    store.root.mkdir(parents=True)
    for name in ("jogging_1.txt", "JOGGING_1.txt"):
        (store.root / name).write_text("1,2,3,4\n")
    with pytest.raises(InputError, match="ambiguous result files for sequence 'Jogging-1'"):
        store.find_ope("Jogging-1")
    (store.root / "JOGGING-1.txt").write_text("1,2,3,4\n")  # the name in another case comes first
    assert store.find_ope("Jogging-1").name == "JOGGING-1.txt"


def test_a_file_in_another_case_is_its_own_sequences_not_a_spelling_of_another(tmp_path, caplog):
    from siambench.results import ResultIndex

    store = ResultStore(tmp_path, "UAV123", "t")
    store.root.mkdir(parents=True)
    names = ["car1_1", "car11", "bike1"]
    for name in ("Car11.txt", "bike1.txt"):
        (store.root / name).write_text("1,2,3,4\n")
    index = ResultIndex(store, names=names)
    assert index.ope("car11").name == "Car11.txt" and index.ope("car1_1") is None
    with caplog.at_level("WARNING", "siambench"):
        assert ResultIndex(store, strict=True, names=names).check_spellings(names) == []
    (store.root / "car1_1.txt").write_text("1,2,3,4\n")
    (store.root / "Car1_1.txt").unlink(missing_ok=True)
    assert index.ope("car1_1").name == "car1_1.txt" and index.ope("car11").name == "Car11.txt"
    assert ResultIndex(store, strict=True, names=names).check_spellings(names) == []  # nothing stray


@pytest.mark.parametrize("text, message", [
    ("0,0,5,5\n1\n", "expected 1 .initialisation. on the first line"),
    ("1\n2\n2\n", "expected 0 .skipped. or 1 .re-initialisation. after a failure, got 2"),
    ("1\n5,5,9,9\n0\n", "expected a skipped frame .0. only after a failure"),
])
def test_malformed_supervised_trajectories_are_errors(data_root, tmp_path, text, message):
    root = _foreign_vot(tmp_path, data_root, {})
    lines = text * (N_FRAMES // text.count("\n") + 1)
    (root / "occlusion1" / "occlusion1_001.txt").write_text("".join(lines.splitlines(True)[:N_FRAMES]))
    with pytest.raises(InputError, match=message):
        evaluate("demo-vot", results_dir=tmp_path, data_root=data_root)


def test_a_tracker_that_fails_on_every_frame_is_scored(data_root, tmp_path):
    root = _foreign_vot(tmp_path, data_root, {})
    for path in root.glob("*/*_001.txt"):
        n = len(path.read_text().splitlines())
        path.write_text("".join(f"{'1' if i % 6 == 0 else '2' if i % 6 == 1 else '0'}\n" for i in range(n)))
    scores = evaluate("demo-vot", results_dir=tmp_path, data_root=data_root, strict=True)["trackers"]["other"]
    assert scores["overall"]["failures"] > 0 and scores["overall"]["eao"] == pytest.approx(0.0, abs=1e-9)


def test_infinite_boxes_are_misses_with_a_warning_and_errors_with_strict(drift, data_root, tmp_path, caplog):
    run("drift", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    # A foreign copy of the folder (no ledger), with an infinite box on line 3.
    src, dst = tmp_path / "demo" / "drift", tmp_path / "demo" / "inf"
    shutil.copytree(src, dst)
    (dst / LEDGER_NAME).unlink()
    path = sorted(dst.glob("*[0-9].txt"))[0]
    lines = path.read_text().splitlines()
    lines[2] = "inf,1,2,3"
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level("WARNING", "siambench"):
        scores = evaluate("demo", results_dir=tmp_path, data_root=data_root, trackers=["inf"])
    assert f"{path}:3: infinity in 1 box(es); scored as misses" in caplog.text
    assert np.isfinite(scores["trackers"]["inf"]["overall"]["auc"])
    with pytest.raises(InputError, match="expected finite box values, got infinity"):
        evaluate("demo", results_dir=tmp_path, data_root=data_root, trackers=["inf"], strict=True)


# ------------------------------------------------------------------ imports


def test_reimporting_vot_results_leaves_no_old_repetitions(data_root, tmp_path):
    from siambench.interop.vot_integration import import_vot

    workspace = tmp_path / "ws"
    source = workspace / "results" / "T" / "baseline"
    _foreign_vot(tmp_path / "src", data_root, {"occlusion1": 3, "clutter1": 3})
    shutil.copytree(tmp_path / "src" / "demo-vot" / "other" / "baseline", source)
    results = tmp_path / "results"
    import_vot(workspace, "T", "demo-vot", results_dir=results, data_root=data_root)
    for seq in ("occlusion1", "clutter1"):
        for extra in (2, 3):
            (source / seq / f"{seq}_{extra:03d}.txt").unlink()
    import_vot(workspace, "T", "demo-vot", results_dir=results, data_root=data_root)
    folder = results / "demo-vot" / "T" / "baseline" / "occlusion1"
    assert sorted(p.name for p in folder.glob("*.txt")) == ["occlusion1_001.txt"]
    scores = evaluate("demo-vot", results_dir=results, data_root=data_root, strict=True)
    assert scores["trackers"]["T"]["overall"]["repetitions"] == 1


# ------------------------------------------------------------------ ledger format and locking


def test_a_format_1_ledger_still_resumes(drift, data_root, tmp_path):
    first = _vot_run(data_root, tmp_path)
    path = tmp_path / "demo-vot" / "drift" / LEDGER_NAME
    data = json.loads(path.read_text())
    old = {"format": 1, "keys": data["keys"],
           "runs": {"supervised": {s: {"key": e["key"], "repetitions": e["repetitions"]}
                                   for s, e in data["runs"]["supervised"].items()}}}
    path.write_text(json.dumps(old))
    again = _vot_run(data_root, tmp_path)
    assert again.sequences_skipped == first.sequences_run
    assert json.loads(path.read_text())["format"] == 1  # nothing to record: left as it was
    _eval_vot(data_root, tmp_path, strict=True)


def test_a_held_folder_fails_a_run_that_does_not_wait(drift, data_root, tmp_path):
    holder = Ledger(tmp_path / "demo-vot" / "drift")
    busy = pytest.raises(FolderBusyError, match=rf"pid {os.getpid()}.*another --results-dir")
    with holder.lock(), busy:
        _vot_run(data_root, tmp_path, wait=False)
    assert _vot_run(data_root, tmp_path, wait=False).sequences_run == ["occlusion1", "clutter1"]


class _FakeMsvcrt:
    """msvcrt.locking's contract, on flock: LK_NBLCK fails with EACCES on a held lock. Records
    each call's mode and file position; `refused` is set after three refusals."""

    LK_NBLCK, LK_UNLCK = 2, 0

    def __init__(self) -> None:
        import threading

        self.calls: list[tuple[int, int]] = []
        self.refusals = 0
        self.refused = threading.Event()

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        import errno
        import fcntl

        assert nbytes == 1
        self.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR)))
        try:
            fcntl.flock(fd, fcntl.LOCK_UN if mode == self.LK_UNLCK else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.refusals += 1
            if self.refusals >= 3:
                self.refused.set()
            raise PermissionError(errno.EACCES, "Permission denied") from None


@pytest.mark.skipif(os.name != "posix", reason="simulates msvcrt on POSIX flock")
def test_the_windows_lock_excludes_waits_and_names_the_holder(tmp_path, monkeypatch):
    import threading

    from siambench import ledger as ledger_module

    fake = _FakeMsvcrt()
    monkeypatch.setattr(ledger_module, "fcntl", None)
    monkeypatch.setattr(ledger_module, "msvcrt", fake)
    monkeypatch.setattr(ledger_module, "_WINDOWS_RETRY_S", 0.01)
    folder = tmp_path / "demo" / "T"
    pid = f"{os.getpid()}\n"
    waited, holding = [], threading.Event()

    def hold() -> None:
        with Ledger(folder).lock():
            holding.set()
            fake.refused.wait(5)  # let go only once the waiter has been refused a few times

    with Ledger(folder).lock():
        # the pid at the start of the file stays readable: the lock is on a byte far past it
        assert (folder / ".siambench.lock").read_text() == pid
        with pytest.raises(FolderBusyError, match=rf"pid {os.getpid()}"), Ledger(folder).lock(wait=False):
            pass
    assert {offset for _, offset in fake.calls} == {ledger_module._WINDOWS_LOCK_OFFSET}
    assert len(pid) < ledger_module._WINDOWS_LOCK_OFFSET  # never on the pid others read
    # every lock taken is given back explicitly (Windows may keep a region locked past a close)
    assert [mode for mode, _ in fake.calls].count(fake.LK_UNLCK) == 1
    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    with Ledger(folder).lock(on_wait=waited.append):  # retries until the holder lets go
        assert fake.refused.is_set()
    holder.join()
    assert waited and "waiting for another siambench process" in waited[0]
    assert [mode for mode, _ in fake.calls].count(fake.LK_UNLCK) == 3


@pytest.mark.skipif(os.name != "posix", reason="simulates msvcrt on POSIX flock")
def test_a_lock_that_fails_otherwise_is_an_error_not_a_wait(tmp_path, monkeypatch):
    import errno

    from siambench import ledger as ledger_module

    class NoLocks:  # a share that does not support byte-range locks
        LK_NBLCK, LK_UNLCK = 2, 0

        def locking(self, fd: int, mode: int, nbytes: int) -> None:
            raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(ledger_module, "fcntl", None)
    monkeypatch.setattr(ledger_module, "msvcrt", NoLocks())
    refused = pytest.raises(InputError, match=r"\.siambench\.lock: cannot lock the results folder")
    with refused, Ledger(tmp_path / "demo" / "T").lock():
        pass


def test_run_no_wait_is_a_one_line_error_while_the_folder_is_held(drift, data_root, tmp_path, capsys):
    with Ledger(tmp_path / "demo-vot" / "drift").lock():
        code, _, err = run_cli(["run", "-t", "drift", "-d", "demo-vot", "--data-root", str(data_root),
                                "--results-dir", str(tmp_path), "--device", "cpu", "--no-wait"], capsys)
    assert code == 2 and "another siambench process" in err and "Traceback" not in err


def test_a_results_folder_that_cannot_be_written_fails_before_tracking(drift, data_root, tmp_path):
    (tmp_path / "demo-vot").write_text("a file where the dataset's results folder goes")
    with pytest.raises(InputError, match="a file is in the way"):
        _vot_run(data_root, tmp_path)


def _finish_many(root: str, worker: int, count: int) -> None:
    ledger = Ledger(root)
    for i in range(count):
        seq = f"w{worker}s{i}"
        path = Path(root) / f"{seq}.txt"
        path.write_text(f"{worker},{i},1,1\n")
        ledger.finish("ope", seq, 1, f"key{worker}", {"worker": worker})


def test_concurrent_ledger_updates_lose_no_entry(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_finish_many, args=(str(root), w, 25)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    runs = Ledger(root).data["runs"]["ope"]
    assert len(runs) == 75
    assert all(file_sha256(root / e["files"]["1"]["path"]) == e["files"]["1"]["sha256"] for e in runs.values())


def _spec(tmp_path: Path, seed: int) -> Path:
    path = tmp_path / f"mil-{seed}.yaml"
    path.write_text(f"name: mil\nadapter: opencv-mil\ncheckpoint: null\nmodel: {{}}\nhyper: {{seed: {seed}}}\n")
    return path


@pytest.mark.slow
def test_two_run_processes_on_one_folder_leave_files_and_ledger_in_agreement(data_root, tmp_path):
    pytest.importorskip("cv2")
    results = tmp_path / "results"
    commands = [[sys.executable, "-m", "siambench", "run", "--tracker", str(_spec(tmp_path, seed)),
                 "--dataset", "demo", "--data-root", str(data_root), "--results-dir", str(results),
                 "--device", "cpu"] for seed in (0, 1)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = [tmp_path / f"err{i}.txt" for i in range(2)]
    # The test holds the folder until both runs are waiting for it, so they really contend.
    with Ledger(results / "demo" / "mil").lock():
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env=env)
                 for c, log in zip(commands, logs, strict=True)]
        deadline = time.monotonic() + 120
        while not all("waiting for another siambench process" in log.read_text() for log in logs):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                [log.read_text() for log in logs]
            time.sleep(0.2)
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [log.read_text() for log in logs]
    # One after the other, each under its own key: the second reran every sequence.
    assert all("2 sequence(s) run" in out for out in outputs), outputs
    ledger = Ledger(results / "demo" / "mil")
    entries = ledger.data["runs"]["ope"]
    assert len(entries) == 2 and len({e["key"] for e in entries.values()}) == 1
    for seq in entries:
        (path, digest), = ledger.files("ope", seq).values()
        assert file_sha256(path) == digest
    code_args = ["eval", "-d", "demo", "--data-root", str(data_root), "--results-dir", str(results), "--strict"]
    assert subprocess.run([sys.executable, "-m", "siambench", *code_args], capture_output=True).returncode == 0


def test_the_cli_turns_an_os_error_into_one_line(capsys, monkeypatch):
    import siambench.cli as cli

    def broken(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(cli.cli, "main", broken)
    code, _, err = run_cli(["eval"], capsys)
    assert code == 2 and err == "siambench: error: /some/file: Permission denied\n"


def test_submissions_carry_only_the_ledgers_files(drift, data_root, tmp_path, caplog):
    from siambench.interop.trackingnet import export_trackingnet

    run("drift", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    root = tmp_path / "demo" / "drift"
    shutil.copy(next(root.glob("*[0-9].txt")), root / "old_copy.txt")
    with caplog.at_level("WARNING", "siambench"):
        folder = export_trackingnet(tmp_path, "drift", tmp_path / "out", dataset="demo")
    assert "old_copy.txt" in caplog.text
    from siambench.datasets import load_dataset

    assert sorted(p.stem for p in folder.glob("*.txt")) == sorted(load_dataset("demo", root=data_root).names)


def test_an_exact_name_wins_and_a_spelling_beside_it_is_reported(tmp_path, caplog):
    from siambench.results import ResultIndex

    store = ResultStore(tmp_path, "OTB100", "t")
    store.root.mkdir(parents=True)
    # UAV123's car1_1 and car11 are two sequences whose names spell alike: each its own file
    for name in ("Jogging-1.txt", "jogging_1.txt", "car1_1.txt", "car11.txt"):
        (store.root / name).write_text("1,2,3,4\n")
    assert store.find_ope("Jogging-1").name == "Jogging-1.txt"
    assert store.find_ope("car1_1").name == "car1_1.txt" and store.find_ope("car11").name == "car11.txt"
    with caplog.at_level("WARNING", "siambench"):
        stray = ResultIndex(store).check_spellings(["Jogging-1", "car1_1", "car11"])
    assert [p.name for p in stray] == ["jogging_1.txt"]
    (store.root / "car1_1.txt").unlink()  # car11.txt is car11's, never car1_1's by spelling
    assert ResultIndex(store, names=["car1_1", "car11"]).ope("car1_1") is None
    assert "jogging_1.txt (spells Jogging-1)" in caplog.text
    with pytest.raises(InputError, match="spell a sequence whose result is another file"):
        ResultIndex(store, strict=True).check_spellings(["Jogging-1", "car1_1", "car11"])


def _tracker_dir(results: Path, folder: str, tracker: str) -> None:
    (results / folder / tracker).mkdir(parents=True)
    (results / folder / tracker / "Basketball.txt").write_text("1,2,3,4\n")


def test_a_tracker_is_found_in_any_of_its_datasets_folders(tmp_path, caplog):
    from siambench.results import list_trackers

    folders = ("OTB2013", "OTB100", "OTB2015")
    _tracker_dir(tmp_path, "OTB100", "SiamFC")
    _tracker_dir(tmp_path, "OTB2015", "SiamRPN")
    assert list_trackers(tmp_path, folders) == {"SiamFC": tmp_path / "OTB100", "SiamRPN": tmp_path / "OTB2015"}
    _tracker_dir(tmp_path, "OTB2013", "SiamFC")  # the dataset's own folder wins, the other is named
    with caplog.at_level("WARNING", "siambench"):
        assert list_trackers(tmp_path, folders)["SiamFC"] == tmp_path / "OTB2013"
    assert f"{tmp_path / 'OTB100' / 'SiamFC'}: not scored" in caplog.text
    _tracker_dir(tmp_path, "OTB100", "SiamRPN")  # two alias folders: either could be meant
    with pytest.raises(InputError, match="results of tracker 'SiamRPN' are also in .*OTB2015.*keep one"):
        list_trackers(tmp_path, folders)


def test_eval_reports_speed_from_the_time_files_and_no_gate_compares_it(drift, data_root, tmp_path, caplog):
    from siambench.scores import flatten, parse_scores

    run("drift", "demo", data_root=data_root, results_dir=tmp_path, device="cpu", progress=False)
    root = tmp_path / "demo" / "drift"
    times = sorted(root.glob("*_time.txt"))
    assert len(times) == 2
    times[0].write_text("0.5\n" * N_FRAMES)
    times[1].write_text("0\n" + "0.25\n" * (N_FRAMES - 1))  # an untimed frame is left out
    scores = evaluate("demo", results_dir=tmp_path, data_root=data_root)
    drift_scores = scores["trackers"]["drift"]
    per_sequence = sorted(v["fps"] for v in drift_scores["sequences"].values())
    assert per_sequence == [pytest.approx(2.0), pytest.approx(4.0)]
    assert drift_scores["overall"]["fps"] == pytest.approx((2 * N_FRAMES - 1) / (0.5 * N_FRAMES + 0.25 * (N_FRAMES - 1)))
    assert "fps" not in {e.metric for e in flatten(parse_scores(scores, "x"))}
    times[0].write_text("fast\n")
    with caplog.at_level("WARNING", "siambench"):
        again = evaluate("demo", results_dir=tmp_path, data_root=data_root)["trackers"]["drift"]
    assert "no speed for" in caplog.text and again["overall"]["auc"] == drift_scores["overall"]["auc"]


def test_a_nan_region_scores_as_a_miss_in_eao_too(data_root, tmp_path):
    scores = {}
    for name, line in (("nan", "nan,nan,nan,nan"), ("miss", "0,0,1,1")):
        root = _foreign_vot(tmp_path / name, data_root, {})
        path = root / "clutter1" / "clutter1_001.txt"
        lines = path.read_text().splitlines()
        lines[5] = line  # a run without failures: the branch that kept the NaN
        path.write_text("\n".join(lines) + "\n")
        scores[name] = evaluate("demo-vot", results_dir=tmp_path / name, data_root=data_root)["trackers"]["other"]
    assert scores["nan"]["overall"]["eao"] == pytest.approx(scores["miss"]["overall"]["eao"], abs=1e-12)
    assert np.isfinite(scores["nan"]["overall"]["curves"]["eao"]).all()


@pytest.mark.parametrize("damage", [b'{"format": 2, "ru', b"", b"[]", b"\xff\xfe{}"])
def test_a_damaged_ledger_is_an_error_for_eval_and_set_aside_by_run(drift, data_root, tmp_path, caplog, damage):
    _vot_run(data_root, tmp_path)
    path = tmp_path / "demo-vot" / "drift" / LEDGER_NAME
    path.write_bytes(damage)
    with pytest.raises(InputError, match=r"\.siambench\.json: results ledger .*cannot be told"):
        _eval_vot(data_root, tmp_path)
    with caplog.at_level("WARNING", "siambench"):
        summary = _vot_run(data_root, tmp_path, sequences=["occlusion1"])
    assert "kept as .siambench.json.damaged" in caplog.text and summary.sequences_run == ["occlusion1"]
    assert "nothing it listed counts as done" in caplog.text
    assert path.with_name(LEDGER_NAME + ".damaged").read_bytes() == damage
    # clutter1's file is no longer vouched for: reported, not scored, until it is run again
    assert _eval_vot(data_root, tmp_path)["overall"]["sequences_scored"] == 1
    assert _vot_run(data_root, tmp_path).sequences_run == ["clutter1"]


def test_a_ledger_of_a_newer_format_is_refused_not_overwritten(drift, data_root, tmp_path):
    _vot_run(data_root, tmp_path)
    path = tmp_path / "demo-vot" / "drift" / LEDGER_NAME
    path.write_text('{"format": 99, "runs": {}}')
    for action in (lambda: _eval_vot(data_root, tmp_path), lambda: _vot_run(data_root, tmp_path)):
        with pytest.raises(InputError, match="format 99, which this siambench"):
            action()
    assert json.loads(path.read_text())["format"] == 99


@pytest.mark.parametrize("damage", ['{"format": 2, "runs": {"supervised": []}}',
                                    '{"format": 2, "runs": {"supervised": {"occlusion1": {"key": "k", '
                                    '"files": {"1": {"path": "baseline/occlusion1/occlusion1_001.txt"}}}}}}',
                                    '{"runs": {}}'])
def test_a_ledger_of_the_wrong_shape_is_damaged_not_a_traceback(drift, data_root, tmp_path, damage):
    _vot_run(data_root, tmp_path)
    (tmp_path / "demo-vot" / "drift" / LEDGER_NAME).write_text(damage)
    with pytest.raises(InputError, match="results ledger (malformed|of no known format)"):
        _eval_vot(data_root, tmp_path)
    assert _vot_run(data_root, tmp_path).sequences_run == ["occlusion1", "clutter1"]


def test_a_run_that_fails_its_checks_leaves_a_damaged_ledger_in_place(drift, data_root, tmp_path):
    _vot_run(data_root, tmp_path)
    path = tmp_path / "demo-vot" / "drift" / LEDGER_NAME
    path.write_text('{"format": 2, "ru')
    blocker = path.parent / "baseline" / "clutter1" / "clutter1_time.txt"
    blocker.unlink()
    blocker.mkdir()  # a folder in the way: the run stops before tracking
    with pytest.raises(InputError, match="a folder is in the way"):
        _vot_run(data_root, tmp_path)
    # still damaged, so eval still refuses the folder instead of scoring its files as foreign ones
    with pytest.raises(InputError, match="cannot be told"):
        _eval_vot(data_root, tmp_path)


def test_a_file_where_a_sequence_folder_goes_fails_before_tracking(drift, data_root, tmp_path):
    folder = tmp_path / "demo-vot" / "drift" / "baseline"
    folder.mkdir(parents=True)
    (folder / "occlusion1").write_text("")
    with pytest.raises(InputError, match="baseline/occlusion1: a file is in the way of a folder"):
        _vot_run(data_root, tmp_path, sequences=["occlusion1"])


def test_setting_a_damaged_ledger_aside_leaves_an_empty_one_and_keeps_earlier_copies(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    path = root / LEDGER_NAME
    warnings = []
    for damage in ("first", "second"):
        path.write_text(damage)
        ledger = Ledger(root)
        with ledger.lock():
            ledger.set_aside_if_damaged(warnings.append)
        # a ledger listing nothing at once: a run failing before its first result leaves no
        # folder without a ledger, whose old files eval would score as foreign results
        assert json.loads(path.read_text())["runs"] == {}
    assert (root / f"{LEDGER_NAME}.damaged").read_text() == "first"
    assert (root / f"{LEDGER_NAME}.damaged.1").read_text() == "second"
    assert len(warnings) == 2
