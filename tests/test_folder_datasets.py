"""A dataset siambench does not know by name: a folder in the VOT or OTB layout, scored as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run_cli

from siambench.datasets import load_dataset
from siambench.datasets.folder import estimate_eao_interval, is_folder_name
from siambench.errors import InputError, SiambenchError
from siambench.synth import generate
from siambench.trackers.base import Tracker, TrackResult


class Still(Tracker):
    """Keeps its first box: results to score, whatever their value."""

    def init(self, frame, box):
        self.box = box

    def track(self, frame):
        return TrackResult(self.box, 1.0)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mine")
    generate(root / "MyVOT", layout="vot", sequences=2, frames=20, size=(96, 72))
    generate(root / "MyOTB", layout="otb", sequences=2, frames=20, size=(96, 72))
    return root


def test_a_folder_is_read_in_its_layout_and_named_after_itself(folders):
    vot = load_dataset(str(folders / "MyVOT"))
    assert (vot.name, vot.protocol, vot.results_name, len(vot)) == ("MyVOT", "supervised", "MyVOT", 2)
    assert vot.eao_interval == (20, 20)  # every sequence 20 frames long
    otb = load_dataset(str(folders / "MyOTB"))
    assert (otb.name, otb.protocol, len(otb)) == ("MyOTB", "ope", 2)
    with pytest.raises(InputError, match="not a dataset folder: expected the VOT layout"):
        load_dataset(str(folders))
    with pytest.raises(SiambenchError, match="--attributes"):
        load_dataset(str(folders / "MyOTB"), attributes="otb2013")


def test_a_registered_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert not is_folder_name("demo") and is_folder_name("./demo") and not is_folder_name("nosuch")


def test_two_target_sequences_of_an_otb_folder_keep_otb100s_names(tmp_path):
    for name in ("Jogging", "Human4"):
        (tmp_path / "OTB" / name).mkdir(parents=True)
    for rel in ("Jogging/groundtruth_rect.1.txt", "Jogging/groundtruth_rect.2.txt", "Human4/groundtruth_rect.2.txt"):
        (tmp_path / "OTB" / rel).write_text("1,2,3,4\n" * 3)
    assert load_dataset(str(tmp_path / "OTB")).names == ["Human4-2", "Jogging-1", "Jogging-2"]


def test_the_eao_interval_estimate_recovers_vot2018s(shared_data):
    if not (shared_data / "VOT2018").is_dir():
        pytest.skip("VOT2018 annotations missing (SIAMBENCH_SHARED)")
    lengths = [len(s) for s in load_dataset("vot2018", shared_data)]
    assert estimate_eao_interval(lengths) == (100, 357)  # published: [100, 356]
    assert estimate_eao_interval([50]) == (50, 50)
    low, high = estimate_eao_interval([5, 6, 7, 8, 9, 500, 600])  # two clusters: one range, not a span of both
    assert low < 10 and high < 500


def test_run_and_eval_a_folder_with_a_given_or_estimated_interval(folders, tmp_path, capsys, isolated_registry):
    from siambench.runner import run

    isolated_registry("still", lambda spec: Still())
    run("still", str(folders / "MyVOT"), results_dir=tmp_path, device="cpu", progress=False)
    assert (tmp_path / "MyVOT" / "still" / ".siambench.json").is_file()
    out = tmp_path / "s.json"
    args = ["eval", "-d", str(folders / "MyVOT"), "--results-dir", str(tmp_path), "--json", str(out)]
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "EAO interval [20, 20]: estimated from the sequence lengths" in err and "still" in stdout
    assert json.loads(out.read_text())["eao_interval"] == [20, 20]
    code, _, err = run_cli([*args, "--eao-interval", "5,15"], capsys)
    written = json.loads(out.read_text())
    assert code == 0 and written["eao_interval"] == [5, 15]
    assert written["variant"] == "pysot, EAO interval 5-15"  # another EAO: a gate never mixes the two
    for bad in ("15,5", "a,b", "0,3"):
        code, _, err = run_cli([*args, "--eao-interval", bad], capsys)
        assert code == 2 and "--eao-interval" in err and err.count("\n") == 1


def test_gate_scores_a_folder_dataset_from_the_results_tree_when_named(folders, tmp_path, capsys,
                                                                        isolated_registry):
    from siambench.runner import run

    isolated_registry("still", lambda spec: Still())
    run("still", str(folders / "MyOTB"), results_dir=tmp_path, device="cpu", progress=False)
    base = tmp_path / "baseline.json"
    args = ["gate", "--baseline", str(base), "--results-dir", str(tmp_path), "--dataset", str(folders / "MyOTB")]
    code, out, err = run_cli([*args, "--update"], capsys)
    assert code == 0, err
    entries = json.loads(base.read_text())["entries"]
    assert {e["dataset"] for e in entries} == {"MyOTB"} and any(e["metric"] == "auc" for e in entries)
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "gate passed" in out
    code, _, err = run_cli(["gate", "--baseline", str(base), "--scores", str(base), "--dataset", "x"], capsys)
    assert code == 2 and "give --results-dir" in err
