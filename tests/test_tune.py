"""`siambench tune`: search spaces, seeded search, ranking, the tuned spec, the test-set warning, Ray Tune."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from siambench import tune as tune_module
from siambench.cli import main
from siambench.datasets import load_dataset
from siambench.errors import SiambenchError
from siambench.evaluate import evaluate
from siambench.synth import generate
from siambench.trackers.registry import load_spec
from siambench.tune import (
    Param,
    grid_settings,
    parse_param,
    random_settings,
    trial_spec,
    tune,
    warn_if_test_set,
)

TRACKER = "opencv-mil"
PARAMS = ["samplerSearchWinSize=15:35", "samplerTrackInRadius=3.0:6.0"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate(root / "demo", layout="otb", sequences=2, frames=20, size=(96, 72), seed=3)
    generate(root / "demo-vot", layout="vot", sequences=2, frames=30, size=(96, 72), seed=3)
    generate(root / "VOT2018", layout="vot", sequences=1, frames=12, size=(96, 72), seed=3)
    return root


# ------------------------------------------------------------------ search spaces


def test_param_syntax():
    assert parse_param("penalty_k=0.0:0.3") == Param("penalty_k", 0.0, 0.3)
    assert parse_param("n=1:5") == Param("n", 1.0, 5.0, integer=True)
    assert list(parse_param("lr=0.2:0.4:0.1").grid()) == [0.2, 0.3, 0.4]
    assert parse_param("lr=0.2:0.4").grid() == [0.2, 0.3, 0.4]  # ends and middle
    assert parse_param("n=2:8").grid() == [2, 5, 8]
    assert parse_param("mode=cosine, uniform,1").choices == ("cosine", "uniform", 1)
    assert parse_param("x = 0:1").describe() == "x=0:1"
    for bad in ("penalty_k", "=0:1", "k=1:0", "k=a:b", "k=0:1:0", "k=0:1:2:3", "1k=0:1", "k=nan:1"):
        with pytest.raises(SiambenchError, match="--param"):
            parse_param(bad)


def test_random_search_is_seeded_and_stays_in_range():
    params = [parse_param(p) for p in ("k=0.0:0.3", "n=1:4", "m=a,b")]
    first = random_settings(params, 50, seed=5)
    assert first == random_settings(params, 50, seed=5)
    assert first != random_settings(params, 50, seed=6)
    ks = np.array([s["k"] for s in first])
    assert ks.min() >= 0.0 and ks.max() <= 0.3 and len(set(ks)) > 40
    assert all(round(k, 4) == k for k in ks)
    assert {s["n"] for s in first} == {1, 2, 3, 4} and all(isinstance(s["n"], int) for s in first)
    assert {s["m"] for s in first} == {"a", "b"}
    grid = list(grid_settings([parse_param("a=0:1:0.5"), parse_param("b=x,y")]))
    assert grid == [{"a": 0.0, "b": "x"}, {"a": 0.0, "b": "y"}, {"a": 0.5, "b": "x"},
                    {"a": 0.5, "b": "y"}, {"a": 1.0, "b": "x"}, {"a": 1.0, "b": "y"}]


def test_trial_specs_are_named_by_their_hash():
    base = load_spec(TRACKER)
    a = trial_spec(base, {"samplerSearchWinSize": 20})
    b = trial_spec(base, {"samplerSearchWinSize": 21})
    assert a.name.startswith("opencv-mil-trial-") and a.name != b.name
    assert a.spec_hash() != b.spec_hash() != base.spec_hash()
    assert a.hyper["samplerSearchWinSize"] == 20 and base.hyper["samplerSearchWinSize"] == 25.0
    assert trial_spec(base, {"samplerSearchWinSize": np.int64(20)}).spec_hash() == a.spec_hash()


def test_test_sets_are_recognised():
    for name in ("vot2018", "otb2015", "otb100", "lasot"):
        assert "test set" in warn_if_test_set(name)
    assert warn_if_test_set("demo") is None and warn_if_test_set("demo-vot") is None
    assert warn_if_test_set("got10k-val") is None  # a validation split: what tuning is for
    for name in ("uav123", "uav20l", "nfs30", "nfs240", "trackingnet"):
        assert "test set" in warn_if_test_set(name)


def test_bad_requests(data_root, tmp_path):
    common = dict(data_root=data_root, work_dir=tmp_path, out_dir=None, device="cpu")
    with pytest.raises(SiambenchError, match="no hyper-parameter 'penalty_k'.*samplerSearchWinSize"):
        tune(TRACKER, "demo", ["penalty_k=0:1"], **common)
    with pytest.raises(SiambenchError, match="given twice"):
        tune(TRACKER, "demo", ["seed=1:2", "seed=3:4"], **common)
    with pytest.raises(SiambenchError, match="scored by AUC"):
        tune(TRACKER, "demo", PARAMS, metric="eao", **common)
    with pytest.raises(SiambenchError, match="unknown executor"):
        tune(TRACKER, "demo", PARAMS, executor="slurm", **common)


# ------------------------------------------------------------------ the trial cap

HUGE = ["samplerSearchWinSize=0:1000000000:1", "samplerTrackInRadius=0:1000:0.001"]


def test_the_grid_is_enumerated_lazily_and_counted_without_building_it():
    from siambench.tune import grid_size

    params = [parse_param(p) for p in HUGE]
    assert isinstance(grid_settings(params), Iterator)
    assert len(params[0].grid()) == 1_000_000_001 and params[0].grid()[-1] == 1_000_000_000
    assert grid_size(params) == 1_000_000_001 * 1_000_001
    first = list(itertools.islice(grid_settings(params), 2))
    assert first == [{"samplerSearchWinSize": 0, "samplerTrackInRadius": 0.0},
                     {"samplerSearchWinSize": 0, "samplerTrackInRadius": 0.001}]
    with pytest.raises(SiambenchError, match="at least 0.0001"):
        parse_param("k=0:1:0.00001")  # finer than the values' rounding: repeated settings


def _no_trial(*args, **kwargs):
    raise AssertionError("a trial ran")


def test_a_grid_over_the_cap_fails_before_any_trial(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tune_module, "run_trial", _no_trial)
    common = dict(data_root=data_root, work_dir=tmp_path, out_dir=None, device="cpu")
    with pytest.raises(SiambenchError, match=r"grid has 6 settings.*--max-trials 5"):
        tune(TRACKER, "demo", ["samplerSearchWinSize=20,25,30", "seed=0,1"], search="grid",
             max_trials=5, **common)
    with pytest.raises(SiambenchError, match="--trials 6 is more than --max-trials 5"):
        tune(TRACKER, "demo", PARAMS, trials=6, max_trials=5, **common)
    code, _, err = run_cli(["tune", "-t", TRACKER, "-d", "demo", "--data-root", str(data_root),
                            "--work-dir", str(tmp_path), "--search", "grid", "--param", HUGE[0],
                            "--param", HUGE[1]], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "1,000,001,001,000,001 settings" in err and "coarsen a step" in err


def test_a_searched_value_of_the_wrong_type_fails_before_any_trial(data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(tune_module, "run_trial", _no_trial)
    with pytest.raises(SiambenchError, match=r"--param seed=a,b: hyper.seed: expected an integer"):
        tune(TRACKER, "demo", ["seed=a,b"], data_root=data_root, work_dir=tmp_path, out_dir=None)


# ------------------------------------------------------------------ failing trials


def _fail_when_seed_is(bad: set[int], error: Exception):
    def fake(context, setting, **execution):
        if setting["seed"] in bad:
            raise error
        return trial_spec(context.base, setting), 0.1 * setting["seed"], {"auc": 0.1 * setting["seed"]}
    return fake


def test_a_failing_trial_is_recorded_and_the_search_goes_on(data_root, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="siambench")
    monkeypatch.setattr(tune_module, "run_trial", _fail_when_seed_is({2}, ZeroDivisionError("boom")))
    result = tune(TRACKER, "demo", ["seed=1,2,3"], search="grid", data_root=data_root,
                  work_dir=tmp_path, out_dir=None)
    assert [t.setting["seed"] for t in result.trials] == [3, 1, 2]  # the failed one last
    failed = result.trials[-1]
    assert failed.status == "failed" and failed.error == "ZeroDivisionError: boom"
    warnings = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(warnings) == 1 and "ZeroDivisionError: boom" in warnings[0]
    record = json.loads(result.record_file.read_text())
    by_seed = {t["setting"]["seed"]: t for t in record["trials"]}
    assert by_seed[2]["status"] == "failed" and by_seed[2]["message"] == "ZeroDivisionError: boom"
    assert by_seed[3]["status"] == "ok" and by_seed[3]["message"] is None


def test_when_every_trial_fails_the_search_fails_naming_the_first(data_root, tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setattr(tune_module, "run_trial", _fail_when_seed_is({1, 2}, KeyError("frame")))
    code, _, err = run_cli(["tune", "-t", TRACKER, "-d", "demo", "--data-root", str(data_root),
                            "--work-dir", str(tmp_path), "--out", str(tmp_path / "t"),
                            "--param", "seed=1,2", "--search", "grid"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "error: all 2 trial(s) failed; the first" in err and "{'seed': 1}" in err
    assert "KeyError: 'frame'" in err.splitlines()[-1]
    record = json.loads((tmp_path / "demo" / "tune-opencv-mil.json").read_text())
    assert [t["status"] for t in record["trials"]] == ["failed", "failed"]
    assert not (tmp_path / "t").exists()


def test_ctrl_c_still_stops_the_search(data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(tune_module, "run_trial", _fail_when_seed_is({1}, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        tune(TRACKER, "demo", ["seed=1,2"], search="grid", data_root=data_root, work_dir=tmp_path,
             out_dir=None)


def test_unwritable_outputs_fail_before_any_trial(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tune_module, "run_trial", _no_trial)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    for option, value in (("--out", blocker / "trackers"), ("--work-dir", blocker / "work")):
        args = ["tune", "-t", TRACKER, "-d", "demo", "--data-root", str(data_root),
                "--param", "seed=1,2", "--search", "grid", option, str(value)]
        if option == "--out":
            args += ["--work-dir", str(tmp_path / "work")]
        code, _, err = run_cli(args, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"{blocker}: cannot write: a file is in the way" in err


# ------------------------------------------------------------------ the search, end to end


def test_local_search_ranks_by_auc_and_writes_the_best_spec(data_root, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="siambench")
    work, out = tmp_path / "work", tmp_path / "trackers"
    result = tune(TRACKER, "demo", PARAMS, trials=3, seed=1, data_root=data_root, work_dir=work,
                  out_dir=out, device="cpu", threads=1)
    assert result.metric == "auc" and not result.warnings and "test set" not in caplog.text
    scores = [t.score for t in result.trials]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    drawn = random_settings([parse_param(p) for p in PARAMS], 3, seed=1)
    assert sorted(map(str, (t.setting for t in result.trials))) == sorted(map(str, drawn))
    # each score is what `siambench eval` says about the trial's results
    for trial in result.trials:
        got = evaluate("demo", results_dir=work, data_root=data_root, trackers=[trial.name])
        assert got["trackers"][trial.name]["overall"]["auc"] == trial.score

    spec = load_spec(result.spec_file)
    assert result.spec_file == out / "opencv-mil-tuned.yaml" and spec.name == "opencv-mil-tuned"
    best = result.best
    assert spec.hyper == {**load_spec(TRACKER).hyper, **best.setting}
    assert spec.spec_hash() == best.spec_hash  # running the tuned spec repeats the best trial
    text = result.spec_file.read_text()
    assert "--param samplerSearchWinSize=15:35 --param samplerTrackInRadius=3:6" in text
    assert f"1. auc {best.score:.4f}" in text
    record = json.loads(result.record_file.read_text())
    assert [t["auc"] for t in record["trials"]] == scores and record["seed"] == 1

    # a second search reuses the trials already run
    stamps = {p: p.stat().st_mtime_ns for p in work.rglob("*.txt")}
    again = tune(TRACKER, "demo", PARAMS, trials=3, seed=1, data_root=data_root, work_dir=work,
                 out_dir=None, device="cpu", threads=1)
    assert [t.score for t in again.trials] == scores
    assert {p: p.stat().st_mtime_ns for p in work.rglob("*.txt")} == stamps


def test_cli_grid_search_by_eao_and_the_test_set_warning(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main(["tune", "-t", TRACKER, "-d", "demo-vot", "--data-root", str(data_root), "--device", "cpu",
          "--param", "samplerSearchWinSize=20,30", "--search", "grid", "--threads", "1"])
    captured = capsys.readouterr()
    assert "ranked by EAO" in captured.out and "test set" not in captured.err
    spec = load_spec(tmp_path / "trackers" / "opencv-mil-tuned.yaml")
    assert spec.hyper["samplerSearchWinSize"] in (20, 30)
    record = json.loads((tmp_path / "results" / "tune" / "demo-vot" / "tune-opencv-mil.json").read_text())
    assert sorted(t["setting"]["samplerSearchWinSize"] for t in record["trials"]) == [20, 30]
    assert all(math.isfinite(t["eao"]) for t in record["trials"])

    # VOT2018 is a test set (here a one-sequence stand-in, too short for an EAO)
    with pytest.raises(SystemExit):
        main(["tune", "-t", TRACKER, "-d", "vot2018", "--data-root", str(data_root), "--device", "cpu",
              "--param", "samplerSearchWinSize=20,30", "--search", "grid", "--out", str(tmp_path / "t2")])
    err = capsys.readouterr().err
    assert "warning: vot2018 is a test set" in err
    # both trials fail in scoring (only failure codes) or score NaN: either way no spec
    assert "error: all 2 trial(s) failed" in err or "error: no trial produced a finite EAO" in err
    assert not (tmp_path / "t2").exists()


def test_ray_tune_search(data_root, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'siambench[ray]')")
    pytest.importorskip("ray.tune", reason="Ray Tune is not installed (pip install 'ray[tune]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        work = tmp_path / "work"
        result = tune(TRACKER, "demo", PARAMS[:1], trials=2, seed=0, data_root=data_root, work_dir=work,
                      out_dir=tmp_path, device="cpu", executor="ray", sequences=["Clutter1"])
    finally:
        ray.shutdown()
    assert len(result.trials) == 2
    assert result.trials[0].score >= result.trials[1].score
    for trial in result.trials:
        assert 15 <= trial.setting["samplerSearchWinSize"] <= 35
        got = evaluate(load_dataset("demo", data_root).select(["Clutter1"]), results_dir=work,
                       trackers=[trial.name])
        assert got["trackers"][trial.name]["overall"]["auc"] == trial.score
    assert load_spec(tmp_path / "opencv-mil-tuned.yaml").spec_hash() == result.best.spec_hash
    assert (work / "ray-tune").is_dir()


def test_the_tuned_spec_keeps_the_box_policy_the_trials_ran_with(tmp_path):
    from types import SimpleNamespace

    from siambench.tune import write_tuned_spec

    base = load_spec("siamfc-demo")
    assert base.box_policy == "siamfc-pytorch"
    best = SimpleNamespace(setting={"window_influence": 0.2}, score=0.7, error=None)
    result = SimpleNamespace(best=best, trials=[best], dataset="demo", metric="auc", search="grid", seed=0,
                             params=[], record_file=tmp_path / "trials.json")
    tuned = load_spec(write_tuned_spec(base, result, tmp_path))
    assert tuned.box_policy == base.box_policy and tuned.hyper["window_influence"] == 0.2
    assert tuned.spec_hash() == dataclasses.replace(base, hyper=tuned.hyper).spec_hash()
