"""``siambench tune``: search a tracker's inference hyper-parameters on a dataset.

    siambench tune --tracker siamrpn --dataset demo-vot \\
        --param penalty_k=0.0:0.3 --param window_influence=0.2:0.6 --trials 20

Each trial is the tracker's spec with some ``hyper`` values replaced. It is run like any
tracker (``siambench run``: resumable, on the chosen executor) under the name
``<tracker>-trial-<spec hash>``, so a trial already run is never run again, and scored with
``siambench eval``: EAO on VOT-style (supervised) datasets, AUC on one-pass ones. The best
spec is written to ``<out>/<tracker>-tuned.yaml`` (by default ``./trackers``, where
``siambench run`` finds it), the search and the ranking recorded in its comments, and every
trial in ``<work dir>/<DATASET>/tune-<tracker>.json``.

Search: ``--search random`` draws ``--trials`` settings from a generator seeded with ``--seed``;
``--search grid`` tries every combination (ranges contribute ``lo:hi:step`` points, or their two
ends and middle). The grid is enumerated lazily, never held in memory, and a search of more
than ``--max-trials`` settings (default :data:`MAX_TRIALS`) is refused before any trial runs.
A trial that fails (whatever it raises) is recorded as failed with its message and the search
goes on; only when every trial fails does the search fail, naming the first error. With ``--executor ray`` the trials are run by Ray Tune (random ranges sampled
by Ray Tune's own seeded generator), each trial in one Ray worker; otherwise one after the other,
each spread over ``--workers`` local processes.

Spec parameter syntax: ``name=lo:hi`` (uniform; integers when both ends are integers),
``name=lo:hi:step`` (values lo, lo+step, ... hi), ``name=a,b,c`` (one of the listed values).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from siambench.errors import SiambenchError
from siambench.textio import atomic_write_text, check_writable_dir
from siambench.trackers.registry import TrackerSpec, load_spec, require_torch
from siambench.trackers.spec_checks import check_hyper_kinds

log = logging.getLogger("siambench")

METRICS = ("eao", "auc")
SEARCHES = ("random", "grid")
# Registered datasets that are not benchmarks whose numbers get published: the synthetic demo
# family, and GOT-10k's validation split (its test split is scored by the server only).
TUNING_SETS = ("got10k-val",)
TUNING_FAMILIES = ("demo",)
DECIMALS = 4  # sampled values are rounded: readable specs, and the file repeats the trial exactly
GRID_POINTS = 3  # points of a range without a step in a grid search
# Each trial tracks a whole dataset: a few hundred is already hours. A typo'd step must fail in
# a second, not fill the memory or queue a million runs.
MAX_TRIALS = 1000


# --------------------------------------------------------------------------------------------
# Search spaces
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter: a range (`low`..`high`, optional `step`) or `choices`."""

    name: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    integer: bool = False

    def describe(self) -> str:
        if self.choices is not None:
            return f"{self.name}={','.join(map(str, self.choices))}"
        step = f":{_num(self.step)}" if self.step is not None else ""
        return f"{self.name}={_num(self.low)}:{_num(self.high)}{step}"

    def grid(self) -> Sequence[Any]:
        """The values a grid search tries; a stepped range is computed on demand, not stored."""
        if self.choices is not None:
            return list(dict.fromkeys(self.choices))
        assert self.low is not None and self.high is not None
        if self.step is not None:
            return StepValues(self)
        return list(dict.fromkeys(self.cast(v) for v in np.linspace(self.low, self.high, GRID_POINTS)))

    def sample(self, rng: np.random.Generator) -> Any:
        """One random value (uniform over the range, or over the grid when there is a step)."""
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.step is not None:
            values = self.grid()
            return values[int(rng.integers(len(values)))]
        assert self.low is not None and self.high is not None
        if self.integer:
            return int(rng.integers(int(self.low), int(self.high) + 1))
        return self.cast(rng.uniform(self.low, self.high))

    def cast(self, value: Any) -> Any:
        """A value as it goes into the spec: int for integer ranges, rounded float otherwise."""
        if self.choices is not None:
            return value
        if self.integer:
            return int(round(float(value)))
        return round(float(value), DECIMALS)


class StepValues(Sequence):
    """``low, low + step, ... high`` of a stepped range, each computed when indexed."""

    def __init__(self, param: Param) -> None:
        assert param.low is not None and param.high is not None and param.step is not None
        self.param = param
        self.count = int(math.floor((param.high - param.low) / param.step + 1e-9)) + 1

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Any:  # type: ignore[override]
        if not -self.count <= index < self.count:
            raise IndexError(index)
        index %= self.count
        return self.param.cast(self.param.low + index * self.param.step)


def _num(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_param(text: str) -> Param:
    """``name=lo:hi``, ``name=lo:hi:step`` or ``name=a,b,c``."""
    name, sep, body = text.partition("=")
    name, body = name.strip(), body.strip()
    usage = "expected NAME=LO:HI, NAME=LO:HI:STEP or NAME=A,B,C"
    if not sep or not _NAME.match(name) or not body:
        raise SiambenchError(f"--param {text!r}: {usage}")
    if ":" in body:
        parts = body.split(":")
        if len(parts) not in (2, 3):
            raise SiambenchError(f"--param {text!r}: {usage}")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise SiambenchError(f"--param {text!r}: range ends must be numbers ({usage})") from None
        low, high = numbers[0], numbers[1]
        step = numbers[2] if len(numbers) == 3 else None
        if not all(math.isfinite(v) for v in numbers) or high < low:
            raise SiambenchError(f"--param {text!r}: expected LO <= HI, both finite")
        if step is not None and step <= 0:
            raise SiambenchError(f"--param {text!r}: the step must be positive")
        integer = all(re.fullmatch(r"\s*[-+]?\d+\s*", p) for p in parts)
        if step is not None and not integer and step < 10**-DECIMALS:
            # finer steps would give the same rounded value several times
            raise SiambenchError(f"--param {text!r}: the step must be at least {10**-DECIMALS:g} "
                                 f"(values are rounded to {DECIMALS} decimals)")
        return Param(name, low, high, step, None, integer)
    choices = tuple(yaml.safe_load(part.strip()) for part in body.split(",") if part.strip())
    if not choices:
        raise SiambenchError(f"--param {text!r}: {usage}")
    return Param(name, choices=choices)


def random_settings(params: Sequence[Param], trials: int, seed: int) -> list[dict[str, Any]]:
    """`trials` settings drawn from a generator seeded with `seed` (the same seed, the same list)."""
    rng = np.random.default_rng(seed)
    return [{p.name: p.sample(rng) for p in params} for _ in range(trials)]


def grid_settings(params: Sequence[Param]) -> Iterator[dict[str, Any]]:
    """Every combination of the parameters' grid values, one at a time, in the order of
    ``itertools.product`` (the last parameter varies fastest). Unlike ``itertools.product``,
    which first copies each parameter's values into a tuple, nothing is stored: combination
    `n` is decoded from `n`, digit by digit."""
    grids = [p.grid() for p in params]
    for flat in range(grid_size(params)):
        setting = {}
        for p, values in zip(reversed(params), reversed(grids), strict=True):
            flat, index = divmod(flat, len(values))
            setting[p.name] = values[index]
        yield {p.name: setting[p.name] for p in params}


def grid_size(params: Sequence[Param]) -> int:
    """How many settings a grid search of `params` tries (counted, not enumerated)."""
    return math.prod(len(p.grid()) for p in params)


def check_trial_count(params: Sequence[Param], search: str, trials: int, max_trials: int) -> int:
    """The number of trials the search will run; an error when it exceeds `max_trials`."""
    if max_trials < 1:
        raise SiambenchError("--max-trials must be at least 1")
    if search == "random":
        if trials > max_trials:
            raise SiambenchError(f"--trials {trials} is more than --max-trials {max_trials}; "
                                 "raise --max-trials to run them all")
        return trials
    size = grid_size(params)
    if size > max_trials:
        shape = " x ".join(f"{len(p.grid()):,} ({p.name})" for p in params)
        raise SiambenchError(f"the grid has {size:,} settings ({shape}), more than --max-trials "
                             f"{max_trials}: coarsen a step, list fewer values, or raise --max-trials")
    return size


def check_params(spec: TrackerSpec, params: Sequence[Param]) -> None:
    """Each searched name must be one of the spec's hyper-parameters, and named once."""
    names = [p.name for p in params]
    if not names:
        raise SiambenchError("give at least one --param NAME=LO:HI to search")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SiambenchError(f"--param {twice[0]} given twice")
    unknown = [n for n in names if n not in spec.hyper]
    if unknown:
        known = ", ".join(sorted(spec.hyper)) or "none"
        raise SiambenchError(
            f"{spec.name} has no hyper-parameter {unknown[0]!r}; its spec has: {known}"
        )


def check_setting_kinds(spec: TrackerSpec, params: Sequence[Param]) -> None:
    """Each searched value must have the type the adapter takes (a string for a number fails
    here, not in the middle of the search): the listed values, or a range's two ends."""
    for p in params:
        values = p.choices if p.choices is not None else (p.cast(p.low), p.cast(p.high))
        for value in values:
            check_hyper_kinds(spec, {p.name: _plain(value)}, f"--param {p.describe()}")


def trial_spec(base: TrackerSpec, setting: dict[str, Any]) -> TrackerSpec:
    """The base spec with `setting` in its hyper section, named after its own hash."""
    hyper = {**base.hyper, **{k: _plain(v) for k, v in setting.items()}}
    spec = replace(base, hyper=hyper, source=None)
    return replace(spec, name=f"{base.name}-trial-{spec.spec_hash()[:10]}")


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (for YAML, JSON and a stable spec hash)."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------------


@dataclass
class Trial:
    index: int
    setting: dict[str, Any]
    name: str
    spec_hash: str
    score: float = float("nan")
    scores: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # why the trial failed; None when it ran

    @property
    def status(self) -> str:
        return "failed" if self.error is not None else "ok"

    @property
    def rank_key(self) -> tuple[int, float, int]:
        """Best first: scored trials by decreasing score, then failed or NaN ones; ties by index."""
        ok = self.error is None and math.isfinite(self.score)
        return (0 if ok else 1, -self.score if ok else 0.0, self.index)


@dataclass
class TuneResult:
    tracker: str
    dataset: str
    metric: str
    search: str
    seed: int
    params: list[Param]
    trials: list[Trial]  # best first
    spec_file: Path | None
    record_file: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def best(self) -> Trial:
        return self.trials[0]

    def format(self, top: int = 10) -> str:
        lines = list(self.warnings)
        names = [p.name for p in self.params]
        lines.append(f"{len(self.trials)} trial(s) of {self.tracker} on {self.dataset}, "
                     f"{self.search} search, ranked by {self.metric.upper()}:")
        header = f"  {'rank':>4}  {self.metric:>7}  " + "  ".join(f"{n:>14}" for n in names)
        lines.append(header)
        for rank, trial in enumerate(self.trials[:top], start=1):
            score = "failed" if trial.error else f"{trial.score:7.4f}"
            values = "  ".join(f"{_fmt(trial.setting[n]):>14}" for n in names)
            lines.append(f"  {rank:>4}  {score:>7}  {values}")
        if len(self.trials) > top:
            lines.append(f"  ... {len(self.trials) - top} more in {self.record_file}")
        if self.spec_file is not None:
            lines.append(f"best spec written to {self.spec_file}")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class TrialContext:
    """What every trial shares (picklable, so that Ray Tune can ship it to its workers)."""

    base: TrackerSpec
    dataset: Any  # a loaded siambench Dataset, already restricted to the tuned sequences
    metric: str
    results_dir: Path
    weights: Path | None
    random_init: bool
    device: str
    threads: int | None


def run_trial(context: TrialContext, setting: dict[str, Any], **execution: Any) -> tuple[TrackerSpec, float, dict]:
    """Run one setting over the dataset (resuming what is done) and score it."""
    from siambench.evaluate import evaluate
    from siambench.runner import run

    spec = trial_spec(context.base, setting)
    run(spec, context.dataset, results_dir=context.results_dir, weights=context.weights,
        random_init=context.random_init, device=context.device, threads=context.threads,
        progress=False, **execution)
    overall = evaluate(context.dataset, results_dir=context.results_dir,
                       trackers=[spec.name])["trackers"][spec.name]["overall"]
    scores = {k: v for k, v in overall.items() if isinstance(v, int | float)}
    return spec, float(overall.get(context.metric, float("nan"))), scores


def failure_message(exc: Exception) -> str:
    """One line saying why a trial failed; the exception's type unless it is siambench's own."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, SiambenchError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _local_trials(context: TrialContext, settings: Iterator[dict[str, Any]], count: int,
                  execution: dict) -> list[Trial]:
    trials = []
    for index, setting in enumerate(settings):
        spec = trial_spec(context.base, setting)
        trial = Trial(index, setting, spec.name, spec.spec_hash())
        try:
            _, trial.score, trial.scores = run_trial(context, setting, **execution)
        except Exception as exc:  # noqa: BLE001 - one failing setting must not end the search
            # KeyboardInterrupt is no Exception: Ctrl-C still stops the search.
            trial.error = failure_message(exc)
            log.warning("trial %d (%s) failed: %s", index, spec.name, trial.error)
        log.info("trial %d/%d %s: %s %.4f", index + 1, count, setting, context.metric, trial.score)
        trials.append(trial)
    return trials


# --------------------------------------------------------------------------------------------
# Ray Tune
# --------------------------------------------------------------------------------------------


def _ray_trainable(config: dict[str, Any], context: TrialContext) -> None:
    """A Ray Tune function trainable: one trial, reported once."""
    from ray import tune as ray_tune

    spec, score, scores = run_trial(context, config)
    ray_tune.report({"score": score if math.isfinite(score) else -1.0, "value": score,
                     "trial_name": spec.name, **scores})


def _ray_space(params: Sequence[Param], search: str) -> dict[str, Any]:
    from ray import tune as ray_tune

    space: dict[str, Any] = {}
    for p in params:
        if search == "grid":
            space[p.name] = ray_tune.grid_search(list(p.grid()))  # checked small
        elif p.choices is not None:
            space[p.name] = ray_tune.choice(list(p.choices))
        elif p.step is not None:
            space[p.name] = ray_tune.choice(list(p.grid()))
        elif p.integer:
            space[p.name] = ray_tune.randint(int(p.low), int(p.high) + 1)
        else:
            space[p.name] = ray_tune.uniform(p.low, p.high)
    return space


def _ray_trials(context: TrialContext, params: Sequence[Param], search: str, trials: int, seed: int,
                address: str | None) -> list[Trial]:
    from siambench.execution.ray_executor import connect, import_ray

    ray = import_ray()
    try:
        from ray import tune as ray_tune
        from ray.tune.search.basic_variant import BasicVariantGenerator
    except ImportError as exc:
        raise SiambenchError(f"tuning with Ray needs Ray Tune: pip install 'ray[tune]' ({exc})") from exc
    started = connect(ray, address)
    try:
        # One GPU per trial where the cluster has them and the device allows; Ray makes it
        # the trial's cuda:0.
        cluster_gpus = int(ray.cluster_resources().get("GPU", 0))
        if context.device.startswith("cuda") and not cluster_gpus:
            raise SiambenchError(f"device {context.device!r} requested but the Ray cluster has no GPU")
        gpu = cluster_gpus > 0 and context.device != "cpu"
        context = replace(context, device="cuda:0" if gpu else "cpu")
        trainable = ray_tune.with_resources(
            ray_tune.with_parameters(_ray_trainable, context=context),
            {"cpu": context.threads or 1, "gpu": 1 if gpu else 0},
        )
        tuner = ray_tune.Tuner(
            trainable,
            param_space=_ray_space(params, search),
            tune_config=ray_tune.TuneConfig(
                num_samples=trials if search == "random" else 1,
                search_alg=BasicVariantGenerator(random_state=seed),
            ),
            run_config=ray_tune.RunConfig(
                name=f"{context.base.name}-{context.dataset.name}",
                storage_path=str((context.results_dir / "ray-tune").absolute()),
                verbose=0,
            ),
        )
        # Ray Tune's newer console output prints a banner even when told to be silent.
        previous = os.environ.get("RAY_AIR_NEW_OUTPUT")
        os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
        try:
            grid = tuner.fit()
        finally:
            if previous is None:
                os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
            else:
                os.environ["RAY_AIR_NEW_OUTPUT"] = previous
        found = []
        for index in range(len(grid)):
            result = grid[index]
            setting = {p.name: p.cast(result.config[p.name]) for p in params}
            spec = trial_spec(context.base, setting)
            trial = Trial(index, setting, spec.name, spec.spec_hash())
            if result.error is not None:
                trial.error = str(result.error).splitlines()[-1] if str(result.error) else "failed"
            else:
                metrics = result.metrics or {}
                trial.score = float(metrics.get("value", float("nan")))
                trial.scores = {k: v for k, v in metrics.items()
                                if k not in ("score", "value", "trial_name") and isinstance(v, int | float)}
            found.append(trial)
        return found
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------


def warn_if_test_set(dataset: str) -> str | None:
    """A warning when `dataset` is a benchmark whose scores are reported (tuning on it overfits)."""
    from siambench.datasets import dataset_info
    from siambench.datasets.folder import is_folder_name

    if is_folder_name(dataset):
        return None  # the user's own data: whether it is a test set is theirs to know
    info = dataset_info(dataset)
    if info.family in TUNING_FAMILIES or info.name in TUNING_SETS:
        return None
    return (f"{info.name} is a test set: hyper-parameters tuned on it fit its sequences, and its "
            "scores stop being a fair comparison. Tune on other data (e.g. `siambench data synth`) "
            "and report the test set once.")


def tune(
    tracker: str | Path | TrackerSpec,
    dataset: str,
    params: Sequence[str | Param],
    trials: int = 10,
    metric: str | None = None,
    search: str = "random",
    seed: int = 0,
    data_root: str | Path | None = None,
    work_dir: str | Path = Path("results") / "tune",
    out_dir: str | Path | None = Path("trackers"),
    sequences: Sequence[str] | None = None,
    weights: str | Path | None = None,
    random_init: bool = False,
    device: str = "auto",
    executor: str = "local",
    workers: int | None = None,
    gpus: Sequence[int] | str | None = None,
    address: str | None = None,
    threads: int | None = None,
    max_trials: int = MAX_TRIALS,
) -> TuneResult:
    """Search `params` of `tracker` on `dataset`; see the module docstring. out_dir None: no file."""
    from siambench.datasets import load_dataset
    from siambench.weights import resolve_weights

    # The hyper-parameters are the loop's, whatever runs the network: tune the torch spec.
    base = require_torch(load_spec(tracker), "tune")
    parsed = [p if isinstance(p, Param) else parse_param(p) for p in params]
    check_params(base, parsed)
    if search not in SEARCHES:
        raise SiambenchError(f"unknown search {search!r}; expected one of {', '.join(SEARCHES)}")
    if trials < 1:
        raise SiambenchError("--trials must be at least 1")
    count = check_trial_count(parsed, search, trials, max_trials)
    check_setting_kinds(base, parsed)
    if random_init and weights is not None:
        raise SiambenchError("--weights and --random-init exclude each other")
    # fail now, not after hours of trials, when the record or the tuned spec cannot be written
    check_writable_dir(Path(work_dir))
    if out_dir is not None:
        check_writable_dir(Path(out_dir))
    ds = load_dataset(dataset, root=data_root)
    if sequences:
        ds = ds.select(list(sequences))
    metric = metric or ("eao" if ds.protocol == "supervised" else "auc")
    expected = "eao" if ds.protocol == "supervised" else "auc"
    if metric not in METRICS:
        raise SiambenchError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    if metric != expected:
        raise SiambenchError(f"{ds.name} is scored by {expected.upper()} ({ds.protocol} protocol), "
                             f"not {metric.upper()}")
    warnings = [w for w in [warn_if_test_set(dataset)] if w]
    for w in warnings:
        log.warning(w)

    work = Path(work_dir).absolute()  # Ray Tune runs trials in directories of its own
    weights_path = None if random_init else resolve_weights(base, weights)
    # A Ray trial holds one CPU unless told otherwise; local trials use the run's own default.
    trial_threads = (threads or 1) if executor == "ray" else threads
    context = TrialContext(base, ds, metric, work, weights_path, random_init, device, trial_threads)
    if executor == "ray":
        if gpus is not None:
            raise SiambenchError("--gpus is for the local executor; Ray assigns GPUs to trials itself")
        found = _ray_trials(context, parsed, search, trials, seed, address)
    elif executor == "local":
        settings = grid_settings(parsed) if search == "grid" else iter(random_settings(parsed, trials, seed))
        found = _local_trials(context, settings, count, {"workers": workers, "gpus": gpus})
    else:
        raise SiambenchError(f"unknown executor {executor!r}; expected local or ray")
    ranked = sorted(found, key=lambda t: t.rank_key)
    result = TuneResult(base.name, ds.name, metric, search, seed, parsed, ranked, None,
                        work / ds.results_name / f"tune-{base.name}.json", warnings)
    _write_record(result)  # failed trials too: the record says why each one failed
    _check_some_trial_scored(found, metric)
    if out_dir is not None:
        result.spec_file = write_tuned_spec(base, result, Path(out_dir))
    return result


def _check_some_trial_scored(trials: Sequence[Trial], metric: str) -> None:
    """An error naming the first failure when no trial gave a finite score."""
    if any(t.error is None and math.isfinite(t.score) for t in trials):
        return
    failed = [t for t in trials if t.error is not None]  # in the order they ran
    if failed and len(failed) == len(trials):
        first = failed[0]
        raise SiambenchError(f"all {len(trials)} trial(s) failed; the first ({first.name}, "
                             f"{first.setting}): {first.error}")
    raise SiambenchError(f"no trial produced a finite {metric.upper()}"
                         + (f" (first error: {failed[0].error})" if failed else ""))


def _write_record(result: TuneResult) -> None:
    record = {
        "tracker": result.tracker,
        "dataset": result.dataset,
        "metric": result.metric,
        "search": result.search,
        "seed": result.seed,
        "params": [p.describe() for p in result.params],
        "trials": [
            {"rank": rank, "name": t.name, "spec_hash": t.spec_hash, "setting": t.setting,
             result.metric: t.score if math.isfinite(t.score) else None,
             "status": t.status, "message": t.error}
            for rank, t in enumerate(result.trials, start=1)
        ],
    }
    atomic_write_text(result.record_file, json.dumps(record, indent=1, sort_keys=True) + "\n")


def write_tuned_spec(base: TrackerSpec, result: TuneResult, out_dir: Path) -> Path:
    """`<out_dir>/<tracker>-tuned.yaml`: the best setting, the search recorded in comments."""
    best = result.best
    name = f"{base.name}-tuned"
    hyper = {**base.hyper, **{k: _plain(v) for k, v in best.setting.items()}}
    record = {
        "name": name,
        "adapter": base.adapter,
        "description": (f"{base.description or base.name}; tuned on {result.dataset} "
                        f"({result.metric.upper()} {best.score:.4f})"),
        "checkpoint": base.checkpoint,
    }
    if base.box_policy:  # the trials ran with it; a tuned spec without it could start elsewhere
        record["box_policy"] = base.box_policy
    record.update({"model": base.model, "hyper": hyper})
    header = [
        f"# Written by `siambench tune`: {base.name} with the best of {len(result.trials)} "
        f"{result.search} trial(s) on {result.dataset}",
        f"# (seed {result.seed}), ranked by {result.metric.upper()}.",
        f"# Search: {' '.join('--param ' + p.describe() for p in result.params)}",
        "# Ranking (best first):",
    ]
    for rank, trial in enumerate(result.trials[:10], start=1):
        score = "failed" if trial.error else f"{trial.score:.4f}"
        values = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.setting.items())
        header.append(f"#   {rank:>2}. {result.metric} {score}  {values}")
    header.append(f"# All trials: {result.record_file}")
    text = "\n".join(header) + "\n" + yaml.safe_dump(record, sort_keys=False, width=100)
    path = out_dir / f"{name}.yaml"
    atomic_write_text(path, text)
    return path
