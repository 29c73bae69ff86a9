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
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")
