"""Commands that write files check their targets before any work, and write through textio.

`eval`, `report` and `tune` have theirs in their own test files; here `train`, `export-got10k`,
`vot-integration` and `import-vot`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import run_cli


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A file where the commands are told a folder is."""
    path = tmp_path / "blocker"
    path.write_text("a file where a folder should be")
    return path


def _one_line_in_the_way(code: int, err: str, blocker: Path) -> None:
    assert code == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert f"{blocker}: cannot write: a file is in the way" in err


def _never(*args, **kwargs):
    raise AssertionError("work started before the output was checked")


def test_train_checks_its_weights_file_before_rendering_data(blocker, capsys, monkeypatch):
    import siambench.training.data
    import siambench.training.loop

    monkeypatch.setattr(siambench.training.data, "load_sequences", _never)
    monkeypatch.setattr(siambench.training.loop, "train", _never)
    code, _, err = run_cli(["train", "-t", "siamfc-demo", "--device", "cpu",
                            "--out", str(blocker / "w.pth")], capsys)
    _one_line_in_the_way(code, err, blocker)


def test_saving_weights_turns_os_errors_into_the_one_line_error(blocker):
    import torch

    from siambench.errors import InputError
    from siambench.training.loop import save_weights

    with pytest.raises(InputError, match=f"{blocker / 'w.pth'}: cannot write"):
        save_weights(torch.nn.Linear(2, 2), blocker / "w.pth", {})


def _got10k_results(root: Path) -> None:
    folder = root / "GOT-10k" / "mine"
    folder.mkdir(parents=True)
    (folder / "GOT-10k_Val_000001.txt").write_text("1,2,3,4\n2,3,4,5\n")
    (folder / "GOT-10k_Val_000001_time.txt").write_text("0.01\n0.02\n")


def test_export_got10k_checks_its_folder_first(tmp_path, blocker, capsys):
    _got10k_results(tmp_path / "results")
    code, _, err = run_cli(["export-got10k", "-t", "mine", "--results-dir", str(tmp_path / "results"),
                            "--out", str(blocker / "submission")], capsys)
    _one_line_in_the_way(code, err, blocker)


def test_export_got10k_writes_through_the_atomic_writer(tmp_path, capsys, monkeypatch):
    import siambench.textio

    _got10k_results(tmp_path / "results")
    out = tmp_path / "submission"
    code, _, _ = run_cli(["export-got10k", "-t", "mine", "--results-dir", str(tmp_path / "results"),
                          "--out", str(out)], capsys)
    written = out / "mine" / "GOT-10k_Val_000001" / "GOT-10k_Val_000001_001.txt"
    assert code == 0 and written.read_text() == "1.000,2.000,3.000,4.000\n2.000,3.000,4.000,5.000\n"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(siambench.textio.os, "fsync", disk_full)
    code, _, err = run_cli(["export-got10k", "-t", "mine", "--results-dir", str(tmp_path / "results"),
                            "--out", str(tmp_path / "again")], capsys)
    assert code == 2 and "cannot write (No space left on device)" in err and "Traceback" not in err


def test_vot_integration_checks_its_folder_first(blocker, capsys):
    code, _, err = run_cli(["vot-integration", "-t", "opencv-mil", "--out", str(blocker / "ws")], capsys)
    _one_line_in_the_way(code, err, blocker)


def test_import_vot_checks_the_results_folder_before_reading(tmp_path, blocker, capsys):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    code, _, err = run_cli(["import-vot", "--workspace", str(workspace), "-t", "x", "-d", "demo-vot",
                            "--results-dir", str(blocker / "results")], capsys)
    _one_line_in_the_way(code, err, blocker)


def test_vot_integration_checks_everything_before_writing_anything(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIAMBENCH_WEIGHTS", str(tmp_path / "no-weights"))
    out = tmp_path / "ws"
    code, _, err = run_cli(["vot-integration", "-t", "siamfc", "--out", str(out)], capsys)
    assert code == 2 and "weights for tracker 'siamfc' not found" in err  # not later, inside the toolkit
    not_vot = tmp_path / "otb"
    not_vot.mkdir()
    code, _, err = run_cli(["vot-integration", "-t", "opencv-mil", "--out", str(out), "--sequences", str(not_vot)],
                           capsys)
    assert code == 2 and "list.txt: not found" in err
    assert not out.exists() or not any(out.iterdir())  # no wrapper, no trackers.ini entry


@pytest.mark.parametrize("in_the_way", ["{seq}.txt", "{seq}_time.txt", ".siambench.json", "file:"])
def test_a_folder_where_a_result_goes_fails_the_run_before_tracking(tmp_path, isolated_registry, in_the_way):
    from siambench.datasets import load_dataset
    from siambench.errors import InputError
    from siambench.runner import run
    from siambench.synth import generate
    from siambench.trackers.base import Tracker, TrackResult

    class Counting(Tracker):
        calls = 0

        def init(self, frame, box):
            self.box = box

        def track(self, frame):
            Counting.calls += 1
            return TrackResult(self.box, 1.0)

    isolated_registry("counting", lambda spec: Counting())
    generate(tmp_path / "O", layout="otb", sequences=1, frames=5, size=(64, 48))
    seq = load_dataset(str(tmp_path / "O")).names[0]
    folder = tmp_path / "r" / "O" / "counting"
    if in_the_way == "file:":  # a file where the tracker's results folder goes
        folder.parent.mkdir(parents=True)
        folder.write_text("")
    else:
        (folder / in_the_way.format(seq=seq)).mkdir(parents=True)
    with pytest.raises(InputError, match="is in the way|cannot"):
        run("counting", str(tmp_path / "O"), results_dir=tmp_path / "r", device="cpu", progress=False)
    assert Counting.calls == 0
