"""`siambench demo`: trained demo trackers beside their random-weight twins, scored on `demo`.

The demo trackers (``trackers/*-demo.yaml``) carry small weights trained by ``siambench train``
on a synthetic training set and shipped in the package. The demo runs them on the synthetic
``demo`` benchmark (rendered into the cache on first use) together with

- the same architectures with random weights (``<arch>-random``, ``--random-init``), to show
  what the training changed, and
- OpenCV's MIL tracker, a non-Siamese reference,

scores them, prints a table, writes plots and a score file, and compares the demo trackers with
the committed baseline (``benchmarks/baselines.json``).

``--quick`` runs only the demo trackers on the few sequences of the registered dataset
``demo-ci``: the check that ``tests/test_demo_gate.py`` runs in CI.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from siambench.datasets import Dataset
from siambench.gate import Change, Tolerances
from siambench.report.tables import Layout, MetricColumn, Table
from siambench.scores import ScoreSet

#: The CI subset of `demo` (a registered dataset: two of its shorter sequences), so that the
#: gate test stays within about a minute on two CPU cores.
CI_DATASET = "demo-ci"
#: The trackers the baseline holds (the trained ones; random and OpenCV runs are references).
GATED = ("siamfc-demo", "siamrpnpp-alex-demo")
GATED_METRICS = ("auc", "precision")
#: Allowed worsening: the networks run in float32 on any CPU or GPU, and a rounding difference
#: can move a box by a pixel somewhere; a broken tracker loses far more than this.
DEMO_TOLERANCE = 0.02


@dataclass(frozen=True)
class DemoTracker:
    """One line of the demo: results name, the spec it is built from, random weights or not."""

    name: str
    spec: str
    random_init: bool = False


DEMO_TRACKERS = (
    DemoTracker("siamfc-demo", "siamfc-demo"),
    DemoTracker("siamfc-random", "siamfc-demo", random_init=True),
    DemoTracker("siamrpnpp-alex-demo", "siamrpnpp-alex-demo"),
    DemoTracker("siamrpnpp-alex-random", "siamrpnpp-alex-demo", random_init=True),
    DemoTracker("opencv-mil", "opencv-mil"),
)


def default_baseline() -> Path:
    """The committed baseline of the demo scores, in the checkout's benchmarks/ folder."""
    from siambench.report.tables import benchmarks_dir

    return benchmarks_dir() / "baselines.json"


def demo_dataset(quick: bool = False) -> Dataset:
    """The `demo` benchmark, or with `quick` its CI subset scored as dataset ``demo-ci``.

    Always the synthetic benchmark of the cache, never a folder named demo under the data root.
    """
    from siambench.datasets import load_dataset
    from siambench.synth import ensure_demo

    return load_dataset(CI_DATASET if quick else "demo", root=ensure_demo("otb").parent)


def trackers_for(quick: bool) -> tuple[DemoTracker, ...]:
    return tuple(t for t in DEMO_TRACKERS if t.name in GATED) if quick else DEMO_TRACKERS


def run_demo(
    dataset: Dataset,
    results_dir: str | Path,
    trackers: Sequence[DemoTracker] = DEMO_TRACKERS,
    device: str = "auto",
    progress: bool = False,
    force: bool = False,
    echo: Callable[[str], None] | None = None,
) -> ScoreSet:
    """Run `trackers` on `dataset` (resuming finished sequences) and score them."""
    from siambench.evaluate import evaluate
    from siambench.runner import run
    from siambench.scores import parse_scores
    from siambench.trackers.registry import load_spec

    for tracker in trackers:
        spec = dataclasses.replace(load_spec(tracker.spec), name=tracker.name)
        summary = run(spec, dataset, results_dir=results_dir, device=device,
                      random_init=tracker.random_init, progress=progress, force=force)
        if echo is not None:
            ran = len(summary.sequences_run)
            speed = f", {summary.fps:.1f} fps" if summary.frames else ""
            echo(f"{tracker.name}: {ran} sequence(s) run, "
                 f"{len(summary.sequences_skipped)} already done{speed}")
    names = [t.name for t in trackers]
    scores = evaluate(dataset, results_dir=str(results_dir), trackers=names)
    return parse_scores(scores, f"siambench demo ({Path(results_dir) / dataset.results_name})")[0]


def demo_table(scores: ScoreSet) -> Table:
    """The demo's table: success AUC, precision at 20 px and normalised precision per tracker."""
    from siambench.report.tables import build_table

    layout = Layout(
        name="demo",
        title=f"Demo trackers on the synthetic benchmark {scores.dataset!r}",
        source="",
        orientation="trackers-as-rows",
        references=(),
        metrics=(
            MetricColumn("Success AUC", scores.dataset, "auc", 1),
            MetricColumn("Precision", scores.dataset, "precision", 1),
            MetricColumn("Norm. precision", scores.dataset, "norm_precision", 1),
        ),
    )
    return build_table(layout, [scores], references=[])


def gate_changes(scores: ScoreSet, baseline: Path, tolerance: float = DEMO_TOLERANCE) -> list[Change]:
    """Compare the gated trackers' scores with the baseline's entries for this dataset."""
    from siambench.gate import compare, load_baseline
    from siambench.scores import flatten

    current = [e for e in flatten([scores], GATED_METRICS) if e.tracker in GATED]
    previous = [e for e in load_baseline(baseline)
                if e.dataset == scores.dataset and e.metric in GATED_METRICS]
    return compare(current, previous, Tolerances(tolerance), GATED_METRICS)


def update_baseline(scores: ScoreSet, baseline: Path) -> int:
    """Replace the baseline's entries for this dataset with the gated trackers' current scores;
    entries of other datasets stay. Returns the number of entries written for this dataset."""
    from siambench.gate import load_baseline, write_baseline
    from siambench.scores import flatten

    current = [e for e in flatten([scores], GATED_METRICS) if e.tracker in GATED]
    kept = [e for e in load_baseline(baseline) if e.dataset != scores.dataset] if baseline.exists() else []
    write_baseline(baseline, kept + current)
    return len(current)


def _write_sheets(dataset: Dataset, results_dir: Path, trackers: Sequence[DemoTracker], out: Path) -> list[str]:
    """One contact sheet per trained demo tracker on the demo's first sequence, beside its random twin."""
    from siambench.show import show

    sequence = dataset.names[0]
    written = []
    for tracker in trackers:
        if tracker.random_init or tracker.name not in GATED:
            continue
        twin = next((t.name for t in trackers if t.spec == tracker.spec and t.random_init), None)
        names = [tracker.name] + ([twin] if twin else [])
        written.append(show(names, dataset, sequence, results_dir=results_dir, out=out, video=False,
                            stem=f"{tracker.name}-{sequence}")["sheet"])
    return [f"contact sheets: {', '.join(str(p) for p in written)}"] if written else []


def _write_report(scores: ScoreSet, table: Table, out: Path, plots: bool) -> list[str]:
    from siambench.evaluate import clean_json
    from siambench.report.render import render
    from siambench.textio import atomic_write_text

    data = {"dataset": scores.dataset, "variant": scores.variant,
            "siambench_version": scores.siambench_version, "trackers": scores.trackers}
    atomic_write_text(out / "scores.json", json.dumps(clean_json(data), indent=1) + "\n")
    atomic_write_text(out / "table.md", render(table, "markdown"))
    lines = [f"scores: {out / 'scores.json'}", f"table (markdown): {out / 'table.md'}"]
    if plots:
        try:
            from siambench.report.plots import write_plots

            written = write_plots([scores], out / "plots", formats=("png",))
            lines.append(f"plots: {len(written)} files in {out / 'plots'}")
        except ImportError as exc:  # matplotlib is the [report] extra
            lines.append(f"plots: skipped ({exc}; install siambench[report])")
    return lines


@click.command("demo")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of the results tree; the report goes to <dir>/demo-report.")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
@click.option("--quick", is_flag=True,
              help=f"Only the trained demo trackers, on the CI subset of demo (dataset {CI_DATASET}).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Baseline to compare with (default benchmarks/baselines.json of the checkout).")
@click.option("--check", is_flag=True, help="Exit 1 when a demo tracker scores below the baseline.")
@click.option("--update-baseline", "update", is_flag=True,
              help="Write this run's demo-tracker scores into the baseline (other datasets kept).")
@click.option("--force", is_flag=True, help="Rerun sequences whose results are already complete.")
@click.option("--plots/--no-plots", default=True, show_default=True,
              help="Write success and precision plots.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress bars.")
def demo_command(results_dir: Path, device: str, quick: bool, baseline: Path | None, check: bool,
                 update: bool, force: bool, plots: bool, progress: bool) -> None:
    """Trained demo trackers vs the same networks with random weights vs OpenCV MIL, on `demo`.

    Everything runs on the synthetic benchmark (rendered on first use, nothing is downloaded);
    finished sequences are kept, so a second run only scores.
    """
    from siambench.report.render import render

    start = time.perf_counter()
    if (baseline or default_baseline()).is_file():  # a malformed baseline fails now, not after tracking
        from siambench.gate import load_baseline

        load_baseline(baseline or default_baseline())
    dataset = demo_dataset(quick)
    trackers = trackers_for(quick)
    click.echo(f"siambench demo: {len(trackers)} trackers on {dataset.name} "
               f"({len(dataset)} sequences, {sum(len(s) for s in dataset)} frames) from {dataset.root}")
    scores = run_demo(dataset, results_dir, trackers, device, progress, force, echo=click.echo)
    table = demo_table(scores)
    click.echo("")
    click.echo(render(table, "terminal"), nl=False)
    click.echo("*-random: the same networks with random weights (--random-init). A random SiamFC "
               "still matches templates by correlation; a random SiamRPN cannot regress boxes.")

    baseline = baseline or default_baseline()
    failed = False
    if update:
        count = update_baseline(scores, baseline)
        click.echo(f"baseline {baseline}: {count} {dataset.name} scores written")
    elif baseline.is_file():
        from siambench.gate import failed as gate_failed
        from siambench.gate import format_changes

        changes = gate_changes(scores, baseline)
        if changes:
            click.echo(f"compared with {baseline} (tolerance {DEMO_TOLERANCE}):")
            click.echo(format_changes(changes), nl=False)
            failed = gate_failed(changes)
        else:
            click.echo(f"{baseline} holds no {dataset.name} scores to compare with")
    else:
        click.echo(f"no baseline at {baseline}: nothing compared")

    report_dir = Path(results_dir) / ("demo-ci-report" if quick else "demo-report")
    click.echo(f"results: {Path(results_dir) / dataset.results_name}")
    for line in _write_report(scores, table, report_dir, plots):
        click.echo(line)
    for line in _write_sheets(dataset, Path(results_dir), trackers, report_dir / "sheets"):
        click.echo(line)
    click.echo(f"done in {time.perf_counter() - start:.0f} s")
    if failed and check:
        sys.exit(1)
