"""TrackingNet's submission layout: one-pass results as its evaluation server takes them.

:func:`export_trackingnet` turns siambench's results (``<results>/TrackingNet/<tracker>/<seq>.txt``)
into ``<out>/<tracker>/<seq>.txt``, one ``x,y,w,h`` line per frame, optionally zipped as
``<out>/<tracker>.zip`` with the files at its root: the archive the server's upload form takes
(the layout of pytracking's ``pack_trackingnet_results.py``). Unlike GOT-10k's, the server
needs no per-frame times.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from siambench.errors import InputError
from siambench.textio import os_reason

BOX_FORMAT = "%.3f"  # as the GOT-10k export; the server parses any decimal


def export_trackingnet(results_dir: str | Path, tracker: str, out: str | Path, dataset: str = "trackingnet",
                       zip_results: bool = False) -> Path:
    """Write `tracker`'s one-pass results in the TrackingNet submission layout; returns the folder
    (or the zip file with `zip_results`)."""
    from siambench.datasets import dataset_info
    from siambench.results import ResultStore, read_boxes
    from siambench.textio import atomic_write_lines, check_writable_dir

    check_writable_dir(Path(out))  # before reading every result file
    info = dataset_info(dataset)
    store = ResultStore(Path(results_dir), info.results_name, tracker)
    if not store.root.is_dir():
        raise InputError(store.root, f"no results of tracker {tracker!r} (run `siambench run` first)")
    sequences = sorted(p.stem for p in store.root.glob("*.txt") if not p.stem.endswith("_time"))
    if not sequences:
        raise InputError(store.root, "no one-pass result files (<seq>.txt) found")
    target = Path(out) / tracker
    for seq in sequences:
        path = store.ope_path(seq)
        boxes = read_boxes(path)
        bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
        if len(bad):  # the server cannot score them; a missing box is the tracker's to report
            raise InputError(path, "expected finite box values for the server, got NaN or infinity", int(bad[0]) + 1)
        atomic_write_lines(target / f"{seq}.txt", (",".join(BOX_FORMAT % v for v in row) for row in boxes))
    if not zip_results:
        return target
    return _zip_flat(target, Path(out) / f"{tracker}.zip")


def _zip_flat(folder: Path, archive: Path) -> Path:
    """The folder's .txt files at the root of `archive`; a failed write leaves no partial archive."""
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
            for path in sorted(folder.glob("*.txt")):
                handle.write(path, path.name)
    except OSError as exc:
        archive.unlink(missing_ok=True)
        raise InputError(archive, f"cannot write ({os_reason(exc)})") from None
    return archive
