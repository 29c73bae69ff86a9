"""A small model registry: builders register under a name, `create_model(name)` builds one.

Model families live in their own modules (``siamrpn``, ``siamdw``, ``siamfc``) and register
their builders with ``@register_model``. Those modules are imported on the first lookup, so
importing :mod:`siambench.models` stays cheap and a family whose module is absent is skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable

from torch import nn

from siambench.errors import UnknownNameError

Builder = Callable[..., nn.Module]

_BUILDERS: dict[str, Builder] = {}
_FAMILY_MODULES = ("siambench.models.siamrpn", "siambench.models.siamdw", "siambench.models.siamfc", "siambench.models.analysis_nets")
_families_loaded = False


def register_model(fn: Builder | None = None, *, name: str | None = None):
    """Decorator registering a model builder under `name` (default: the function's name)."""

    def decorate(builder: Builder) -> Builder:
        key = name or builder.__name__
        if key in _BUILDERS and _BUILDERS[key] is not builder:
            raise ValueError(f"model {key!r} is registered twice")
        _BUILDERS[key] = builder
        return builder

    return decorate(fn) if fn is not None else decorate


def _load_families() -> None:
    global _families_loaded
    if _families_loaded:
        return
    _families_loaded = True
    for module in _FAMILY_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _load_families()
    return sorted(_BUILDERS)


def model_builder(name: str) -> Builder:
    """The builder registered under `name`; an unknown name raises UnknownNameError."""
    _load_families()
    if name not in _BUILDERS:
        raise UnknownNameError("model", name, list(_BUILDERS))
    return _BUILDERS[name]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered under `name` with random weights, in eval mode."""
    model = model_builder(name)(**kwargs)
    return model.eval()


__all__ = ["create_model", "list_models", "model_builder", "register_model"]
