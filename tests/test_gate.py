"""siambench gate: pass on unchanged scores, exit 1 when a metric got worse beyond the tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run_cli

from siambench.errors import InputError, SiambenchError
from siambench.gate import (
    Tolerances,
    compare,
    failed,
    format_changes,
    load_baseline,
    parse_tolerances,
    write_baseline,
)
from siambench.scores import ScoreEntry, dataset_folders, flatten, parse_scores

SCORES = [
    {"dataset": "vot2018", "variant": "pysot", "siambench_version": "0.1.0", "trackers": {
        "SiamRPN": {"overall": {"eao": 0.383, "accuracy": 0.586, "robustness": 0.276, "failures": 59, "frames": 21356,
                                "curves": {"eao": [1.0, 0.9]}}}}},
    {"dataset": "otb2015", "variant": "pysot", "trackers": {
        "SiamFC": {"overall": {"auc": 0.587, "precision": 0.772}}}},
]


@pytest.fixture
def score_file(tmp_path: Path) -> Path:
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(SCORES))
    return path


@pytest.fixture
def baseline(tmp_path: Path, score_file: Path, capsys: pytest.CaptureFixture) -> Path:
    path = tmp_path / "ci" / "baseline.json"
    code, out, _ = run_cli(["gate", "--baseline", str(path), "--scores", str(score_file), "--update"], capsys)
    assert code == 0 and "updated: 6 scores" in out
    return path


def _bump(path: Path, metric: str, delta: float) -> None:
    data = json.loads(path.read_text())
    for entry in data["entries"]:
        if entry["metric"] == metric:
            entry["value"] += delta
    path.write_text(json.dumps(data))


def test_update_writes_the_documented_format(baseline: Path) -> None:
    data = json.loads(baseline.read_text())
    assert data["format"] == "siambench-baseline/1" and data["variant"] == "pysot"
    keys = {(e["tracker"], e["dataset"], e["metric"], e["variant"]) for e in data["entries"]}
    assert ("SiamRPN", "vot2018", "eao", "pysot") in keys and ("SiamFC", "otb2015", "auc", "pysot") in keys
    assert not [e for e in data["entries"] if e["metric"] == "curves"]
    assert [p.name for p in baseline.parent.iterdir()] == ["baseline.json"]  # no temp file left over


def test_gate_passes_on_an_unchanged_run(baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)
    assert code == 0
    assert "gate passed: 6 scores; 6 same" in out


def test_gate_fails_when_the_baseline_is_above_the_current_score(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    _bump(baseline, "eao", 0.01)
    code, out, _ = run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)
    assert code == 1
    worse = [line for line in out.splitlines() if line.startswith("WORSE")]
    assert len(worse) == 1 and "SiamRPN" in worse[0] and "eao" in worse[0] and "-0.0100" in worse[0]
    assert "gate FAILED" in out
    # within a wider tolerance it passes, as it does when only other metrics are gated
    assert run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file),
                    "--tolerance", "0.02"], capsys)[0] == 0
    assert run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file),
                    "--metric", "accuracy,auc"], capsys)[0] == 0
    assert run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file),
                    "--tolerance", "eao=0.011"], capsys)[0] == 0


def test_lower_is_better_metrics_fail_when_they_rise(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    _bump(baseline, "robustness", -0.05)  # the baseline was more robust than now
    code, out, _ = run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)
    assert code == 1 and "robustness ↓" in out
    _bump(baseline, "robustness", +0.10)  # now the current run is the more robust one
    code, out, _ = run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)
    assert code == 0 and "improved" in out


def test_a_score_that_disappeared_fails(baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    only_vot = tmp_path / "vot.json"
    only_vot.write_text(json.dumps(SCORES[0]))
    code, out, _ = run_cli(["gate", "--baseline", str(baseline), "--scores", str(only_vot)], capsys)
    assert code == 1 and out.count("MISSING") == 2


def test_update_rewrites_atomically_and_then_passes(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    _bump(baseline, "auc", 0.5)
    assert run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)[0] == 1
    assert run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file), "--update"], capsys)[0] == 0
    assert run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)[0] == 0


def test_bad_input_is_a_one_line_error(tmp_path: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "b.json"
    bad.write_text('{"entries": [{"tracker": "x"}]}')
    code, _, err = run_cli(["gate", "--baseline", str(bad), "--scores", str(score_file)], capsys)
    assert code == 2 and "entries[0]" in err and err.count("\n") == 1
    code, _, err = run_cli(["gate", "--baseline", str(tmp_path / "none.json"), "--scores", str(score_file)], capsys)
    assert code == 2 and "--update" in err
    with pytest.raises(SiambenchError):
        parse_tolerances(["eao=lots"])


def test_compare_statuses() -> None:
    now = flatten(parse_scores(SCORES, "x"))
    then = [ScoreEntry(e.tracker, e.dataset, e.metric, e.variant, e.value) for e in now]
    then[0] = ScoreEntry(then[0].tracker, then[0].dataset, then[0].metric, then[0].variant, then[0].value + 0.001)
    then.append(ScoreEntry("Gone", "vot2018", "eao", "pysot", 0.3))
    changes = compare(now + [ScoreEntry("New", "otb2015", "auc", "pysot", 0.7)], then, Tolerances(0.005))
    statuses = {(c.tracker, c.metric): c.status for c in changes}
    assert statuses[(then[0].tracker, then[0].metric)] in {"within", "improved"}
    assert statuses[("Gone", "eao")] == "missing" and statuses[("New", "auc")] == "new"
    assert failed(changes)
    # a different metric variant is a different score, not a comparison across definitions
    other = [ScoreEntry(e.tracker, e.dataset, e.metric, "vot-toolkit", e.value) for e in now]
    assert {c.status for c in compare(other, now)} == {"new", "missing"}


def test_scores_the_baseline_lacks_are_counted_not_listed_unless_asked() -> None:
    now = flatten(parse_scores(SCORES, "x"))
    extra = ScoreEntry("Other", "otb2015", "auc", "pysot", 0.7)
    changes = compare([*now, extra], now)
    text = format_changes(changes)
    assert "Other" not in text and not failed(changes)
    assert text.endswith("gate passed: 7 scores; 6 same, 1 new (not in the baseline; --all lists them)\n")
    assert "Other" in format_changes(changes, show_new=True)
    assert "Other" in format_changes(changes, show_all=True) and "SiamFC" in format_changes(changes, show_all=True)


def test_a_full_demo_run_also_gives_the_ci_subset_scores(tmp_path: Path) -> None:
    # `siambench demo` writes results/demo; the baseline also lists demo-ci, scored from them.
    (tmp_path / "demo" / "siamfc-demo").mkdir(parents=True)
    assert dataset_folders(tmp_path) == {"demo": ["demo", "demo-ci"]}
    (tmp_path / "demo-ci" / "siamfc-demo").mkdir(parents=True)  # its own results win
    assert dataset_folders(tmp_path) == {"demo": ["demo"], "demo-ci": ["demo-ci"]}


def test_baseline_round_trip_and_top_level_variant(tmp_path: Path) -> None:
    entries = [ScoreEntry("T", "vot2018", "eao", "pysot", 0.4)]
    write_baseline(tmp_path / "b.json", entries)
    assert load_baseline(tmp_path / "b.json") == entries
    (tmp_path / "c.json").write_text(json.dumps({"variant": "pysot", "entries": [
        {"tracker": "T", "dataset": "vot2018", "metric": "eao", "value": 0.4}]}))
    assert load_baseline(tmp_path / "c.json") == entries
    (tmp_path / "d.json").write_text("[1, 2]")
    with pytest.raises(InputError):
        load_baseline(tmp_path / "d.json")


def test_gate_on_real_raw_results(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Scores computed from a results tree: unchanged passes, a baseline above the run fails."""
    source = shared_data / "results" / "VOT2018"
    if not source.is_dir():
        pytest.skip("VOT2018 raw results missing")
    results = tmp_path / "results"
    results.mkdir()
    (results / "VOT2018").symlink_to(source, target_is_directory=True)  # only this dataset, no copy
    base = tmp_path / "baseline.json"
    args = ["gate", "--baseline", str(base), "--results-dir", str(results), "--data-root", str(shared_data),
            "--metric", "eao,accuracy,robustness"]
    assert run_cli([*args, "--update"], capsys)[0] == 0
    values = {e.metric: e.value for e in load_baseline(base)}
    assert (round(values["eao"], 3), round(values["accuracy"], 3), round(values["robustness"], 3)) == \
        (0.383, 0.586, 0.276)
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "3 same" in out
    _bump(base, "accuracy", 0.006)
    code, out, _ = run_cli(args, capsys)
    assert code == 1 and "WORSE" in out


def test_missing_baseline_and_broken_score_file_are_one_line_errors(tmp_path: Path, score_file: Path, capsys) -> None:
    code, _, err = run_cli(["gate", "--baseline", str(tmp_path / "none.json"), "--scores", str(score_file)], capsys)
    assert code == 2 and "none.json: baseline not found; create it with --update" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"dataset": "vot2018",\n  oops}')
    code, _, err = run_cli(["gate", "--baseline", str(broken), "--scores", str(score_file)], capsys)
    assert code == 2 and "broken.json:2: invalid JSON" in err and err.count("\n") == 1
