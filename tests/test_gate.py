"""siambench gate: pass on unchanged scores, exit 1 when a metric got worse beyond the tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run_cli

from siambench.errors import InputError, SiambenchError
from siambench.gate import (
    Counts,
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
        "SiamRPN": {"overall": {"eao": 0.383, "accuracy": 0.586, "robustness": 0.276, "failures": 59,
                                "sequences_scored": 60, "frames": 21356, "curves": {"eao": [1.0, 0.9]}}}}},
    {"dataset": "otb2015", "variant": "pysot", "trackers": {
        "SiamFC": {"overall": {"auc": 0.587, "precision": 0.772, "sequences_scored": 100, "frames": 59040}}}},
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
    assert data["format"] == "siambench-baseline/2" and data["variant"] == "pysot"
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


def test_every_failure_count_is_lower_is_better() -> None:
    from siambench.scores import direction

    # vot-toolkit's length-weighted failures once gated the wrong way: more failures "improved"
    assert {direction(m) for m in ("failures", "weighted_failures", "mean_failures", "robustness")} == {-1}


def test_a_baseline_that_compares_nothing_is_an_error(
        baseline: Path, score_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"format": "siambench-baseline/2", "entries": []}')
    code, _, err = run_cli(["gate", "--baseline", str(empty), "--scores", str(score_file)], capsys)
    assert code == 2 and "holds no scores to compare with" in err
    # a baseline of auc only, gated on eao: every score would be "new", and passing would say nothing
    auc_only = tmp_path / "auc.json"
    data = json.loads(baseline.read_text())
    auc_only.write_text(json.dumps({**data, "entries": [e for e in data["entries"] if e["metric"] == "auc"]}))
    code, _, err = run_cli(["gate", "--baseline", str(auc_only), "--scores", str(score_file), "--metric", "eao"],
                           capsys)
    assert code == 2 and "no scores for --metric eao" in err


def test_a_repeated_key_in_a_baseline_entry_is_an_error(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    text = baseline.read_text()
    baseline.write_text(text.replace('"value": ', '"value": 0.9, "value": ', 1))  # which one counts?
    code, _, err = run_cli(["gate", "--baseline", str(baseline), "--scores", str(score_file)], capsys)
    assert code == 2 and 'key "value" is repeated' in err and err.count("\n") == 1


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
    (tmp_path / "demo-ci" / "siamfc-demo").mkdir(parents=True)  # not a folder of demo-ci's: not read
    assert dataset_folders(tmp_path) == {"demo": ["demo", "demo-ci"]}


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


# --- soundness: each hole below once let a run pass that had to fail --------------------------

def _score_file(path: Path, sets: list[dict]) -> Path:
    path.write_text(json.dumps(sets))
    return path


def _with_overall(index: int, tracker: str, **changes: object) -> list[dict]:
    """SCORES with some overall values of one tracker replaced (a value None removes the key)."""
    sets = json.loads(json.dumps(SCORES))
    overall = sets[index]["trackers"][tracker]["overall"]
    for key, value in changes.items():
        if value is None:
            overall.pop(key, None)
        else:
            overall[key] = value
    return sets


def _gate(baseline: Path, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    return run_cli(["gate", "--baseline", str(baseline), *args], capsys)


def test_update_writes_the_sequence_and_frame_counts(baseline: Path) -> None:
    entries = json.loads(baseline.read_text())["entries"]
    counts = {(e["tracker"], e["metric"]): (e["sequences"], e["frames"]) for e in entries}
    assert counts[("SiamRPN", "eao")] == (60, 21356) and counts[("SiamFC", "auc")] == (100, 59040)
    assert load_baseline(baseline)[0].sequences is not None


def test_a_deleted_sequence_fails_as_incomplete_even_when_the_score_rose(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # one sequence's results gone: the remaining 99 happen to score higher
    fewer = _score_file(tmp_path / "fewer.json", _with_overall(1, "SiamFC", auc=0.6, sequences_scored=99, frames=58000))
    code, out, _ = _gate(baseline, capsys, "--scores", str(fewer))
    assert code == 1
    rows = [line for line in out.splitlines() if line.startswith("INCOMPLETE")]
    assert len(rows) == 2 and all("SiamFC" in r and "sequences 99 < 100, frames 58000 < 59040" in r for r in rows)
    assert "gate FAILED" in out and "2 incomplete" in out


def test_fewer_frames_alone_is_incomplete(baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cut = _score_file(tmp_path / "cut.json", _with_overall(0, "SiamRPN", frames=20000))
    code, out, _ = _gate(baseline, capsys, "--scores", str(cut))
    assert code == 1 and out.count("INCOMPLETE") == 4 and "frames 20000 < 21356" in out
    assert "sequences" not in next(line for line in out.splitlines() if line.startswith("INCOMPLETE"))


def test_more_sequences_than_the_baseline_is_not_incomplete(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    more = _score_file(tmp_path / "more.json", _with_overall(1, "SiamFC", sequences_scored=101, frames=60000))
    assert _gate(baseline, capsys, "--scores", str(more))[0] == 0


def test_current_scores_without_counts_are_compared_with_a_warning(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bare = _score_file(tmp_path / "bare.json", _with_overall(1, "SiamFC", sequences_scored=None, frames=None))
    code, out, err = _gate(baseline, capsys, "--scores", str(bare))
    assert code == 0 and "6 same" in out
    assert err.count("\n") == 1 and "2 current scores do not record sequences_scored and frames" in err


def test_old_format_baseline_is_read_with_one_warning(
        tmp_path: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "siambench-baseline/1", "variant": "pysot", "entries": [
        {"tracker": "SiamFC", "dataset": "otb2015", "metric": "auc", "value": 0.587},
        {"tracker": "SiamFC", "dataset": "otb2015", "metric": "precision", "value": 0.772}]}))
    code, out, err = _gate(old, capsys, "--scores", str(score_file))
    assert code == 0 and "2 same" in out
    assert err.count("\n") == 1 and "completeness cannot be checked until" in err and "--update" in err
    assert _gate(old, capsys, "--scores", str(score_file), "--update")[0] == 0
    assert json.loads(old.read_text())["format"] == "siambench-baseline/2"
    code, _, err = _gate(old, capsys, "--scores", str(score_file))
    assert code == 0 and err == ""


def test_an_unknown_baseline_format_is_an_error(tmp_path: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"format": "siambench-baseline/9", "entries": []}))
    code, _, err = _gate(future, capsys, "--scores", str(score_file))
    assert code == 2 and "siambench-baseline/9" in err and "siambench-baseline/2" in err


def test_the_same_score_in_two_score_files_is_an_error_naming_both(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # the second file would have hidden the drop in the first
    dropped = _score_file(tmp_path / "dropped.json", _with_overall(1, "SiamFC", auc=0.4))
    code, _, err = _gate(baseline, capsys, "--scores", str(dropped), "--scores", str(_score_file(tmp_path / "ok.json", SCORES)))
    assert code == 2 and err.count("\n") == 1
    assert "dropped.json" in err and "ok.json" in err and "given twice" in err


def test_the_same_score_twice_in_one_file_is_an_error_naming_both_entries(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    twice = _score_file(tmp_path / "twice.json", [*_with_overall(1, "SiamFC", auc=0.4), SCORES[1]])
    code, _, err = _gate(baseline, capsys, "--scores", str(twice))
    assert code == 2 and err.count("\n") == 1
    assert "twice.json (entry 1)" in err and "twice.json (entry 2)" in err and "SiamFC/otb2015/auc" in err


def test_a_misspelt_metric_is_an_error_listing_the_known_ones(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    _bump(baseline, "accuracy", 0.05)  # a drop the misspelt name would have left ungated
    code, _, err = _gate(baseline, capsys, "--scores", str(score_file), "--metric", "eao,acuracy")
    assert code == 2 and err.count("\n") == 1
    assert "--metric: unknown metric acuracy" in err and "known: accuracy, auc, eao, failures, precision, robustness" in err
    code, _, err = _gate(baseline, capsys, "--scores", str(score_file), "--metric", "frames")  # a count
    assert code == 2 and "unknown metric frames" in err


def test_a_misspelt_tolerance_metric_is_an_error(baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    _bump(baseline, "eao", 0.01)
    code, _, err = _gate(baseline, capsys, "--scores", str(score_file), "--tolerance", "eoa=0.02")
    assert code == 2 and err.count("\n") == 1 and "--tolerance: unknown metric eoa" in err and "known: " in err


def test_a_tolerance_that_metric_leaves_out_is_a_warning(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = _gate(baseline, capsys, "--scores", str(score_file), "--metric", "auc", "--tolerance", "eao=0.02")
    assert code == 0 and "--tolerance for eao is not used" in err


def test_a_tolerance_given_twice_or_infinite_is_an_error() -> None:
    for specs in (["eao=0.1", "eao=0.2"], ["0.1", "0.2"], ["inf"], ["eao=nan"]):
        with pytest.raises(SiambenchError):
            parse_tolerances(specs)
    assert parse_tolerances(["0.1", "eao=0.2"]) == Tolerances(0.1, {"eao": 0.2})


RAW = "@raw@"  # stands for the raw JSON text (NaN, true, "0.383") a test writes into a baseline


def _raw_baseline(tmp_path: Path, entries: list[dict], raw: str) -> Path:
    rows = [{"tracker": "SiamFC", "dataset": "otb2015", "variant": "pysot", **e} for e in entries]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "siambench-baseline/2", "entries": rows}).replace(f'"{RAW}"', raw))
    return path


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "true", "false", '"0.383"', "null"])
def test_a_baseline_value_that_is_not_a_finite_number_is_an_error(
        value: str, tmp_path: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    bad = _raw_baseline(tmp_path, [{"metric": "precision", "value": 0.772}, {"metric": "auc", "value": RAW}], value)
    code, _, err = _gate(bad, capsys, "--scores", str(score_file))
    assert code == 2 and err.count("\n") == 1
    assert "bad.json: entries[1]: 'value' must be a finite number" in err and value in err


@pytest.mark.parametrize(("field", "value"), [("sequences", "-1"), ("frames", "1.5"), ("sequences", "true"),
                                              ("frames", '"528"'), ("frames", "null")])
def test_a_baseline_count_that_is_not_a_non_negative_integer_is_an_error(
        field: str, value: str, tmp_path: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    bad = _raw_baseline(tmp_path, [{"metric": "auc", "value": 0.587, field: RAW}], value)
    code, _, err = _gate(bad, capsys, "--scores", str(score_file))
    assert code == 2 and f"bad.json: entries[0]: '{field}' must be a non-negative integer, got {value}" in err


def test_a_score_file_count_that_is_not_an_integer_is_an_error(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    odd = _score_file(tmp_path / "odd.json", _with_overall(1, "SiamFC", frames=59040.5))
    code, _, err = _gate(baseline, capsys, "--scores", str(odd))
    assert code == 2 and "odd.json" in err and "'frames' must be a non-negative integer" in err


def test_repeated_baseline_entries_are_an_error_naming_both(
        baseline: Path, score_file: Path, capsys: pytest.CaptureFixture) -> None:
    data = json.loads(baseline.read_text())
    first = next(i for i, e in enumerate(data["entries"]) if e["metric"] == "auc")
    data["entries"].append({**data["entries"][first], "value": 0.1})  # would have won over the first
    baseline.write_text(json.dumps(data))
    code, _, err = _gate(baseline, capsys, "--scores", str(score_file))
    assert code == 2 and err.count("\n") == 1
    assert f"entries[{len(data['entries']) - 1}] repeats entries[{first}]" in err


def test_a_current_score_of_nan_or_null_is_missing(baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(_with_overall(0, "SiamRPN", eao=None)).replace('"robustness": 0.276', '"robustness": NaN'))
    code, out, _ = _gate(baseline, capsys, "--scores", str(path))
    assert code == 1 and out.count("MISSING") == 2


def test_compare_marks_incomplete_before_judging_the_value() -> None:
    then = [ScoreEntry("T", "demo", "auc", "pysot", 0.5, 6, 528)]
    now = [ScoreEntry("T", "demo", "auc", "pysot", 0.9, 5, 440)]
    change = compare(now, then)[0]
    assert change.status == "incomplete" and failed([change])
    assert change.baseline_counts == Counts(6, 528) and change.shortfall == "sequences 5 < 6, frames 440 < 528"
    unknown = [ScoreEntry("T", "demo", "auc", "pysot", 0.9)]
    assert compare(unknown, then)[0].status == "improved"
    with pytest.raises(SiambenchError):
        compare(now + now, then)


def test_a_deleted_sequence_result_fails_the_gate_on_real_raw_results(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The hole end to end: scoring leaves a sequence without results out with a warning only."""
    source = shared_data / "results" / "VOT2018" / "DaSiamRPN" / "baseline"
    if not source.is_dir():
        pytest.skip("VOT2018 raw results missing")
    results = tmp_path / "results"
    kept = results / "VOT2018" / "DaSiamRPN" / "baseline"
    kept.mkdir(parents=True)
    sequences = sorted(p.name for p in source.iterdir() if p.is_dir())
    for name in sequences[1:]:  # links, no copy; the first sequence's results are "deleted"
        (kept / name).symlink_to(source / name, target_is_directory=True)
    base = tmp_path / "baseline.json"
    full = tmp_path / "full"
    full.mkdir()
    (full / "VOT2018").symlink_to(source.parents[1], target_is_directory=True)
    common = ["--data-root", str(shared_data), "--metric", "eao,accuracy,robustness"]
    assert _gate(base, capsys, "--results-dir", str(full), *common, "--update")[0] == 0
    code, out, err = _gate(base, capsys, "--results-dir", str(results), *common)
    assert code == 1 and out.count("INCOMPLETE") == 3 and "gate FAILED" in out
    assert sequences[0] in err  # the scorer's warning still names what was left out
