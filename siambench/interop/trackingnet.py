"""TrackingNet's submission layout: one-pass results as its evaluation server takes them.

:func:`export_trackingnet` turns siambench's results (``<results>/TrackingNet/<tracker>/<seq>.txt``)
into ``<out>/<tracker>/<seq>.txt``, one ``x,y,w,h`` line per frame, optionally zipped as
``<out>/<tracker>.zip`` with the files at its root: the archive the server's upload form takes
(the layout of pytracking's ``pack_trackingnet_results.py``). Unlike GOT-10k's, the server
needs no per-frame times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siambench.errors import InputError
from siambench.interop.submission import one_pass_results, zip_folder

BOX_FORMAT = "%.3f"  # as the GOT-10k export; the server parses any decimal


def export_trackingnet(results_dir: str | Path, tracker: str, out: str | Path, dataset: str = "trackingnet",
                       zip_results: bool = False) -> Path:
    """Write `tracker`'s one-pass results in the TrackingNet submission layout; returns the folder
    (or the zip file with `zip_results`)."""
    from siambench.results import read_boxes
    from siambench.textio import atomic_write_lines

    target = Path(out) / tracker
    for seq, path in one_pass_results(results_dir, tracker, dataset, out):
        boxes = read_boxes(path)
        bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
        if len(bad):  # the server cannot score them; a missing box is the tracker's to report
            raise InputError(path, "expected finite box values for the server, got NaN or infinity", int(bad[0]) + 1)
        atomic_write_lines(target / f"{seq}.txt", (",".join(BOX_FORMAT % v for v in row) for row in boxes))
    if not zip_results:
        return target
    return zip_folder(target, Path(out) / f"{tracker}.zip", flat=True)
