"""What an installed siambench (a wheel, no checkout, maybe no torch) finds and can do."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from siambench import project_data

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_the_tracker_specs_and_benchmark_tables(tmp_path):
    pytest.importorskip("setuptools")
    # Build from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = tmp_path / "src"
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    for name in ("siambench", "trackers", "benchmarks"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("siambench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    share = next(n for n in names if n.endswith("share/siambench/benchmarks/baselines.json"))
    prefix = share[: -len("benchmarks/baselines.json")]
    for folder, pattern in (("trackers", "*.yaml"), ("benchmarks/tables", "*.yaml"),
                            ("benchmarks/references", "*.yaml")):
        for path in (REPO / folder).glob(pattern):
            assert prefix + f"{folder}/{path.name}" in names
    assert "siambench/data/weights/demo_siamfc.pth" in names


def test_project_folders_come_from_the_install_without_a_checkout(tmp_path, monkeypatch):
    assert project_data.project_folder("trackers") == REPO / "trackers"
    monkeypatch.setattr(project_data, "_CHECKOUT", tmp_path / "site-packages")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    assert project_data.project_folder("benchmarks") == tmp_path / "venv" / "share" / "siambench" / "benchmarks"


_BARE = """
import sys
sys.path[:0] = [{repo!r}, {site!r}]

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "cv2"):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, NoTorch())
from siambench.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    sys.exit(exc.code)
"""


@pytest.mark.parametrize("args", [
    ["list", "trackers"],
    ["eval", "-d", "vot2018", "--data-root", "{data}", "--results-dir", "{data}/results"],
    ["report", "--table", "table2", "--results-dir", "{data}/results", "--data-root", "{data}"],
])
def test_scoring_and_reporting_run_in_a_bare_interpreter_without_torch(args, shared_data, tmp_path):
    # -S: no site module and no .pth files, so nothing is imported for siambench behind its back
    # (an installed wheel's interpreter need not have imported importlib.util, say).
    code = _BARE.format(repo=str(REPO), site=sysconfig.get_paths()["purelib"])
    argv = [a.format(data=shared_data) for a in args]
    result = subprocess.run([sys.executable, "-S", "-c", code, *argv], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if args[0] == "eval":
        assert "0.383" in result.stdout


def test_tracking_without_torch_is_a_one_line_error_naming_the_extra(tmp_path):
    code = _BARE.format(repo=str(REPO), site=sysconfig.get_paths()["purelib"])
    for args in (["run", "--tracker", "siamfc-demo", "--dataset", "demo-ci"], ["models"]):
        result = subprocess.run([sys.executable, "-S", "-c", code, *args], capture_output=True,
                                text=True, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr == ("siambench: error: this command needs torch, which is not installed: "
                                 "pip install 'siambench[track]' (scoring, tables and gates work "
                                 "without it)\n")
