"""Where the project's data folders are: ``trackers/`` (tracker specs) and ``benchmarks/``
(table layouts, published numbers, the demo baseline).

They live at the top of the repository, beside the package, so that users edit them as data.
A source checkout (editable install) uses them in place. An installed wheel carries a copy in
``<prefix>/share/siambench/`` (setup.cfg's ``data_files``), which is used when there is no
checkout around the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def project_folder(name: str) -> Path:
    """The folder `name` (``trackers`` or ``benchmarks``) of the checkout, else of the install."""
    if (_CHECKOUT / "setup.cfg").is_file() and (_CHECKOUT / name).is_dir():
        return _CHECKOUT / name
    return Path(sys.prefix) / "share" / "siambench" / name
