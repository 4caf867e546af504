"""`reconcile version [--json]`: the tool's version and the versions of its formats, for
scripts that must check what they talk to (`reconcile --version` is the short form)."""

from __future__ import annotations

import json
import platform
import sys

import click

from .. import __version__
from ..render.events import UI_VERSION
from ..render.json_ import JSON_FORMAT_VERSION
from .common import EXIT_OK, Out


@click.command("version")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as one JSON object.")
def version(as_json: bool) -> None:
    """Print the version of infrai-reconcile and of its machine-readable formats."""
    info = {"version": __version__, "ui": UI_VERSION, "json_format": JSON_FORMAT_VERSION,
            "python": platform.python_version(), "platform": sys.platform}
    if as_json:
        Out(False).result(json.dumps(info))
    else:
        Out(False).result(f"infrai-reconcile {__version__} (events ui {UI_VERSION}, JSON format "
                          f"{JSON_FORMAT_VERSION}, Python {info['python']})")
    sys.exit(EXIT_OK)
