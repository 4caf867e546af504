"""Start fast: `reconcile --version`, `--help`, shell completion and `validate` load only what
they use. Each runs in a fresh interpreter (the test process has everything imported
already), which reports the modules it ended with; the heavy ones must be absent.

How fast that makes them is measured in bench/, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconcile.cli.main import COMMANDS, cli

REPO = Path(__file__).parents[2]

# Run the CLI as the entry point does, then print the names in sys.modules and whether the
# cyclic GC is on, with how many objects startup left frozen.
PROBE = """
import gc, json, sys
from reconcile.cli import main
sys.argv = ["reconcile", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
sys.__stdout__.write("\\nPROBE " + json.dumps({"modules": sorted(sys.modules), "gc_enabled": gc.isenabled(),
                                                "frozen": gc.get_freeze_count()}) + "\\n")
"""

NEVER_AT_START = ("reconcile.emulator", "starlette", "uvicorn", "asyncio", "deepdiff", "httpx", "reconcile.client",
                  "reconcile.workflow.engine", "reconcile.live")
# A text `validate` reads and checks the config: it plans nothing (reconcile.plan is 5 modules),
# connects nowhere and logs nothing (cli/main.py's `logs=False`), and digests nothing.
NOT_FOR_VALIDATE = NEVER_AT_START + ("reconcile.plan", "reconcile.apply", "reconcile.workflow.connect", "logging",
                                     "hashlib", "difflib")
NOT_FOR_VERSION = NEVER_AT_START + ("yaml", "jsonschema", "reconcile.config", "reconcile.plan", "reconcile.apply",
                                    "reconcile.cli.cmd_", "logging")


def probe(args: list[str], tmp_path: Path, **env: str) -> dict[str, Any]:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("INFRAI_", "GITHUB_"))}
    run_env.update(PYTHONPATH=str(REPO), **env)
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], cwd=tmp_path, env=run_env,
                          capture_output=True, text=True, timeout=60)
    marker = proc.stdout.rsplit("\nPROBE ", 1)
    assert len(marker) == 2, proc.stdout + proc.stderr
    found: dict[str, Any] = json.loads(marker[1])
    return found


def imported(args: list[str], tmp_path: Path, **env: str) -> set[str]:
    return set(probe(args, tmp_path, **env)["modules"])


def offending(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f if f.endswith("_") else f + ".")
                                            for f in forbidden))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_load_click_and_the_registry_only(args, tmp_path):
    modules = imported(args, tmp_path)
    assert "reconcile.cli.main" in modules  # the probe really ran the CLI
    assert offending(modules, NOT_FOR_VERSION) == []


def test_completing_a_command_name_loads_no_command(tmp_path):
    modules = imported([], tmp_path, _RECONCILE_COMPLETE="bash_complete", COMP_WORDS="reconcile pl", COMP_CWORD="1")
    assert offending(modules, NOT_FOR_VERSION) == []


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_loads_neither_http_nor_diff_nor_the_emulator(fmt, tmp_path):
    (tmp_path / "infrai.yaml").write_text("version: 1\nprojects:\n  - name: web\n    keys: [{name: ci}]\n")
    modules = imported(["validate", "infrai.yaml", "--format", fmt], tmp_path)
    assert "reconcile.cli.cmd_validate" in modules and "reconcile.config" in modules
    # --format json reads its format version from render/, which loads the plan layer with it.
    assert offending(modules, NOT_FOR_VALIDATE if fmt == "text" else NEVER_AT_START) == []


def test_validate_of_an_invalid_config_stays_light_too(tmp_path):
    (tmp_path / "infrai.yaml").write_text("version: 1\nprojects:\n  - name: web\n    colour: blue\n")
    modules = imported(["validate", "infrai.yaml"], tmp_path)
    assert "reconcile.cli.cmd_validate" in modules
    assert offending(modules, NEVER_AT_START) == []


def test_the_registry_help_is_each_commands_own():
    """`--help` lists the registry's one-line help without loading the commands: it must be
    the first sentence of each command's own help, and name every command there is."""
    ctx = cli.make_context("reconcile", ["--help"], resilient_parsing=True)
    for name, entry in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        first = (command.short_help or command.help or "").strip().split("\n\n")[0]
        assert entry.short_help == " ".join(first.split()), name


def test_help_lists_every_command():
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--help"], prog_name="reconcile")
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed, name


def test_validate_with_verbose_still_configures_logging(tmp_path):
    (tmp_path / "infrai.yaml").write_text("version: 1\n")
    assert "logging" in imported(["-v", "validate", "infrai.yaml"], tmp_path)


# The entry point imports the command tree with the cyclic GC paused (cli/__init__.py):
# by the time the process ends, the collector must be back on, what startup left frozen.
@pytest.mark.parametrize("args", [["--version"], ["validate", "infrai.yaml"], ["version"]])
def test_the_collector_is_back_on_after_startup(args, tmp_path):
    (tmp_path / "infrai.yaml").write_text("version: 1\nprojects:\n  - name: web\n")
    found = probe(args, tmp_path)
    assert found["gc_enabled"] is True
    assert found["frozen"] > 1000  # the modules imported at startup
