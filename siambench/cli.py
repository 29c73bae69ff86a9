"""Command-line entry point: a thin layer over siambench's Python API.

Sub-commands live in their own modules and are imported only when invoked, so that
`siambench eval` never pays for torch, OpenCV or matplotlib imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

import click

from siambench import __version__
from siambench.errors import SiambenchError

# verb -> "module:attribute" of a click command. One line per verb.
COMMANDS: dict[str, str] = {
    "eval": "siambench.commands.eval_cmd:eval_command",
    "list": "siambench.commands.list_cmd:list_group",
    "run": "siambench.commands.run_cmd:run_command",
    "models": "siambench.commands.models_cmd:models_command",
    "report": "siambench.commands.report_cmd:report_command",
    "gate": "siambench.commands.gate_cmd:gate_command",
    "data": "siambench.commands.data_cmd:data_group",
    "train": "siambench.commands.train_cmd:train_command",
    "demo": "siambench.commands.demo_cmd:demo_command",
    "tune": "siambench.commands.tune_cmd:tune_command",
    "vot-integration": "siambench.commands.vot_cmd:vot_integration_command",
    "import-vot": "siambench.commands.vot_cmd:import_vot_command",
    "export-got10k": "siambench.commands.export_cmd:export_got10k_command",
    "export-trackingnet": "siambench.commands.export_cmd:export_trackingnet_command",
    "show": "siambench.commands.show_cmd:show_command",
    "speed": "siambench.commands.speed_cmd:speed_command",
    "weights": "siambench.commands.weights_cmd:weights_group",
    "analyze": "siambench.commands.analyze_cmd:analyze_group",
    "export-onnx": "siambench.commands.onnx_cmd:export_onnx_command",
    "track": "siambench.commands.track_cmd:track_command",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    @staticmethod
    def _available(name: str) -> bool:
        module = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not self._available(name):
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


class _EchoHandler(logging.Handler):
    """Warnings from the library as one 'siambench: warning: ...' line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"siambench: {record.levelname.lower()}: {record.getMessage()}", err=True)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("siambench")
    logger.handlers = [h for h in logger.handlers if not isinstance(h, _EchoHandler)] + [_EchoHandler()]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="siambench")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational messages.")
def cli(verbose: bool) -> None:
    """Benchmark Siamese single-object trackers on VOT and OTB."""
    _setup_logging(verbose)


#: Optional dependencies: import name -> (what to install, the extra that brings it).
OPTIONAL_MODULES = {
    "torch": ("torch", "track"),
    "cv2": ("opencv-python-headless", "track"),
    "matplotlib": ("matplotlib", "report"),
    "pandas": ("pandas", "report"),
    "ray": ("ray[tune]", "ray"),
    "distributed": ("dask[distributed]", "dask"),
    "onnx": ("onnx", "onnx"),
    "onnxruntime": ("onnxruntime", "onnx"),
    "got10k": ("got10k", "crosscheck"),
    "vot": ("vot-toolkit", "crosscheck"),
}


def missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """One line naming the extra to install, when `exc` is about an optional dependency."""
    top = (exc.name or "").split(".")[0]
    if top not in OPTIONAL_MODULES:
        return None
    package, extra = OPTIONAL_MODULES[top]
    note = " (scoring, tables and gates work without it)" if extra == "track" else ""
    return f"this command needs {package}, which is not installed: pip install 'siambench[{extra}]'{note}"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: known errors become one line on stderr and exit code 2."""
    try:
        code = cli.main(args=argv, prog_name="siambench", standalone_mode=False)
    except SiambenchError as exc:
        click.echo(f"siambench: error: {exc}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        message = missing_dependency(exc)
        if message is None:
            raise
        click.echo(f"siambench: error: {message}", err=True)
        sys.exit(2)
    except OSError as exc:
        # The readers and writers turn OSError into InputError; this is the net under them, so
        # that a permission or disk problem is never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"siambench: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("siambench: aborted", err=True)
        sys.exit(130)
    except SystemError as exc:
        # Ctrl-C landing inside compiled code (numba) comes back wrapped as a SystemError
        if not isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            raise
        click.echo("siambench: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    # In non-standalone mode click returns the code given to ctx.exit(n) instead of raising it.
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
