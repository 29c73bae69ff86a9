"""siambench report --plots: every plot is written as a non-empty PNG and PDF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siambench.cli import main
from siambench.scores import parse_scores

pytest.importorskip("matplotlib")

OTB_ATTRS = ("IV", "SV", "OCC", "FM")
VOT_TAGS = ("camera_motion", "illum_change", "occlusion")


def _success(auc: float) -> list[float]:
    """A monotone 21-point success curve whose mean is about `auc`."""
    return [min(1.0, max(0.0, 2 * auc - t / 20 * 2 * auc + 0.0)) if t < 20 else 0.0 for t in range(21)]


def _precision(p20: float) -> list[float]:
    return [min(1.0, p20 * t / 20) for t in range(51)]


def _otb_tracker(auc: float) -> dict:
    # as evaluate() stores them: per-attribute scalars plus "success_curve"
    attributes = {a: {"auc": auc - 0.01 * i, "sequences": 10, "success_curve": _success(auc - 0.01 * i)}
                  for i, a in enumerate(OTB_ATTRS)}
    return {"overall": {"auc": auc, "precision": auc + 0.2,
                        "curves": {"success": _success(auc), "precision": _precision(auc + 0.2)},
                        "attributes": attributes}}


def _vot_tracker(eao: float) -> dict:
    curve = [1.0] + [max(0.0, 0.8 - 0.001 * k) * eao / 0.4 for k in range(1, 400)]
    return {"overall": {"eao": eao, "accuracy": 0.5 + eao / 4, "robustness": 0.6 - eao,
                        "curves": {"eao": curve},
                        "tags": {t: {"eao": eao - 0.02 * i, "accuracy": 0.5} for i, t in enumerate(VOT_TAGS)}}}


@pytest.fixture
def scores() -> list:
    return parse_scores([
        {"dataset": "otb2015", "variant": "pysot",
         "trackers": {"SiamFC": _otb_tracker(0.58), "SiamRPN++": _otb_tracker(0.69)}},
        {"dataset": "vot2018", "variant": "pysot",
         "trackers": {"DaSiamRPN": _vot_tracker(0.38), "Other": _vot_tracker(0.30)}},
    ], "hand")


def _check_files(paths: list[Path]) -> None:
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 1000, path
        assert data[:4] == (b"\x89PNG" if path.suffix == ".png" else b"%PDF"), path


def test_every_plot_is_written_as_png_and_pdf(scores: list, tmp_path: Path) -> None:
    from siambench.report.plots import write_plots

    written = write_plots(scores, tmp_path / "plots")
    stems = {p.stem for p in written}
    expected = {"otb2015_success", "otb2015_precision", "otb2015_radar", "vot2018_eao_curve",
                "vot2018_ar", "vot2018_radar"} | {f"otb2015_success_{a}" for a in OTB_ATTRS}
    assert stems == expected
    assert {p.suffix for p in written} == {".png", ".pdf"} and len(written) == 2 * len(expected)
    _check_files(written)


def test_success_legend_is_ranked_by_auc_and_precision_by_20px() -> None:
    from siambench.report.plots import precision_plot, success_plot

    fig = success_plot({"low": _success(0.4), "high": _success(0.7)}, "t")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [s.split()[0] for s in legend] == ["high", "low"]
    assert legend[0].endswith(f"[{sum(_success(0.7)) / 21:.3f}]")
    curves = {"a": [0.0] * 20 + [0.5] + [1.0] * 30, "b": [0.0] * 20 + [0.9] + [0.9] * 30}
    legend = [t.get_text() for t in precision_plot(curves, "t").axes[0].get_legend().get_texts()]
    assert legend == ["b [0.900]", "a [0.500]"]  # ranked at 20 px, not by the curve's area


def test_eao_plot_shades_the_interval() -> None:
    from siambench.report.plots import eao_plot

    fig = eao_plot({"x": [1.0] + [0.4] * 400}, {"x": 0.4}, (100, 356), "t")
    patches = fig.axes[0].patches
    assert len(patches) == 1
    span = patches[0]  # a Rectangle since matplotlib 3.9, a Polygon before
    xs = ([span.get_x(), span.get_x() + span.get_width()] if hasattr(span, "get_width")
          else [v[0] for v in span.get_xy()])
    assert min(xs) == 100 and max(xs) == 356


def test_report_command_writes_plots(scores: list, tmp_path: Path, capsys: pytest.CaptureFixture,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./results/analysis of an earlier `siambench analyze` is copied in
    score_file = tmp_path / "scores.json"
    score_file.write_text(json.dumps([
        {"dataset": s.dataset, "variant": s.variant, "trackers": dict(s.trackers)} for s in scores]))
    try:
        main(["report", "--scores", str(score_file), "--plots", str(tmp_path / "figs"), "--as", "Other=Renamed"])
    except SystemExit as exc:
        assert not exc.code
    assert "plot files" in capsys.readouterr().err
    _check_files(sorted((tmp_path / "figs").iterdir()))
    assert (tmp_path / "figs" / "vot2018_ar.pdf").is_file()


def test_plots_of_real_vot2018_scores(shared_data: Path, tmp_path: Path) -> None:
    if not (shared_data / "results" / "VOT2018" / "DaSiamRPN").is_dir():
        pytest.skip("VOT2018 DaSiamRPN raw results missing")
    from siambench.evaluate import evaluate
    from siambench.report.plots import write_plots

    scores = evaluate(dataset="vot2018", results_dir=str(shared_data / "results"),
                      data_root=str(shared_data), trackers=["DaSiamRPN"])
    written = write_plots(parse_scores(scores, "evaluate"), tmp_path, formats=("png",))
    assert {"vot2018_ar", "vot2018_eao_curve"} <= {p.stem for p in written}
    _check_files(written)


def test_report_copies_the_analysis_figures(scores: list, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    score_file = tmp_path / "scores.json"
    score_file.write_text(json.dumps([
        {"dataset": s.dataset, "variant": s.variant, "trackers": dict(s.trackers)} for s in scores]))
    analysis = tmp_path / "analysis"
    for sub in ("bias", "shift"):
        (analysis / sub).mkdir(parents=True)
        (analysis / sub / f"{sub}.png").write_bytes(b"\x89PNG fake " + sub.encode())
    (analysis / "bias" / "notes.png").write_bytes(b"not an analysis figure")
    try:
        main(["report", "--scores", str(score_file), "--plots", str(tmp_path / "figs"), "--analysis", str(analysis)])
    except SystemExit as exc:
        assert not exc.code
    assert "copied 2 analysis figure(s)" in capsys.readouterr().err
    copied = sorted(p.name for p in (tmp_path / "figs" / "analysis").iterdir())
    assert copied == ["bias-bias.png", "shift-shift.png"]
    assert (tmp_path / "figs" / "analysis" / "shift-shift.png").read_bytes() == b"\x89PNG fake shift"
