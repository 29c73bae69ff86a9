"""Shared fixtures. Tests that need the real benchmark material find it through SIAMBENCH_SHARED."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    return Path(os.environ.get("SIAMBENCH_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder (annotations, published raw results); skip where it is absent."""
    root = _shared_root()
    if not (root / "data").is_dir():
        pytest.skip(f"shared benchmark material not found at {root} (set SIAMBENCH_SHARED)")
    return root


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"
