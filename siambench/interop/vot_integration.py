"""Running siambench trackers in the official VOT toolkit (vot-toolkit 0.9, TraX), and back.

``siambench vot-integration --tracker T --out DIR`` writes into DIR:

* ``siambench_vot_<T>.py``: the tracker process. vot-toolkit starts it as ``python -m
  siambench_vot_<T>`` (protocol ``traxpython``); it builds the tracker once, then serves TraX
  requests through the ``trax`` bindings of vot-trax (the server side of the protocol, as the
  toolkit's own dummy tracker does; no ``vot.py`` wrapper is needed).
* ``trackers.ini``: the tracker's entry (``protocol = traxpython``, ``command``, ``paths``,
  ``python`` = this interpreter, so the toolkit may live in another environment).

With ``--sequences DATASET_DIR`` (a VOT-layout folder: list.txt, <seq>/sequence, groundtruth)
DIR also becomes a workspace on that dataset with an *unsupervised* experiment (config.yaml,
stack.yaml): vot-toolkit 0.9.0 cannot run the supervised (reset) experiment for trackers that
speak TraX through Python. Then::

    vot evaluate --workspace DIR <T>
    siambench import-vot --workspace DIR --tracker <T> --dataset <name> --results-dir results
    siambench eval --dataset <name> --results-dir results

:func:`import_vot` copies the toolkit's results (``results/<T>/<experiment>/<seq>/<seq>_NNN.txt``
and ``<seq>_NNN_time.value``) into siambench's tree (``<DATASET>/<T>/{baseline,unsupervised,realtime}/``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from siambench.errors import InputError, SiambenchError
from siambench.ledger import Ledger
from siambench.results import EXPERIMENT_PROTOCOLS, ResultStore, read_vot_trajectory
from siambench.textio import atomic_write_text, check_writable_dir, read_column, read_text

WRAPPER_PREFIX = "siambench_vot_"
log = logging.getLogger("siambench")
EXPERIMENT_DIRS = tuple(EXPERIMENT_PROTOCOLS)  # the toolkit's experiment names siambench reads


def vot_identifier(name: str) -> str:
    """A tracker name as vot-toolkit accepts it (letters, digits, - and _)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


# --------------------------------------------------------------------------------------------
# The tracker process
# --------------------------------------------------------------------------------------------


def region_to_box(region: Any) -> np.ndarray:
    """A TraX rectangle or polygon as the (x, y, w, h) a siambench tracker is initialised with.

    Polygons go through pysot's area-preserving axis-aligned box, as `siambench run` does.
    """
    from trax.region import Polygon, Rectangle

    from siambench.regions import axis_aligned

    # Type checks rather than region.type, whose form (property or method) differs by class.
    if isinstance(region, Rectangle):
        return np.asarray(region.bounds(), dtype=np.float64)
    if isinstance(region, Polygon):
        points = np.asarray([region.get(i) for i in range(region.size())], dtype=np.float64)
        if len(points) == 4:
            return axis_aligned(points.ravel())
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        return np.array([x0, y0, x1 - x0, y1 - y0])
    raise SiambenchError(f"the TraX client sent a {type(region).__name__} region; expected a rectangle or polygon")


def serve(tracker: str, device: str = "auto", weights: str | None = None, random_init: bool = False,
          threads: int | None = None) -> None:
    """Be a TraX tracker process: build `tracker`, then answer the client until it quits."""
    from trax import Image, Region, Server, TraxStatus
    from trax.image import FileImage
    from trax.region import Rectangle

    from siambench.execution.jobs import inference, limit_threads
    from siambench.frames import read_frame
    from siambench.trackers.registry import create_tracker
    from siambench.weights import select_device

    limit_threads(threads)
    torch_device = select_device(device)
    instance = create_tracker(tracker, torch_device, weights, random_init)

    def frame_of(request: Any) -> np.ndarray:
        image = request.image.get("color") if isinstance(request.image, dict) else None
        if not isinstance(image, FileImage):
            raise SiambenchError("the TraX client sent no colour image path")
        return read_frame(image.path())

    def reply(box: np.ndarray, score: float | None) -> list:
        x, y, w, h = (float(v) for v in box)
        properties = {} if score is None or not np.isfinite(score) else {"confidence": f"{score:.6f}"}
        return [(Rectangle.create(x, y, w, h), properties)]

    with Server([Region.RECTANGLE, Region.POLYGON], [Image.PATH], tracker_name=instance.name or tracker,
                tracker_family="siambench") as server, inference(torch_device):
        while True:
            request = server.wait()
            if request.type in (TraxStatus.QUIT, TraxStatus.ERROR):
                break
            if request.type == TraxStatus.INITIALIZE:
                if len(request.objects) != 1:
                    raise SiambenchError(f"expected one object to track, got {len(request.objects)}")
                box = region_to_box(request.objects[0][0])
                instance.init(frame_of(request), box)
                server.status(reply(box, None))
            else:
                result = instance.track(frame_of(request))
                server.status(reply(result.box, result.score))


# --------------------------------------------------------------------------------------------
# Writing the integration
# --------------------------------------------------------------------------------------------

_WRAPPER = '''"""vot-toolkit entry point for siambench tracker {name!r}; written by `siambench vot-integration`.

vot-toolkit runs it as `python -m {module}` (protocol traxpython); it talks TraX on stdin/stdout.
"""

from siambench.interop.vot_integration import serve

if __name__ == "__main__":
    serve({tracker!r}, device={device!r}, weights={weights!r}, random_init={random_init!r}, threads={threads!r})
'''

_STACK = """title: siambench unsupervised stack (written by `siambench vot-integration`)
experiments:
  unsupervised:
    type: unsupervised
    repetitions: 1
    analyses:
      - type: average_accuracy
        name: accuracy
        burnin: 1
"""


def write_integration(
    tracker: str | Path,
    out: str | Path,
    device: str = "auto",
    weights: str | Path | None = None,
    random_init: bool = False,
    threads: int | None = None,
    sequences: str | Path | None = None,
    timeout: int = 120,
    force: bool = False,
) -> dict[str, Path]:
    """Write the wrapper and trackers.ini (and with `sequences`, a workspace); returns the paths.

    An existing trackers.ini keeps its other trackers; this tracker's section is replaced.
    """
    import configparser

    from siambench.trackers.registry import load_spec

    spec = load_spec(tracker)
    if random_init and weights is not None:
        raise SiambenchError("--weights and --random-init exclude each other")
    if not random_init:
        # the weights must be there now: inside the toolkit a missing file shows only as
        # "Unable to connect to tracker", long after this command said it was done
        from siambench.weights import resolve_weights

        resolve_weights(spec, weights)
    # Everything checked before anything is written: a failed setup leaves no half of itself.
    if sequences is not None:
        _check_workspace(Path(out).resolve(), Path(sequences), force)
    # The toolkit starts the process in a temporary folder: name everything absolutely.
    target = str(spec.source.resolve()) if spec.source is not None else spec.name
    weights_arg = str(Path(weights).resolve()) if weights is not None else None
    out = Path(out).resolve()
    check_writable_dir(out)
    identifier = vot_identifier(spec.name)
    module = WRAPPER_PREFIX + identifier.replace("-", "_")
    wrapper = out / f"{module}.py"
    atomic_write_text(wrapper, _WRAPPER.format(name=spec.name, module=module, tracker=target, device=device,
                                               weights=weights_arg, random_init=random_init, threads=threads))

    ini_path = out / "trackers.ini"
    config = configparser.ConfigParser()
    config.optionxform = str  # keep the keys' case
    if ini_path.is_file():
        config.read_string(read_text(ini_path, "trackers.ini"), source=str(ini_path))
    config[identifier] = {
        "label": f"{spec.name} (siambench)",
        "protocol": "traxpython",
        "command": module,
        "paths": str(out),
        "python": sys.executable,
        "timeout": str(timeout),
    }
    text = io.StringIO()
    config.write(text)
    atomic_write_text(ini_path, text.getvalue())
    written = {"wrapper": wrapper, "trackers.ini": ini_path}
    if sequences is not None:
        written.update(_write_workspace(out, Path(sequences), force))
    return written


def _check_workspace(out: Path, sequences: Path, force: bool) -> None:
    if not (sequences / "list.txt").is_file():
        raise InputError(sequences / "list.txt", "not found: --sequences takes a VOT-layout dataset folder")
    config = out / "config.yaml"
    if config.exists() and not force:
        raise SiambenchError(f"{config} exists: {out} is already a workspace (use --force to rewrite it)")


def _write_workspace(out: Path, sequences: Path, force: bool) -> dict[str, Path]:
    _check_workspace(out, sequences, force)
    config = out / "config.yaml"
    stack = out / "stack.yaml"
    atomic_write_text(stack, _STACK)
    atomic_write_text(config, "registry:\n- ./trackers.ini\nstack: ./stack.yaml\n"
                              f"sequences: {sequences.resolve()}\n")
    (out / "results").mkdir(exist_ok=True)
    return {"config.yaml": config, "stack.yaml": stack}


# --------------------------------------------------------------------------------------------
# Reading the toolkit's results
# --------------------------------------------------------------------------------------------

# vot-toolkit 0.9 writes trajectories in binary by default (config `results_binary`): a header
# (int16 version, uint32 count), then per frame a uint8 kind and its little-endian payload.
_SPECIAL, _RECTANGLE, _POLYGON, _MASK, _POINT = 0, 1, 2, 3, 4


def read_vot_binary(path: Path) -> list[np.ndarray]:
    """A vot-toolkit ``.bin`` trajectory: per frame a code array (1 value) or a region array."""
    import struct

    data = path.read_bytes()
    offset = 0

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    try:
        _, count = take("<hI")
        entries: list[np.ndarray] = []
        for index in range(count):
            (kind,) = take("<B")
            if kind == _SPECIAL:
                entries.append(np.array(take("<I"), dtype=np.float64))
            elif kind == _RECTANGLE:
                entries.append(np.array(take("<ffff"), dtype=np.float64))
            elif kind == _POLYGON:
                (n,) = take("<H")
                entries.append(np.array(take(f"<{2 * n}f"), dtype=np.float64))
            else:
                what = "mask" if kind == _MASK else "point" if kind == _POINT else f"kind {kind}"
                raise InputError(path, f"frame {index + 1}: a {what} region; siambench reads "
                                       "rectangles and polygons only")
    except struct.error as exc:
        raise InputError(path, f"truncated vot-toolkit binary trajectory ({exc})") from None
    return entries



def _import_sequence(store: ResultStore, seq_dir: Path, experiment: str) -> dict[int, Path]:
    """Copy one sequence's repetitions (text or binary) into siambench's layout."""
    runs = sorted(p for p in seq_dir.glob(f"{seq_dir.name}_[0-9][0-9][0-9].*") if p.suffix in (".txt", ".bin"))
    written: dict[int, Path] = {}
    for path in runs:
        repetition = int(path.stem.rsplit("_", 1)[1])
        if repetition in written:
            raise InputError(path, f"repetition {repetition} is there twice (.txt and .bin); keep one")
        entries = read_vot_binary(path) if path.suffix == ".bin" else read_vot_trajectory(path)
        time_file = path.with_name(f"{path.stem}_time.value")
        times = read_column(time_file) if repetition == 1 and time_file.is_file() else None
        written[repetition] = store.write_vot(seq_dir.name, entries, times, repetition, experiment)
    return written


def import_vot(workspace: str | Path, tracker: str, dataset: str, results_dir: str | Path = "results",
               name: str | None = None, data_root: str | Path | None = None) -> dict[str, list[str]]:
    """Copy `tracker`'s results from a vot-toolkit workspace into siambench's results tree.

    Returns {experiment: [sequence, ...]} of what was imported. Experiments other than
    baseline (supervised), unsupervised and realtime are left out; so are sequences `dataset`
    lacks.
    """
    from siambench.datasets import load_dataset

    ds = load_dataset(dataset, root=data_root)
    source = Path(workspace) / "results" / tracker
    if not source.is_dir():
        raise InputError(source, f"no results of tracker {tracker!r} in this workspace (run `vot evaluate` first)")
    store = ResultStore(Path(results_dir), ds.results_name, name or tracker)
    known = set(ds.names)
    imported: dict[str, list[str]] = {}
    ledger = Ledger(store.root)
    key = "import-vot:" + hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
    info = {"tracker": name or tracker, "imported_from": str(source), "tool": "vot-toolkit"}
    with ledger.lock(on_wait=log.warning):
        for experiment in EXPERIMENT_DIRS:
            folder = source / experiment
            if not folder.is_dir():
                continue
            for seq_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
                if seq_dir.name not in known:
                    continue
                written = _import_sequence(store, seq_dir, experiment)
                if not written:
                    continue
                ledger.set_aside_if_damaged(log.warning)  # at the first record, as run does
                # The import is the sequence's whole result: repetitions an earlier import or run
                # left behind are superseded, so they leave the ledger and the disk.
                protocol = EXPERIMENT_PROTOCOLS[experiment]
                stale = ledger.record_import(protocol, seq_dir.name, written, key, info)
                keep = set(written.values())
                stale += [p for p in store.find_vot(seq_dir.name, experiment) if p not in keep]
                for path in stale:
                    path.unlink(missing_ok=True)
                imported.setdefault(experiment, []).append(seq_dir.name)
    if not imported:
        raise InputError(source, f"no {' or '.join(EXPERIMENT_DIRS)} results for sequences of {ds.name}")
    return imported
