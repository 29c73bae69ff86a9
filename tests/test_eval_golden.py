"""Golden values: published raw results must score exactly as the papers report."""

from __future__ import annotations

import pytest

from siambench.evaluate import evaluate


@pytest.fixture(scope="module")
def vot2018(shared_data):
    return evaluate("vot2018", shared_data / "results", shared_data, trackers=["DaSiamRPN"])


def test_dasiamrpn_vot2018_matches_table2(vot2018):
    # SiamRPN++ paper, Table 2, column SiamRPN (DaSiamRPN's VOT2018 entry)
    o = vot2018["trackers"]["DaSiamRPN"]["overall"]
    assert round(o["eao"], 3) == 0.383
    assert round(o["accuracy"], 3) == 0.586
    assert round(o["robustness"], 3) == 0.276
    assert o["failures"] == 59
    assert vot2018["variant"] == "pysot"


def test_dasiamrpn_vot2018_vot_toolkit_variant(shared_data):
    s = evaluate("vot2018", shared_data / "results", shared_data, trackers=["DaSiamRPN"], variant="vot-toolkit")
    o = s["trackers"]["DaSiamRPN"]["overall"]
    # vot-toolkit 0.9.0 on the same files (metric-definitions.md)
    assert o["eao"] == pytest.approx(0.3717, abs=5e-5)
    assert o["accuracy"] == pytest.approx(0.5856, abs=5e-5)
    assert o["robustness"] == pytest.approx(0.2763, abs=5e-5)
    assert s["variant"] == "vot-toolkit"


def test_vot2018_per_sequence_and_tags(vot2018):
    t = vot2018["trackers"]["DaSiamRPN"]
    assert len(t["sequences"]) == 60
    assert sum(v["failures"] for v in t["sequences"].values()) == 59
    assert set(t["overall"]["tags"]) >= {"camera_motion", "occlusion", "empty"}
    assert len(t["overall"]["curves"]["eao"]) > 356


def test_siamrpnpp_otb100_auc(shared_data):
    s = evaluate("otb2015", shared_data / "results", shared_data, trackers=["SiamRPN++"])
    assert round(s["trackers"]["SiamRPN++"]["overall"]["auc"], 3) == 0.696


def test_siamfc_otb100_and_otb2013(shared_data):
    full = evaluate("otb100", shared_data / "results", shared_data, trackers=["SiamFC"])
    sub = evaluate("otb2013", shared_data / "results", shared_data, trackers=["SiamFC"])
    assert round(full["trackers"]["SiamFC"]["overall"]["auc"], 3) == 0.587
    assert round(sub["trackers"]["SiamFC"]["overall"]["auc"], 3) == 0.612
    assert len(sub["trackers"]["SiamFC"]["sequences"]) == 51
    attrs = full["trackers"]["SiamFC"]["overall"]["attributes"]
    assert set(attrs) == {"IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR"}
    assert sum(a["sequences"] for a in attrs.values()) > 100
