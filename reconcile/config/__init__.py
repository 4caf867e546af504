"""Config files (YAML) → a validated `DesiredState`; the config's JSON Schema.

`load_config` is what the CLI calls; it raises `ValidationError` with every problem, each
located at file:line:col. The schema is derived from the kinds registry (`schema.py`).
Imports: collector (its modules: errors, collector, kinds, resources, plan.policy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loader import check_config, config_files, load_config, validate_only
    from .schema import build_schema

__all__ = ["build_schema", "check_config", "config_files", "load_config", "validate_only"]

_HOME = {"build_schema": "schema", "check_config": "loader", "config_files": "loader", "load_config": "loader",
         "validate_only": "loader"}


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `python -m reconcile.config.schema` does not find its
    # own module already imported by the package (runpy warns about that).
    if name in _HOME:
        from importlib import import_module

        from ..collector import gc_paused

        with gc_paused():  # the loader, the kinds and the schema: objects that live on
            module = import_module(f"{__name__}.{_HOME[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
