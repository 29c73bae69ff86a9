"""`siambench report`: paper-style tables and plots from score files or a results tree."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from siambench.errors import SiambenchError
from siambench.report.render import FORMATS, render
from siambench.report.tables import (
    Layout,
    available_tables,
    build_table,
    has_results,
    load_layout,
    resolve_table,
)
from siambench.scores import ScoreSet, gather_scores
from siambench.textio import atomic_write_text, check_writable_dir, check_writable_file


def parse_aliases(specs: Iterable[str]) -> dict[str, str]:
    """`MEASURED=SHOWN` pairs, e.g. DaSiamRPN=SiamRPN."""
    aliases = {}
    for spec in specs:
        measured, sep, shown = spec.partition("=")
        if not sep or not measured or not shown:
            raise SiambenchError(f"--as {spec!r}: expected MEASURED=NAME, e.g. DaSiamRPN=SiamRPN")
        aliases[measured] = shown
    return aliases


def warn_skipped(line: str) -> None:
    click.echo(f"siambench: skipped {line}", err=True)


def _select_layouts(names: tuple[str, ...], scores: list[ScoreSet]) -> list[Layout]:
    if any(name == "all" for name in names):
        layouts = [load_layout(p) for p in available_tables().values()]
        chosen = [layout for layout in layouts if has_results(layout, scores)]
        if not chosen:
            raise SiambenchError("no scores fill any table (tables: "
                                 f"{', '.join(sorted(available_tables()))}); give --scores or --results-dir")
        explicit = [load_layout(resolve_table(n)) for n in names if n != "all"]
        return explicit + [c for c in chosen if c.name not in {e.name for e in explicit}]
    return [load_layout(resolve_table(name)) for name in names]


def _write(out: Path, text: str) -> None:
    atomic_write_text(out, text)
    click.echo(f"wrote {out}", err=True)


@click.command("report")
@click.option("--table", "tables", multiple=True, is_flag=False, flag_value="all", metavar="NAME|FILE",
              help="Table to render: a name from benchmarks/tables (table2, table5), a layout YAML, or "
                   "no value for every table that has results. Repeatable.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results tree (<dir>/<DATASET>/<tracker>/...) to score. Default: results/ when no "
                   "--scores is given.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dataset annotations root (default $SIAMBENCH_DATA or ./data).")
@click.option("--scores", "score_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Score file written by `siambench eval --json`. Repeatable.")
@click.option("--variant", default="pysot", show_default=True,
              help="Metric variant used when scoring a results tree.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="terminal", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the tables here instead of stdout (CSV: one file per table when several).")
@click.option("--as", "alias_specs", multiple=True, metavar="MEASURED=NAME",
              help="Show measured tracker MEASURED as table entry NAME, e.g. DaSiamRPN=SiamRPN.")
@click.option("--delta/--no-delta", default=True, show_default=True,
              help="Add a measured-minus-published entry where a measured tracker has a published one.")
@click.option("--color/--no-color", default=None,
              help="Colour places in terminal output (default: when stdout is a terminal).")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write success/precision, per-attribute, EAO, A-R and radar plots (PNG, PDF) here.")
@click.option("--analysis", "analysis_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --plots: also copy the figures `siambench analyze` wrote under this folder "
                   "(default results/analysis, when it exists) into the plots folder.")
@click.option("--list", "list_only", is_flag=True, help="List the available tables and exit.")
def report_command(tables: tuple[str, ...], results_dir: Path | None, data_root: Path | None,
                   score_files: tuple[Path, ...], variant: str, fmt: str, out: Path | None,
                   alias_specs: tuple[str, ...], delta: bool, color: bool | None, plots_dir: Path | None,
                   analysis_dir: Path | None, list_only: bool) -> None:
    """Render paper-style tables (published rows beside measured ones) and plots."""
    if list_only:
        for name, path in available_tables().items():
            click.echo(f"{name}\t{load_layout(path).title}")
        return
    aliases = parse_aliases(alias_specs)
    # fail before scoring a results tree when the tables or plots could not be written
    if out is not None:
        check_writable_file(out)
    if plots_dir is not None:
        check_writable_dir(plots_dir)
    if not tables and plots_dir is None:
        tables = ("all",)
    # score only the datasets the tables show (plots show every dataset with results)
    shown = [load_layout(resolve_table(n)) for n in tables if n != "all"]
    if "all" in tables:
        shown += [load_layout(p) for p in available_tables().values()]
    needed = None if plots_dir is not None else set().union(*(layout.datasets for layout in shown))
    scores = gather_scores(score_files, results_dir, data_root, variant, needed, on_skip=warn_skipped)
    measured = {tracker for score_set in scores for tracker in score_set.trackers}
    for name in sorted(set(aliases) - measured):  # a typo would silently show nothing under the name
        click.echo(f"siambench: warning: --as {name}={aliases[name]}: no scores of a tracker {name!r}", err=True)

    if tables:
        layouts = _select_layouts(tables, scores)
        built = [build_table(layout, scores, aliases, show_delta=delta) for layout in layouts]
        if color is None:  # colour only an interactive terminal, and respect NO_COLOR
            color = out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        texts = [render(t, fmt, color=color) for t in built]
        if out is None:
            click.echo("\n".join(texts), nl=False)
        elif fmt == "csv" and len(texts) > 1:
            for table, text in zip(built, texts, strict=True):
                _write(out.with_name(f"{out.stem}-{table.name}{out.suffix or '.csv'}"), text)
        else:
            _write(out, "\n".join(texts))

    if plots_dir is not None:
        from siambench.report.plots import write_plots

        written = write_plots(scores, plots_dir, aliases=aliases)
        click.echo(f"wrote {len(written)} plot files to {plots_dir}", err=True)
        copied = _copy_analysis_figures(analysis_dir, plots_dir)
        if copied:
            click.echo(f"copied {len(copied)} analysis figure(s) to {plots_dir / 'analysis'}", err=True)
    elif analysis_dir is not None:
        raise SiambenchError("--analysis goes with --plots DIR (the figures are copied there)")


def _copy_analysis_figures(analysis_dir: Path | None, plots_dir: Path) -> list[Path]:
    """The figures of `siambench analyze` under `analysis_dir`, copied beside the plots."""
    from siambench.analysis.report import analysis_figures
    from siambench.textio import atomic_write_bytes, read_bytes

    root = analysis_dir if analysis_dir is not None else Path("results/analysis")
    if analysis_dir is not None and not root.is_dir():
        raise SiambenchError(f"--analysis {root}: no such folder (run `siambench analyze` first)")
    copied = []
    for figure in analysis_figures(root):
        target = plots_dir / "analysis" / "-".join(figure.relative_to(root).parts)
        atomic_write_bytes(target, read_bytes(figure, "figure"))
        copied.append(target)
    return copied
