"""Scores as pandas DataFrames (overall, per sequence, per attribute), from the real results."""

from __future__ import annotations

import subprocess
import sys

import pytest

from siambench.evaluate import evaluate

pd = pytest.importorskip("pandas")
from siambench.dataframes import to_frames  # noqa: E402


def test_otb_frames_hold_the_published_numbers(shared_data):
    scores = evaluate("otb2015", shared_data / "results", shared_data)
    frames = to_frames(scores)
    overall = frames["overall"]
    assert overall.loc[("otb2015", "pysot", "SiamRPN++"), "auc"] == pytest.approx(0.696, abs=5e-4)
    assert set(overall.index.get_level_values("tracker")) == {"SiamFC", "SiamRPN++"}
    seqs = frames["sequences"].xs("SiamFC", level="tracker")
    assert len(seqs) == 100
    assert seqs["auc"].mean() == pytest.approx(overall.loc[("otb2015", "pysot", "SiamFC"), "auc"])
    occ = frames["attributes"].xs(("SiamFC", "OCC"), level=("tracker", "attribute"))
    assert occ["auc"].iloc[0] == scores["trackers"]["SiamFC"]["overall"]["attributes"]["OCC"]["auc"]
    assert occ["sequences"].iloc[0] == 49


def test_vot_frames_carry_tags_and_several_sets_combine(shared_data):
    vot = evaluate("vot2018", shared_data / "results", shared_data, trackers=["DaSiamRPN"])
    kit = evaluate("vot2018", shared_data / "results", shared_data, trackers=["DaSiamRPN"], variant="vot-toolkit")
    from siambench.scores import parse_scores

    frames = to_frames(parse_scores(vot, "a") + parse_scores(kit, "b"))
    eao = frames["overall"]["eao"]
    assert eao.loc[("vot2018", "pysot", "DaSiamRPN")] == pytest.approx(0.383, abs=5e-4)
    assert eao.loc[("vot2018", "vot-toolkit", "DaSiamRPN")] == pytest.approx(0.3717, abs=5e-4)
    tags = frames["attributes"].xs("pysot", level="variant")
    assert "occlusion" in tags.index.get_level_values("attribute")
    assert frames["sequences"].xs("pysot", level="variant")["failures"].sum() == 59


def test_scoring_does_not_import_pandas():
    code = "import sys, siambench.evaluate, siambench.scores; assert 'pandas' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_eval_csv_writes_the_frames(shared_data, tmp_path, capsys):
    from cli_run import run_cli

    out = tmp_path / "otb.csv"
    code, stdout, err = run_cli(["eval", "-d", "otb2015", "--data-root", str(shared_data), "--results-dir",
                                 str(shared_data / "results"), "--csv", str(out), "--per-sequence"], capsys)
    assert code == 0, err
    overall = pd.read_csv(out, index_col=[0, 1, 2])
    assert overall.loc[("otb2015", "pysot", "SiamRPN++"), "auc"] == pytest.approx(0.696, abs=5e-4)
    from siambench import __version__

    assert set(overall["siambench_version"]) == {__version__}  # the file says which definitions made it
    from siambench import __version__

    assert set(overall["siambench_version"]) == {__version__}  # the file says which definitions made it
    assert len(pd.read_csv(tmp_path / "otb-sequences.csv")) == 200
    attrs = pd.read_csv(tmp_path / "otb-attributes.csv")
    assert set(attrs["attribute"]) >= {"OCC", "FM", "IV"}
    assert "otb-attributes.csv" in stdout
