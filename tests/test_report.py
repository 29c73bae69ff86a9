"""siambench report: table model, output formats, published references, and the VOT2018 golden table."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_run import run_cli

from siambench.errors import InputError, UnknownNameError
from siambench.report import build_table, load_layout, render, resolve_table
from siambench.report.tables import load_reference
from siambench.scores import load_scores, parse_scores

REPO = Path(__file__).resolve().parents[1]


def vot_scores(**trackers: dict) -> list:
    return parse_scores({"dataset": "vot2018", "variant": "pysot", "siambench_version": "0.1.0",
                         "trackers": {name: {"overall": o} for name, o in trackers.items()}}, "hand")


def otb_scores() -> list:
    return parse_scores([
        {"dataset": "otb2015", "variant": "pysot", "trackers": {
            "SiamFC": {"overall": {"auc": 0.5874, "precision": 0.7712}},
            "MyTracker": {"overall": {"auc": 0.701, "precision": 0.95}}}},
        {"dataset": "otb2013", "variant": "pysot", "trackers": {
            "SiamFC": {"overall": {"auc": 0.6121, "precision": 0.8089}}}},
    ], "hand-otb")


# --- published references ------------------------------------------------------------------------

def _paper_rows(text: str, heading: str) -> list[list[str]]:
    """Rows of the first markdown table after `heading` in paper-tables.md."""
    section = text[text.index(heading):]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return [r for r in rows if not set("".join(r)) <= set("-:")]


def test_table2_reference_matches_the_paper_transcription(shared_dir: Path) -> None:
    rows = _paper_rows((shared_dir / "reference" / "paper-tables.md").read_text(), "## Table 2")
    names = rows[0][1:]
    metrics = {"EAO": "eao", "Accuracy": "accuracy", "Robustness": "robustness", "AO": "ao"}
    ref = {t.name: t for t in load_reference("siamrpnpp-cvpr2019-table2").trackers}
    assert list(ref) == names
    for row in rows[1:]:
        metric = metrics[row[0].split()[0]]
        for name, cell in zip(names, row[1:], strict=True):
            assert ref[name].scores[("vot2018", metric)] == float(cell), (name, metric)


def test_table5_reference_matches_the_paper_transcription(shared_dir: Path) -> None:
    rows = _paper_rows((shared_dir / "reference" / "paper-tables.md").read_text(), "## Table 5")
    layout = load_layout(resolve_table("table5"))
    ref = {t.name: t for t in load_reference("siamdw-cvpr2019-table5").trackers}
    assert list(ref) == [r[0] for r in rows[1:]]
    for row in rows[1:]:
        tracker = ref[row[0]]
        assert tracker.info["year"] == int(row[1])
        for column, cell in zip(layout.metrics, row[2:], strict=True):
            expected = None if cell == "-" else float(cell)
            assert tracker.scores.get((column.dataset, column.metric)) == expected, (row[0], column)


# --- the table model ------------------------------------------------------------------------------

def test_measured_column_sits_beside_its_published_one_with_the_difference() -> None:
    scores = vot_scores(DaSiamRPN={"eao": 0.3931, "accuracy": 0.5860, "robustness": 0.2763})
    table = build_table(load_layout(resolve_table("table2")), scores, {"DaSiamRPN": "SiamRPN"})
    labels = [e.label for e in table.entries]
    i = labels.index("SiamRPN")
    assert labels[i + 1 : i + 3] == ["SiamRPN (measured)", "Δ SiamRPN"]
    measured, delta = table.entries[i + 1], table.entries[i + 2]
    assert (measured.kind, measured.tracker) == ("measured", "DaSiamRPN")
    assert measured.values[:3] == [0.3931, 0.5860, 0.2763] and measured.values[3] is None
    assert delta.values[0] == pytest.approx(0.0101)
    assert delta.values[3] is None
    assert "DaSiamRPN shown as SiamRPN" in " ".join(table.notes)


def test_without_alias_a_measured_tracker_is_its_own_entry_and_no_delta() -> None:
    table = build_table(load_layout(resolve_table("table2")), vot_scores(Mine={"eao": 0.5}), show_delta=False)
    assert [e.label for e in table.entries][-1] == "Mine (measured)"
    assert not [e for e in table.entries if e.kind == "delta"]


def test_top_three_are_ranked_per_column_and_direction_aware() -> None:
    table = build_table(load_layout(resolve_table("table5")), otb_scores())
    by_label = {e.label: e for e in table.entries}
    col = {(m.dataset, m.metric): i for i, m in enumerate(table.metrics)}
    otb15_auc = col[("otb2015", "auc")]
    # MyTracker's measured 0.70 beats SiamRPN+'s published 0.67, which drops to second
    assert by_label["MyTracker (measured)"].marks[otb15_auc] == 1
    assert by_label["SiamRPN+"].marks[otb15_auc] == 2
    # ties share a place: SiamFC+ and SiamRPN+ both print 0.67 on OTB2013 AUC
    otb13_auc = col[("otb2013", "auc")]
    assert by_label["SiamFC+"].marks[otb13_auc] == by_label["SiamRPN+"].marks[otb13_auc] == 1
    assert by_label["PTAV"].marks[otb13_auc] == 2
    # VOT2015 R is lower-is-better: SiamFC's 0.88 failures per sequence is first
    assert by_label["SiamFC"].marks[col[("vot2015", "mean_failures")]] == 1
    assert by_label["Staple"].marks[col[("vot2015", "mean_failures")]] == 0
    assert all(m == 0 for e in table.entries if e.kind == "delta" for m in e.marks)


def test_mean_failures_is_derived_from_failures_and_sequences() -> None:
    (s,) = parse_scores({"dataset": "vot2015", "trackers": {"T": {
        "overall": {"failures": 30}, "sequences": {f"s{i}": {} for i in range(60)}}}}, "x")
    assert s.value("T", "mean_failures") == pytest.approx(0.5)


def test_a_table_defined_in_yaml_needs_no_code(tmp_path: Path) -> None:
    (tmp_path / "ref.yaml").write_text(
        "name: my-ref\ncitation: Someone, Some venue 2024.\n"
        "trackers:\n  - name: Old\n    scores: {otb2015: {auc: 0.6, precision: 0.8}}\n")
    (tmp_path / "mine.yaml").write_text(
        "name: mine\ntitle: My table\norientation: trackers-as-rows\nreferences: [ref.yaml]\n"
        "metrics:\n  - {label: AUC, dataset: otb2015, metric: auc, digits: 3}\n"
        "  - {label: Err, dataset: otb2015, metric: center_error, digits: 1}\n")
    layout = load_layout(resolve_table(str(tmp_path / "mine.yaml")))
    table = build_table(layout, otb_scores())
    assert [e.label for e in table.entries] == ["Old", "SiamFC (measured)", "MyTracker (measured)"]
    assert table.metrics[1].arrow == "↓"
    text = render(table, "markdown")
    assert "| Old | <u>0.600</u> | - |" in text
    assert "Someone, Some venue 2024." in text


def test_bad_layouts_and_names_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\norientation: diagonal\nmetrics: [{dataset: x, metric: y}]\n")
    with pytest.raises(InputError, match="orientation"):
        load_layout(bad)
    bad.write_text("name: bad\nmetrics: [{label: x}]\n")
    with pytest.raises(InputError, match=r"metrics\[0\]"):
        load_layout(bad)
    with pytest.raises(UnknownNameError, match="table5"):
        resolve_table("table9")


# --- output formats -------------------------------------------------------------------------------

class _TableChecker(HTMLParser):
    """Checks that tags nest and close, and counts the cells (with colspan) of each table row."""

    VOID = {"br", "hr", "img", "meta", "link", "input", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.rows: list[int] = []
        self.spans: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "tr":
            self.rows.append(0)
        if tag in {"td", "th"}:
            self.rows[-1] += int(dict(attrs).get("colspan", 1))
        if tag == "span":
            self.spans.setdefault(dict(attrs)["class"], [])

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


@pytest.fixture
def table5():
    return build_table(load_layout(resolve_table("table5")), otb_scores())


@pytest.fixture
def table2():
    return build_table(load_layout(resolve_table("table2")),
                       vot_scores(DaSiamRPN={"eao": 0.383, "accuracy": 0.586, "robustness": 0.276}),
                       {"DaSiamRPN": "SiamRPN"})


@pytest.mark.parametrize("which", ["table2", "table5"])
def test_html_is_well_formed_with_equal_row_widths(which: str, request: pytest.FixtureRequest) -> None:
    table = request.getfixturevalue(which)
    checker = _TableChecker()
    checker.feed(render(table, "html"))
    checker.close()
    assert checker.stack == []
    width = len(table.entries) + 1 if which == "table2" else 2 + len(table.metrics)
    assert set(checker.rows) == {width}
    assert set(checker.spans) == (set() if which == "table2" else {"first", "second", "third"})


def test_html_marks_places_in_red_green_blue(table5) -> None:
    text = render(table5, "html")
    assert '<span class="first" style="color:red">0.95</span>' in text  # measured OTB2015 precision
    assert "color:green" in text and "color:blue" in text
    assert "siambench" in text and "Metric variant: pysot" in text


def _tabular_rows(tex: str) -> tuple[int, list[str]]:
    body = tex[tex.index(r"\begin{tabular}"):tex.index(r"\end{tabular}")]
    spec = re.match(r"\\begin\{tabular\}\{([^}]*)\}", body).group(1)
    rows = [r.strip() for r in body.split("\n")[1:] if r.strip().endswith(r"\\")]
    return len(spec), rows


@pytest.mark.parametrize("which", ["table2", "table5"])
def test_latex_tabular_is_balanced(which: str, request: pytest.FixtureRequest) -> None:
    table = request.getfixturevalue(which)
    tex = render(table, "latex")
    for env in ("table", "tabular"):
        assert tex.count(rf"\begin{{{env}}}") == tex.count(rf"\end{{{env}}}") == 1
    assert tex.index(r"\begin{tabular}") < tex.index(r"\end{tabular}")
    assert tex.count("{") - tex.count(r"\{") == tex.count("}") - tex.count(r"\}")
    columns, rows = _tabular_rows(tex)
    for row in rows:
        spans = sum(int(n) - 1 for n in re.findall(r"\\multicolumn\{(\d+)\}", row))
        assert row.count("&") - row.count(r"\&") + 1 + spans == columns, row
    assert r"SA\_Siam\_R" in tex or which == "table5"
    assert "$\\uparrow$" in tex and "$\\downarrow$" in tex
    assert "siambench" in tex and "pysot" in tex


def test_latex_marks_places_bold_underline_italic(table5) -> None:
    tex = render(table5, "latex")
    assert r"\textbf{0.92}" in tex and r"\underline{0.89}" in tex and r"\textit{0.88}" in tex


@pytest.mark.parametrize("which", ["table2", "table5"])
def test_markdown_table_has_equal_column_counts(which: str, request: pytest.FixtureRequest) -> None:
    table = request.getfixturevalue(which)
    lines = [ln for ln in render(table, "markdown").splitlines() if ln.startswith("|")]
    counts = {len(re.split(r"(?<!\\)\|", ln)) - 2 for ln in lines}
    expected = len(table.entries) + 1 if which == "table2" else 2 + len(table.metrics)
    assert counts == {expected}
    assert len(lines) == 2 + (len(table.metrics) if which == "table2" else len(table.entries))


def test_markdown_places_and_group_headings(table5) -> None:
    text = render(table5, "markdown")
    assert "| OTB2013 AUC ↑ |" in text and "VOT2015 R ↓" in text
    assert "**0.92**" in text and "<u>0.89</u>" in text and "*0.88*" in text
    assert "siambench" in text and "pysot" in text


def test_csv_loads_with_pandas(table2, table5) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(io.StringIO(render(table5, "csv")))
    assert len(frame) == len(table5.entries)
    assert list(frame.columns[:5]) == ["table", "tracker", "row", "source_tracker", "Year"]
    row = frame[frame.tracker == "SiamFC (measured)"].iloc[0]
    assert row["OTB2015 AUC"] == pytest.approx(0.5874) and pd.isna(row["VOT2017 EAO"])
    assert set(frame.row) == {"published", "measured", "delta"}
    assert set(frame.variant) == {"pysot"}
    frame2 = pd.read_csv(io.StringIO(render(table2, "csv")))
    assert frame2.set_index("tracker").loc["SiamRPN++", "EAO"] == pytest.approx(0.414)


def test_terminal_colours_or_superscripts(table5) -> None:
    coloured = render(table5, "terminal", color=True)
    assert "\033[1;31m0.92\033[0m" in coloured and "\033[1;34m" in coloured
    plain = render(table5, "terminal", color=False)
    assert "\033[" not in plain and "0.92¹" in plain and "0.89²" in plain
    widths = {len(line) for line in plain.splitlines()[2:5]}
    assert len(widths) <= 2  # header and body lines align (trailing cells may be right-stripped)


# --- command line ---------------------------------------------------------------------------------

def test_report_command_reads_score_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    score_file = tmp_path / "scores.json"
    score_file.write_text(json.dumps({"dataset": "vot2018", "variant": "pysot", "trackers": {
        "DaSiamRPN": {"overall": {"eao": 0.383, "accuracy": 0.586, "robustness": 0.276}}}}))
    code, out, _ = run_cli(["report", "--table", "table2", "--scores", str(score_file),
                            "--as", "DaSiamRPN=SiamRPN", "--format", "markdown"], capsys)
    assert code == 0 and "| EAO ↑ |" in out and "SiamRPN (measured)" in out
    # --table with no value: only tables with results (table5 has no vot2018 column)
    code, out, _ = run_cli(["report", "--table", "--scores", str(score_file), "--no-color"], capsys)
    assert code == 0 and out.startswith("table2:") and "table5" not in out
    out_file = tmp_path / "t.tex"
    code, _, err = run_cli(["report", "--table", "table5", "--table", "table2", "--scores", str(score_file),
                            "--format", "latex", "--out", str(out_file)], capsys)
    assert code == 0 and out_file.read_text().count(r"\begin{tabular}") == 2
    code, _, _ = run_cli(["report", "--table", "table2", "--table", "table5", "--scores", str(score_file),
                          "--format", "csv", "--out", str(tmp_path / "t.csv")], capsys)
    assert code == 0 and {p.name for p in tmp_path.glob("t-*.csv")} == {"t-table2.csv", "t-table5.csv"}


def test_report_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli(["report", "--table", "table2", "--scores", str(bad)], capsys)
    assert code == 2 and err.count("\n") == 1 and "bad.json:1" in err
    code, _, err = run_cli(["report", "--table", "table2", "--as", "nothing"], capsys)
    assert code == 2 and "MEASURED=NAME" in err
    code, out, _ = run_cli(["report", "--list"], capsys)
    assert code == 0 and "table2" in out and "table5" in out


def test_report_outputs_are_checked_before_scoring(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import siambench.commands.report_cmd as report_cmd

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before the outputs were checked")

    monkeypatch.setattr(report_cmd, "gather_scores", no_scoring)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    for option, target in (("--out", blocker / "t.md"), ("--plots", blocker / "plots")):
        code, out, err = run_cli(["report", "--table", "table2", "--results-dir", str(tmp_path),
                                  option, str(target)], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert f"{blocker}: cannot write: a file is in the way" in err


def test_report_writes_through_the_atomic_writer(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import siambench.textio

    score_file = tmp_path / "scores.json"
    score_file.write_text(json.dumps({"dataset": "vot2018", "variant": "pysot", "trackers": {
        "DaSiamRPN": {"overall": {"eao": 0.383, "accuracy": 0.586, "robustness": 0.276}}}}))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(siambench.textio.os, "fsync", disk_full)
    out_file = tmp_path / "t.md"
    code, _, err = run_cli(["report", "--table", "table2", "--scores", str(score_file),
                            "--format", "markdown", "--out", str(out_file)], capsys)
    assert code == 2 and f"{out_file}: cannot write (No space left on device)" in err
    assert not out_file.exists() and not list(tmp_path.glob(".t.md.*"))


def test_report_and_gate_never_import_torch_or_matplotlib(tmp_path: Path) -> None:
    score_file = tmp_path / "s.json"
    score_file.write_text(json.dumps({"dataset": "otb2015", "trackers": {"A": {"overall": {"auc": 0.6}}}}))
    code = (
        "import sys\n"
        "from siambench.cli import main\n"
        "import siambench.scores, siambench.gate, siambench.report.tables, siambench.report.render\n"
        "import siambench.commands.report_cmd, siambench.commands.gate_cmd\n"
        f"try:\n    main(['report', '--table', 'table5', '--scores', {str(score_file)!r}])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib'))\n"
        "assert not bad, bad\n"
    )
    shared = Path(os.environ.get("SIAMBENCH_SHARED", REPO.parent / "shared")) / "data"
    if (shared / "results" / "VOT2018").is_dir():  # scoring a results tree stays torch-free too
        (tmp_path / "results").mkdir()
        (tmp_path / "results" / "VOT2018").symlink_to(shared / "results" / "VOT2018")
        code += (
            f"main(['gate', '--baseline', {str(tmp_path / 'b.json')!r}, '--update', '--results-dir',"
            f" {str(tmp_path / 'results')!r}, '--data-root', {str(shared)!r}, '--metric', 'eao'])\n"
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules\n"
        )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "SiamRPN+" in result.stdout


# --- golden: VOT2018 DaSiamRPN raw results as Table 2's SiamRPN column -------------------------------

@pytest.fixture(scope="module")
def dasiamrpn_scores(shared_data: Path) -> dict:
    results = shared_data / "results" / "VOT2018" / "DaSiamRPN"
    if not results.is_dir() or not (shared_data / "VOT2018" / "VOT2018.json").is_file():
        pytest.skip(f"VOT2018 DaSiamRPN raw results or ground truth missing under {shared_data}")
    from siambench.evaluate import evaluate

    return evaluate(dataset="vot2018", results_dir=str(shared_data / "results"), data_root=str(shared_data),
                    trackers=["DaSiamRPN"])


def test_table2_golden_measured_siamrpn_column(dasiamrpn_scores: dict) -> None:
    scores = parse_scores(dasiamrpn_scores, "evaluate(vot2018)")
    table = build_table(load_layout(resolve_table("table2")), scores, {"DaSiamRPN": "SiamRPN"})
    grid_text = render(table, "markdown")
    header = next(ln for ln in grid_text.splitlines() if ln.startswith("|  |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    published, measured = names.index("SiamRPN"), names.index("SiamRPN (measured)")
    for label, expected in (("EAO ↑", "0.383"), ("Accuracy ↑", "0.586"), ("Robustness ↓", "0.276")):
        row = next(ln for ln in grid_text.splitlines() if ln.startswith(f"| {label} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[published] == cells[measured] == expected, label


def test_table2_golden_through_the_command(dasiamrpn_scores: dict, shared_data: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    pd = pytest.importorskip("pandas")
    score_file = tmp_path / "vot2018.json"
    score_file.write_text(json.dumps(dasiamrpn_scores))
    assert load_scores([score_file])[0].value("DaSiamRPN", "failures") == 59
    code, out, _ = run_cli(["report", "--table", "table2", "--scores", str(score_file),
                            "--as", "DaSiamRPN=SiamRPN", "--format", "csv"], capsys)
    assert code == 0
    frame = pd.read_csv(io.StringIO(out)).set_index("tracker")
    for tracker in ("SiamRPN", "SiamRPN (measured)"):
        got = frame.loc[tracker, ["EAO", "Accuracy", "Robustness"]].astype(float).round(3).tolist()
        assert got == [0.383, 0.586, 0.276], tracker


def test_tables_from_a_results_tree(shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    """The command scores every dataset folder a table needs (OTB100 serves OTB-2013 and OTB-2015)."""
    pd = pytest.importorskip("pandas")
    if not (shared_data / "results" / "OTB100" / "SiamFC").is_dir():
        pytest.skip("OTB100 SiamFC raw results missing")
    code, out, _ = run_cli(["report", "--table", "table5", "--results-dir", str(shared_data / "results"),
                            "--data-root", str(shared_data), "--format", "csv"], capsys)
    assert code == 0
    frame = pd.read_csv(io.StringIO(out)).set_index("tracker")
    siamfc = frame.loc["SiamFC (measured)"]
    assert round(siamfc["OTB2013 AUC"], 3) == 0.612 and round(siamfc["OTB2015 AUC"], 3) == 0.587
    assert round(frame.loc["SiamRPN++ (measured)", "OTB2015 AUC"], 3) == 0.696
    assert frame.loc["Δ SiamFC", "OTB2013 AUC"] == pytest.approx(0.612 - 0.61, abs=1e-3)
    assert frame.loc["SiamFC (measured)", "Year"] == 2016  # taken from the published row
    code, out, _ = run_cli(["report", "--table", "table2", "--results-dir", str(shared_data / "results"),
                            "--data-root", str(shared_data), "--as", "DaSiamRPN=SiamRPN", "--format", "csv"], capsys)
    frame = pd.read_csv(io.StringIO(out)).set_index("tracker")
    assert code == 0 and round(frame.loc["SiamRPN (measured)", "EAO"], 3) == 0.383
