"""`siambench eval` end to end: tables, JSON, length mismatches and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli


def _otb_tree(tmp_path: Path, lines: dict[str, str]) -> tuple[Path, Path]:
    data = tmp_path / "data" / "OTB100"
    from siambench.datasets.otb import subset_names

    for name in subset_names("otb2015"):
        folder = data / name.split("-")[0]
        folder.mkdir(parents=True, exist_ok=True)
        gt = folder / ("groundtruth_rect.txt" if "-" not in name else f"groundtruth_rect.{name[-1]}.txt")
        gt.write_text("10,10,20,20\n12,12,20,20\n14,14,20,20\n")
    results = tmp_path / "results" / "OTB100" / "mine"
    results.mkdir(parents=True)
    for name in subset_names("otb2015"):
        (results / f"{name}.txt").write_text(lines.get(name, "10,10,20,20\n12,12,20,20\n14,14,20,20\n"))
    return tmp_path / "data", tmp_path / "results"


def test_eval_prints_table_and_writes_json(tmp_path, capsys):
    data, results = _otb_tree(tmp_path, {})
    out_json = tmp_path / "scores.json"
    code, out, err = run_cli(["eval", "-d", "otb2015", "--data-root", str(data), "--results-dir", str(results),
                           "--json", str(out_json)], capsys)
    assert code == 0, err
    assert "mine" in out and "pysot definitions" in out
    scores = json.loads(out_json.read_text())
    assert scores["dataset"] == "otb2015" and scores["variant"] == "pysot"
    overall = scores["trackers"]["mine"]["overall"]
    assert overall["auc"] == pytest.approx(20 / 21)  # perfect tracker: 1 > 1 is false
    assert overall["precision"] == 1.0
    assert set(scores["trackers"]["mine"]["sequences"]["Basketball"]) >= {"auc", "precision", "norm_precision"}


def test_json_target_is_checked_before_scoring(tmp_path, capsys, monkeypatch):
    import siambench.evaluate

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before the --json target was checked")

    monkeypatch.setattr(siambench.evaluate, "evaluate", no_scoring)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    folder = tmp_path / "scores"
    folder.mkdir()
    for target, reason in ((folder, "a folder is in the way"), (blocker / "s.json", "a file is in the way")):
        code, out, err = run_cli(["eval", "-d", "otb2015", "--results-dir", str(tmp_path),
                                  "--json", str(target)], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert reason in err


def test_length_mismatch_warns_or_fails_with_strict(tmp_path, capsys):
    data, results = _otb_tree(tmp_path, {"Biker": "10,10,20,20\n12,12,20,20\n"})
    code, _, err = run_cli(["eval", "-d", "otb2015", "--data-root", str(data), "--results-dir", str(results)], capsys)
    assert code == 0 and "Biker" in err and "warning" in err
    code, _, err = run_cli(["eval", "-d", "otb2015", "--data-root", str(data), "--results-dir", str(results),
                         "--strict"], capsys)
    assert code == 2 and "Biker.txt" in err and "expected 3 lines" in err


@pytest.mark.parametrize(
    "content, expected",
    [("10,10,20\n1,1,1,1\n1,1,1,1\n", "Bird1.txt:1: expected 4 values per line, got 3"),
     ("10,10,20,20\n1,1,abc,1\n1,1,1,1\n", "Bird1.txt:2: expected numbers"),
     ("", "Bird1.txt: file is empty")],
)
def test_bad_result_files_give_one_line_errors(tmp_path, capsys, content, expected):
    data, results = _otb_tree(tmp_path, {"Bird1": content})
    code, out, err = run_cli(["eval", "-d", "otb2015", "--data-root", str(data), "--results-dir", str(results)], capsys)
    assert code == 2
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_ground_truth_and_unknown_dataset(tmp_path, capsys):
    data, results = _otb_tree(tmp_path, {})
    (data / "OTB100" / "Bolt" / "groundtruth_rect.txt").unlink()
    code, _, err = run_cli(["eval", "-d", "otb2015", "--data-root", str(data), "--results-dir", str(results)], capsys)
    assert code == 2 and "groundtruth_rect" in err and "Bolt" in err
    code, _, err = run_cli(["eval", "-d", "vot2099"], capsys)
    assert code == 2 and "unknown dataset 'vot2099'" in err


def test_vot_result_codes_are_validated(tmp_path, capsys, shared_data):
    results = tmp_path / "results" / "VOT2018" / "bad" / "baseline" / "ants1"
    results.mkdir(parents=True)
    (results / "ants1_001.txt").write_text("1\n3\n")
    code, _, err = run_cli(["eval", "-d", "vot2018", "--data-root", str(shared_data), "--results-dir",
                         str(tmp_path / "results")], capsys)
    assert code == 2 and "ants1_001.txt:2: expected a code 0, 1 or 2" in err


def test_nan_boxes_are_misses_with_a_warning_or_fail_with_strict(tmp_path, capsys, shared_data):
    # pysot and got10k score a NaN box as a miss; siambench does too, but says where it is.
    data, results = _otb_tree(tmp_path, {"Bird1": "10,10,20,20\nnan,12,20,20\n14,14,20,20\n"})
    args = ["eval", "-d", "otb2015", "--data-root", str(data), "--results-dir", str(results)]
    code, _, err = run_cli([*args, "--json", str(tmp_path / "s.json")], capsys)
    assert code == 0 and "Bird1.txt:2: NaN in 1 box(es); scored as misses" in err
    bird = json.loads((tmp_path / "s.json").read_text())["trackers"]["mine"]["sequences"]["Bird1"]
    assert bird["auc"] == pytest.approx(20 / 21 * 2 / 3)
    code, _, err = run_cli([*args, "--strict"], capsys)
    assert code == 2 and "Bird1.txt:2: expected finite box values, got NaN" in err

    n = len(json.loads((shared_data / "VOT2018" / "VOT2018.json").read_text())["ants1"]["gt_rect"])
    folder = tmp_path / "vot" / "VOT2018" / "mine" / "baseline" / "ants1"
    folder.mkdir(parents=True)
    (folder / "ants1_001.txt").write_text("1\n" + "NaN,NaN,NaN,NaN\n" + "100,100,50,50\n" * (n - 2))
    vot_args = ["eval", "-d", "vot2018", "--data-root", str(shared_data), "--results-dir", str(tmp_path / "vot")]
    code, _, err = run_cli(vot_args, capsys)
    assert code == 0 and "ants1_001.txt:2: NaN in 1 box(es)" in err
    code, _, err = run_cli([*vot_args, "--strict"], capsys)
    assert code == 2 and "ants1_001.txt:2: expected finite box values" in err


def test_eval_does_not_import_torch(tmp_path):
    code = ("import sys; from siambench.cli import main\n"
            "try:\n    main(['eval', '--help'])\nexcept SystemExit:\n    pass\n"
            "import siambench.evaluate\n"
            "assert 'torch' not in sys.modules and 'cv2' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_results_roundtrip_and_atomic_write(tmp_path):
    from siambench.results import ResultStore

    store = ResultStore(tmp_path, "VOT2018", "t")
    store.write_supervised("s", 1, [np.array([1.0]), np.array([1.5, 2.25, 3, 4]), np.array([2.0]), np.array([0.0])])
    path = store.vot_path("s")
    assert path.read_text() == "1\n1.5000,2.2500,3.0000,4.0000\n2\n0\n"
    assert [e.tolist() for e in store.read_vot("s")[0]] == [[1.0], [1.5, 2.25, 3, 4], [2.0], [0.0]]
    assert not list(path.parent.glob("*.tmp"))
    from siambench.errors import InputError

    with pytest.raises(InputError, match="non-finite"):
        store.write_ope("x", np.array([[1.0, 2.0, np.nan, 4.0]]))
    assert not store.ope_path("x").exists()


def test_ctrl_c_inside_compiled_code_is_an_abort_not_a_traceback(monkeypatch, capsys):
    from siambench import cli

    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(count_pixels) returned a result with an exception set") from None

    monkeypatch.setattr(cli.cli, "main", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["eval", "-d", "demo"])
    assert exit_info.value.code == 130 and "siambench: aborted" in capsys.readouterr().err
