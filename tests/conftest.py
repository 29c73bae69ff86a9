"""Shared fixtures. Tests that need the real benchmark material find it through SIAMBENCH_SHARED."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    return Path(os.environ.get("SIAMBENCH_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session", autouse=True)
def _own_overlap_cache(tmp_path_factory):
    """The tests keep their overlaps in a folder of their own, never reading a user's cache."""
    from siambench.cache import OVERLAP_CACHE_ENV

    before = os.environ.get(OVERLAP_CACHE_ENV)
    os.environ[OVERLAP_CACHE_ENV] = str(tmp_path_factory.mktemp("overlaps"))
    yield
    if before is None:
        os.environ.pop(OVERLAP_CACHE_ENV, None)
    else:
        os.environ[OVERLAP_CACHE_ENV] = before


@pytest.fixture(autouse=True)
def _ctrl_c_is_ctrl_c():
    """Every test starts with Ctrl-C raising KeyboardInterrupt, as in a terminal.

    A shell that starts the suite in the background hands it SIGINT ignored, and a library
    (Ray Tune) may leave a handler of its own behind; either would make the tests that send
    SIGINT to a run test something else.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


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


@pytest.fixture
def isolated_registry(monkeypatch, tmp_path):
    """An empty tracker registry for the test: returns `add(name, make, **spec_fields)`.

    `make(spec)` builds the tracker; weights resolve under the test's own folder.
    """
    from siambench.trackers import registry

    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setenv("SIAMBENCH_WEIGHTS", str(tmp_path / "weights"))

    def add(name: str, make, **fields) -> None:
        registry.register_adapter(name)(lambda spec, device, weights, random_init: make(spec))
        registry.register_spec(registry.TrackerSpec(name, name, **fields))

    return add
