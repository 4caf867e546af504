"""`reconcile export` in library form: the live account as a config that plans unchanged
(the pure conversion is reconcile/config/export.py).

Imports: config, resources, live.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..config.export import Exported, export_config, select_kinds
from ..live.reader import read_live
from ..resources import DesiredState
from .options import RunOptions


def export(client: Any, kinds: Iterable[str] | None = None, *, settings: DesiredState | None = None,
           options: RunOptions = RunOptions()) -> Exported:
    """Read the live account (`kinds`: config keys or kind names, default all; parents of
    nested kinds come along) and return it as an exported config; `settings`, the config
    the account is managed from, keeps its config-only settings."""
    wanted = select_kinds(list(kinds) if kinds is not None else None)
    live = read_live(client, wanted, parallelism=options.parallelism)
    return export_config(live, wanted, settings)
