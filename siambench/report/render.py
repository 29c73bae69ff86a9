"""Formatters: a `Table` as terminal text, markdown, LaTeX, HTML or CSV.

Every format except CSV first lays the table out as a grid of cells (header rows, optional group
row, body rows), so orientation and number formatting are decided once. CSV is written tidy
instead (one line per tracker entry, whatever the orientation), because it is read by programs.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass

from siambench.errors import UnknownNameError
from siambench.report.tables import Entry, Table

FORMATS = ("terminal", "markdown", "latex", "html", "csv")
RANK_NAMES = {1: "first", 2: "second", 3: "third"}


@dataclass
class Cell:
    text: str
    mark: int = 0  # 1, 2, 3 = first, second, third place
    span: int = 1  # columns covered (group header cells)
    kind: str = "value"  # "header", "label", "value"; "measured"/"delta" for those entries' cells


@dataclass
class Grid:
    groups: list[Cell]  # spanning header row above `header`; empty when the layout has no groups
    header: list[Cell]
    body: list[list[Cell]]


def format_value(value: float | None, digits: int, signed: bool = False) -> str:
    if value is None or value != value:
        return "-"
    if signed:  # a difference that rounds to zero prints as +0.000, never -0.000
        return f"{round(value, digits) + 0.0:+.{digits}f}"
    return f"{value:.{digits}f}"


def _value_cells(entry: Entry, table: Table) -> list[Cell]:
    kind = entry.kind if entry.kind != "published" else "value"
    return [
        Cell(format_value(v, m.digits, signed=entry.kind == "delta"), mark, kind=kind)
        for v, m, mark in zip(entry.values, table.metrics, entry.marks, strict=True)
    ]


def to_grid(table: Table) -> Grid:
    info = table.layout.info
    if table.layout.orientation == "trackers-as-rows":
        groups: list[Cell] = []
        if any(m.group for m in table.metrics):
            groups.append(Cell("", span=1 + len(info), kind="header"))
            for m in table.metrics:
                if groups[-1].text == m.group and len(groups) > 1:
                    groups[-1].span += 1
                else:
                    groups.append(Cell(m.group, kind="header"))
        header = [Cell("Tracker", kind="header")] + [Cell(c.label, kind="header") for c in info]
        header += [Cell(f"{m.label} {m.arrow}", kind="header") for m in table.metrics]
        body = [
            [Cell(e.label, kind="label")]
            + [Cell(e.info.get(c.field, "-"), kind="value") for c in info]
            + _value_cells(e, table)
            for e in table.entries
        ]
        return Grid(groups, header, body)
    # trackers as columns: one row per info field and per metric
    header = [Cell("", kind="header")] + [Cell(e.label, kind="header") for e in table.entries]
    body = [
        [Cell(c.label, kind="label")] + [Cell(e.info.get(c.field, "-")) for e in table.entries]
        for c in info
    ]
    columns = [_value_cells(e, table) for e in table.entries]
    for i, m in enumerate(table.metrics):
        label = f"{m.group} {m.label}".strip()
        body.append([Cell(f"{label} {m.arrow}", kind="label")] + [col[i] for col in columns])
    return Grid([], header, body)


def render(table: Table, fmt: str, color: bool = False) -> str:
    """The table in one of FORMATS. `color` applies to the terminal format only."""
    if fmt not in FORMATS:
        raise UnknownNameError("format", fmt, list(FORMATS))
    if fmt == "csv":
        return render_csv(table)
    if fmt == "terminal":
        return render_terminal(table, color=color)
    return {"markdown": render_markdown, "latex": render_latex, "html": render_html}[fmt](table)


# --- terminal ------------------------------------------------------------------------------------

ANSI = {1: "\033[1;31m", 2: "\033[1;32m", 3: "\033[1;34m"}
ANSI_RESET = "\033[0m"
SUPERSCRIPT = {1: "¹", 2: "²", 3: "³"}


def render_terminal(table: Table, color: bool = False) -> str:
    """Aligned columns; places in red/green/blue with colour, else as superscripts 1/2/3."""
    grid = to_grid(table)

    def text(cell: Cell) -> str:
        return cell.text + (SUPERSCRIPT[cell.mark] if cell.mark and not color else "")

    rows = [grid.header, *grid.body]
    widths = [max(len(text(row[j])) for row in rows) for j in range(len(grid.header))]

    def line(row: list[Cell]) -> str:
        parts = []
        for j, cell in enumerate(row):
            shown = text(cell)
            pad = shown.ljust(widths[j]) if j == 0 else shown.rjust(widths[j])
            if color and cell.mark:
                pad = pad.replace(shown, f"{ANSI[cell.mark]}{shown}{ANSI_RESET}")
            parts.append(pad)
        return " | ".join(parts).rstrip()

    out = [f"{table.name}: {table.caption}"]
    if grid.groups:
        parts, j = [], 0
        for cell in grid.groups:
            width = sum(widths[j : j + cell.span]) + 3 * (cell.span - 1)
            parts.append(cell.text.center(width))
            j += cell.span
        out.append(" | ".join(parts).rstrip())
    out.append(line(grid.header))
    out.append("-+-".join("-" * w for w in widths))
    out.extend(line(row) for row in grid.body)
    legend = "red/green/blue" if color else "¹/²/³"
    if table.layout.mark_top > 0:
        out.append(f"{legend}: first/second/third of each metric")
    out.extend(table.notes)
    return "\n".join(out) + "\n"


# --- markdown ------------------------------------------------------------------------------------

def _md_cell(cell: Cell) -> str:
    text = cell.text.replace("|", "\\|")
    return {1: f"**{text}**", 2: f"<u>{text}</u>", 3: f"*{text}*"}.get(cell.mark, text)


def render_markdown(table: Table) -> str:
    """A pipe table; group headings are folded into the column labels (markdown has no colspan)."""
    grid = to_grid(table)
    header = [c.text for c in grid.header]
    if grid.groups:
        j = 0
        for group in grid.groups:
            for k in range(j, j + group.span):
                header[k] = f"{group.text} {header[k]}".strip()
            j += group.span
    align = [":---"] + ["---:"] * (len(header) - 1)
    lines = [f"**{table.name}.** {table.caption}", ""]
    lines.append("| " + " | ".join(h.replace("|", "\\|") for h in header) + " |")
    lines.append("| " + " | ".join(align) + " |")
    lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in grid.body)
    lines.append("")
    if table.layout.mark_top > 0:
        lines.append("Places of each metric: **first**, <u>second</u>, *third*.")
    lines.extend(f"{note}  " for note in table.notes)
    return "\n".join(lines) + "\n"


# --- LaTeX ---------------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "↑": r"$\uparrow$", "↓": r"$\downarrow$", "Δ": r"$\Delta$", "←": r"$\leftarrow$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _tex_cell(cell: Cell) -> str:
    text = latex_escape(cell.text)
    return {1: rf"\textbf{{{text}}}", 2: rf"\underline{{{text}}}", 3: rf"\textit{{{text}}}"}.get(cell.mark, text)


def render_latex(table: Table) -> str:
    """A booktabs `table` environment (needs \\usepackage{booktabs})."""
    grid = to_grid(table)
    n = len(grid.header)
    lines = [
        f"% {table.name} rendered by siambench {table.siambench_version}; needs \\usepackage{{booktabs}}",
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(table.caption)}. {latex_escape(table.notes[-1])}}}",
        rf"\label{{tab:{table.name}}}",
        r"\begin{tabular}{l" + "c" * (n - 1) + "}",
        r"\toprule",
    ]
    if grid.groups:
        cells, rules, j = [], [], 1
        for group in grid.groups:
            if group.text:
                cells.append(rf"\multicolumn{{{group.span}}}{{c}}{{{latex_escape(group.text)}}}")
                rules.append(rf"\cmidrule(lr){{{j}-{j + group.span - 1}}}")
            else:
                cells.extend([""] * group.span)
            j += group.span
        lines.append(" & ".join(cells) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(latex_escape(c.text) for c in grid.header) + r" \\")
    lines.append(r"\midrule")
    lines.extend(" & ".join(_tex_cell(c) for c in row) + r" \\" for row in grid.body)
    lines += [r"\bottomrule", r"\end{tabular}"]
    sources = [latex_escape(note) for note in table.notes[:-1]]
    if table.layout.mark_top > 0:
        sources.insert(0, r"Places: \textbf{first}, \underline{second}, \textit{third}.")
    if sources:
        lines.append(r"\par\smallskip{\footnotesize " + r" \\ ".join(sources) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


# --- HTML ----------------------------------------------------------------------------------------

HTML_COLORS = {1: "red", 2: "green", 3: "blue"}


def _html_cell(cell: Cell, tag: str) -> str:
    text = html.escape(cell.text)
    if cell.mark:
        text = (f'<span class="{RANK_NAMES[cell.mark]}" style="color:{HTML_COLORS[cell.mark]}">'
                f"{text}</span>")
    attrs = f' colspan="{cell.span}"' if cell.span > 1 else ""
    if cell.kind in {"measured", "delta"}:
        attrs += f' class="{cell.kind}"'
    return f"<{tag}{attrs}>{text}</{tag}>"


def render_html(table: Table) -> str:
    """An HTML <table> fragment with caption, places in red/green/blue, and notes in <tfoot>."""
    grid = to_grid(table)
    out = [f'<table class="siambench" id="{html.escape(table.name)}">',
           f"<caption>{html.escape(table.name)}: {html.escape(table.caption)}</caption>", "<thead>"]
    if grid.groups:
        out.append("<tr>" + "".join(_html_cell(c, "th") for c in grid.groups) + "</tr>")
    out.append("<tr>" + "".join(_html_cell(c, "th") for c in grid.header) + "</tr>")
    out += ["</thead>", "<tbody>"]
    for row in grid.body:
        cells = [_html_cell(row[0], "th")] + [_html_cell(c, "td") for c in row[1:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "<tfoot>"]
    notes = list(table.notes)
    if table.layout.mark_top > 0:
        notes.insert(0, "Places of each metric: first in red, second in green, third in blue.")
    out.extend(f'<tr><td colspan="{len(grid.header)}">{html.escape(n)}</td></tr>' for n in notes)
    out += ["</tfoot>", "</table>"]
    return "\n".join(out) + "\n"


# --- CSV -----------------------------------------------------------------------------------------

def render_csv(table: Table) -> str:
    """One line per entry: tracker, row type, info fields, one column per metric, variant, version."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    metric_names = [f"{m.group} {m.label}".strip() for m in table.metrics]
    writer.writerow(["table", "tracker", "row", "source_tracker"]
                    + [c.label for c in table.layout.info] + metric_names
                    + ["variant", "siambench_version"])
    for e in table.entries:
        values = ["" if v is None else repr(round(v, 6)) for v in e.values]
        writer.writerow([table.name, e.label, e.kind, e.tracker]
                        + [e.info.get(c.field, "") for c in table.layout.info] + values
                        + [table.variant, table.siambench_version])
    return buffer.getvalue()
