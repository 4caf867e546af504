"""Helpers for tests that run the tool the way CI systems do: as a `reconcile` executable
on PATH (pre-commit hooks, documentation blocks, the action's `run:` steps)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
INPUT_REF = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
RUN_STEP = "reconcile ${{ inputs.command }}"


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


def read_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if "<<" in lines[i]:
            name, delim = lines[i].split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
        else:
            name, value = lines[i].split("=", 1)
            out[name] = value
            i += 1
    return out


def run_steps(tmp: Path, inputs: dict[str, str], *, only: str | None = None, extra_env: dict[str, str] | None = None,
              path_first: Path | None = None) -> tuple[dict[str, str], Path, list[subprocess.CompletedProcess[str]]]:
    """Run each `run:` step of action.yml as the runner would: inputs substituted into the
    step's env, bash, GITHUB_* files. `uses:` steps (setup-python) are the runner's job."""
    # `${{ github.token }}` (github-token's default) is the runner's to fill: empty here.
    values = {name: str(spec.get("default", "")).replace("${{ github.token }}", "")
              for name, spec in ACTION["inputs"].items()} | inputs
    outputs, summary = tmp / "github_output", tmp / "step_summary.md"
    outputs.touch()
    runner_temp = tmp / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    env = clean_env(tmp, GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary),
                    GITHUB_ACTION_PATH=str(REPO), RUNNER_TEMP=str(runner_temp), CI="true", **(extra_env or {}))
    if path_first:
        env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
    done = []
    for step in ACTION["runs"]["steps"]:
        if "run" not in step or (only and step.get("name") != only):
            continue
        step_env = {k: INPUT_REF.sub(lambda m: values[m.group(1)], str(v)) for k, v in step.get("env", {}).items()}
        done.append(subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp / "repo", env={**env, **step_env},
                                   capture_output=True, text=True, check=False, timeout=120))
    return read_outputs(outputs), summary, done
