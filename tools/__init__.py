"""Generators of the repository's derived files (docs, schemas); out of the installed package."""

from __future__ import annotations

from pathlib import Path as _Path
from typing import Iterable as _Iterable


def write_files(targets: _Iterable[tuple[_Path, str]]) -> None:
    """Write each generated file, saying so."""
    for path, text in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
