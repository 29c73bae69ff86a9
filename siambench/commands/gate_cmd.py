"""`siambench gate`: fail (exit 1) when a score got worse than the committed baseline."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from siambench.errors import SiambenchError
from siambench.gate import (
    Tolerances,
    check_metric_names,
    compare,
    failed,
    format_changes,
    load_baseline,
    parse_tolerances,
    unchecked_completeness,
    write_baseline,
)
from siambench.scores import ScoreEntry, flatten, gated_metrics, gather_scores

log = logging.getLogger("siambench")


def _metric_list(specs: tuple[str, ...]) -> list[str] | None:
    metrics = [m.strip() for spec in specs for m in spec.split(",") if m.strip()]
    if specs and not metrics:  # "--metric ''" would gate everything, which it did not ask for
        raise SiambenchError(f"--metric {specs[0]!r} names no metric; leave the option out to gate them all")
    return metrics or None


def _check_names(metrics: list[str] | None, tolerances: Tolerances, known: set[str]) -> None:
    """Misspelt names are errors; a tolerance for a metric --metric leaves out is said to be unused."""
    check_metric_names(metrics or (), known, "--metric")
    check_metric_names(tolerances.per_metric or {}, known, "--tolerance")
    unused = sorted(set(tolerances.per_metric or {}) - set(metrics or known))
    if unused:
        log.warning("--tolerance for %s is not used: --metric leaves %s out",
                    ", ".join(unused), "it" if len(unused) == 1 else "them")


def _warn_uncounted(entries: Iterable[ScoreEntry]) -> None:
    uncounted = sum(e.sequences is None or e.frames is None for e in entries)
    if uncounted:
        log.warning("%d scores do not record sequences_scored and frames: the baseline cannot check "
                    "their completeness", uncounted)


@click.command("gate")
@click.option("--baseline", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Baseline JSON (see siambench/gate.py or docs/ci-gate.md for the format).")
@click.option("--tolerance", "tolerance_specs", multiple=True, metavar="NUMBER|METRIC=NUMBER",
              help="Allowed worsening (default 0.005); METRIC=NUMBER sets one metric's. Repeatable.")
@click.option("--metric", "metric_specs", multiple=True, metavar="NAMES",
              help="Only these metrics, comma-separated (e.g. eao,accuracy,auc). Default: all.")
@click.option("--scores", "score_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Score file written by `siambench eval --json`. Repeatable.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results tree to score instead (default results/ when no --scores is given).")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dataset annotations root (default $SIAMBENCH_DATA or ./data).")
@click.option("--variant", default="pysot", show_default=True, help="Metric variant for a results tree.")
@click.option("--dataset", "-d", "datasets", multiple=True, metavar="NAME|FOLDER",
              help="Score only these datasets of the results tree (repeatable); a folder of your own data "
                   "is scored only when named here.")
@click.option("--update", is_flag=True, help="Rewrite the baseline with the current scores (atomically).")
@click.option("--all", "show_all", is_flag=True, help="List unchanged scores and scores the baseline does not have too.")
def gate_command(baseline: Path, tolerance_specs: tuple[str, ...], metric_specs: tuple[str, ...],
                 score_files: tuple[Path, ...], results_dir: Path | None, data_root: Path | None,
                 variant: str, datasets: tuple[str, ...], update: bool, show_all: bool) -> None:
    """Compare current scores with a baseline; exit 1 when one got worse beyond the tolerance."""
    tolerances = parse_tolerances(tolerance_specs)
    metrics = _metric_list(metric_specs)
    if datasets and score_files and results_dir is None:
        raise SiambenchError("--dataset selects what a results tree scores; give --results-dir too")
    scores = gather_scores(score_files, results_dir, data_root, variant, datasets or None,
                           on_skip=lambda line: click.echo(f"siambench: skipped {line}", err=True))
    names = gated_metrics(scores)
    if not names:
        raise SiambenchError("no scores to gate: give --scores FILE or a --results-dir with results")
    previous = load_baseline(baseline) if not update or baseline.exists() else []
    _check_names(metrics, tolerances, names | {e.metric for e in previous})
    current = flatten(scores, metrics)
    if not current and (update or not previous):
        raise SiambenchError("no finite scores to gate" + (f" for --metric {','.join(metrics)}" if metrics else ""))
    changes = compare(current, previous, tolerances, metrics)
    if not update and not any(c.baseline is not None for c in changes):
        # every score "new": nothing was compared, and passing would say nothing
        which = f" for --metric {','.join(metrics)}" if metrics else ""
        raise SiambenchError(f"{baseline}: the baseline holds no scores{which} to compare with; "
                             "write it with --update")
    if update:
        _warn_uncounted(current)
        write_baseline(baseline, current)
        click.echo(format_changes(changes, show_all, show_new=True), nl=False)
        click.echo(f"baseline {baseline} updated: {len(current)} scores")
        return
    for line in unchecked_completeness(changes):
        log.warning(line)
    click.echo(format_changes(changes, show_all), nl=False)
    if failed(changes):
        # SystemExit, not ctx.exit: the CLI runs click in non-standalone mode, which would swallow
        # the code of a click Exit.
        sys.exit(1)
