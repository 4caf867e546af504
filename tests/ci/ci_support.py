"""Helpers for tests that run the tool the way CI systems do: as a `reconcile` executable
on PATH (pre-commit hooks, documentation blocks, the action's `run:` steps)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bin_dir(tmp: Path) -> Path:
    """A folder holding `reconcile` and `python` that run this checkout with this interpreter."""
    d = tmp / "bin"
    d.mkdir(exist_ok=True)
    for name, body in (("reconcile", f'exec "{sys.executable}" -m reconcile "$@"'),
                       ("python", f'exec "{sys.executable}" "$@"')):
        p = d / name
        p.write_text(f"#!/usr/bin/env bash\n{body}\n")
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return d


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a CI job: this checkout importable, no INFRAI_/GITHUB_ leftovers."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("INFRAI_", "GITHUB_", "RUNNER_")) and k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    env["PATH"] = f"{bin_dir(tmp)}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env
