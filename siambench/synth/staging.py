"""Atomic folder output: render into a hidden sibling, then swap it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def staging_folder(out: Path) -> Path:
    """An empty sibling of `out` to render into, with the permissions a new folder gets."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private
    return staging


def publish(staging: Path, out: Path) -> None:
    """Move the finished `staging` folder to `out`, replacing what was there."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists() and not out.is_symlink():
        os.rename(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.rename(out, retired / out.name)
    os.rename(staging, out)
    shutil.rmtree(retired, ignore_errors=True)
