"""`siambench tune`: search a tracker's hyper-parameters and write the best spec."""

from __future__ import annotations

from pathlib import Path

import click

from siambench.tune import MAX_TRIALS, METRICS, SEARCHES


@click.command("tune")
@click.option("--tracker", "-t", required=True, metavar="NAME|SPEC.yaml", help="Tracker to tune.")
@click.option("--dataset", "-d", required=True, help="Dataset to tune on (not a test set, ideally).")
@click.option("--param", "params", multiple=True, required=True, metavar="NAME=LO:HI[:STEP]|NAME=A,B",
              help="A hyper-parameter of the spec and its range or values; repeat for several.")
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True,
              help="Random search: settings tried.")
@click.option("--max-trials", type=click.IntRange(min=1), default=MAX_TRIALS, show_default=True,
              help="Refuse, before any trial runs, a search of more settings than this.")
@click.option("--metric", type=click.Choice(METRICS), default=None,
              help="Ranking score (default: EAO on VOT-style datasets, AUC on one-pass ones).")
@click.option("--search", type=click.Choice(SEARCHES), default="random", show_default=True,
              help="random: --trials seeded draws; grid: every combination.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random search.")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the datasets (default $SIAMBENCH_DATA or ./data).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results") / "tune", show_default=True,
              help="Results tree of the trials (a rerun reuses the trials found there).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("trackers"), show_default=True,
              help="Folder for <tracker>-tuned.yaml.")
@click.option("--sequences", default=None, metavar="A,B,...", help="Tune on these sequences only.")
@click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: the spec's checkpoint in the weights folder).")
@click.option("--random-init", is_flag=True, help="Random weights (a smoke test of the search).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: trials one after the other; ray: trials scheduled by Ray Tune.")
@click.option("--address", default=None, metavar="ADDR", help="Ray cluster to join.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local executor: worker processes per trial.")
@click.option("--gpus", default=None, metavar="0,1,...", help="Local executor: one worker per GPU.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Torch threads per worker.")
def tune_command(tracker: str, dataset: str, params: tuple[str, ...], trials: int, max_trials: int,
                 metric: str | None, search: str, seed: int, data_root: Path | None, work_dir: Path, out_dir: Path,
                 sequences: str | None, weights: Path | None, random_init: bool, device: str,
                 executor: str, address: str | None, workers: int | None, gpus: str | None,
                 threads: int | None) -> None:
    """Search hyper-parameters by EAO or AUC; write the best as <tracker>-tuned.yaml."""
    from siambench.tune import tune

    names = [s.strip() for s in sequences.split(",") if s.strip()] if sequences else None
    result = tune(tracker, dataset, list(params), trials=trials, metric=metric, search=search,
                  seed=seed, data_root=data_root, work_dir=work_dir, out_dir=out_dir,
                  sequences=names, weights=weights, random_init=random_init, device=device,
                  executor=executor, workers=workers, gpus=gpus, address=address, threads=threads,
                  max_trials=max_trials)
    # Warnings already went to stderr through the log; print the ranking only.
    result.warnings = []
    click.echo(result.format())
