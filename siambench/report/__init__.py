"""Reports: paper-style tables (tables.py builds them, render.py formats them) and plots (plots.py).

Importing this package loads neither torch nor matplotlib; plots.py imports matplotlib on use.
"""

from siambench.report.render import FORMATS, render
from siambench.report.tables import Table, available_tables, build_table, load_layout, resolve_table

__all__ = ["FORMATS", "Table", "available_tables", "build_table", "load_layout", "render", "resolve_table"]
