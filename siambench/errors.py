"""Error types. Every user-facing failure is one of these, rendered as one line by the CLI."""

from __future__ import annotations

from pathlib import Path


class SiambenchError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""


class InputError(SiambenchError):
    """A file is missing or malformed. The message names the file (and line) and what was expected."""

    def __init__(self, path: str | Path | None, message: str, line: int | None = None) -> None:
        where = "" if path is None else str(path) + ("" if line is None else f":{line}")
        super().__init__(f"{where}: {message}" if where else message)
        self.path = None if path is None else Path(path)
        self.line = line


class UnknownNameError(SiambenchError):
    """An unknown dataset, tracker, table or variant name."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}{_suggestion(name, known)}; known: {', '.join(sorted(known))}")


def _suggestion(name: str, known: list[str]) -> str:
    """" (did you mean X?)" where `name` is a known one in another case or with other
    separators ("Rotation1" for "rotation1", "otb-2015" for "otb2015"); near misses by edit
    distance are left out, as they name the wrong one too often (vot2081: vot2018 or vot2019?)."""

    def fold(text: str) -> str:
        return "".join(c for c in str(text).lower() if c not in "-_ .")

    matches = [k for k in known if fold(k) == fold(name)]
    return f" (did you mean {matches[0]!r}?)" if len(matches) == 1 else ""
