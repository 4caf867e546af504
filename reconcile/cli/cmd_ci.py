"""`reconcile ci github-action`: the step the composite action (action.yml) runs. Inputs come
as options or, as action.yml passes them, as INFRAI_ACTION_* environment variables; the logic
is reconcile/ci/github.py."""

from __future__ import annotations

import os
import sys

import click

from ..ci.github import COMMANDS, ActionInputs, run_action


@click.group("ci")
def ci() -> None:
    """Entry points for CI systems (see docs/ci.md)."""


@ci.command("github-action")
@click.option("--command", "command", type=click.Choice(COMMANDS), default="plan", show_default=True,
              envvar="INFRAI_ACTION_COMMAND", help="What to run.")
@click.option("--paths", default=".", show_default=True, envvar="INFRAI_ACTION_PATHS",
              help="Config files or directories, separated by spaces.")
@click.option("--endpoint", "endpoint", default="", envvar="INFRAI_ACTION_ENDPOINT", help="API base URL.")
@click.option("--parallelism", "parallelism", default="", envvar="INFRAI_ACTION_PARALLELISM",
              help="Concurrent API calls.")
@click.option("--args", "args", default="", envvar="INFRAI_ACTION_ARGS", help="Extra arguments for the command.")
@click.option("--name", "name", default="default", show_default=True, envvar="INFRAI_ACTION_NAME",
              help="Environment name: the PR comment's marker and the files' names.")
@click.option("--local/--no-local", "local", default=False, envvar="INFRAI_ACTION_LOCAL",
              help="Use the embedded emulator (for pull requests from forks: no secrets).")
def github_action(command: str, paths: str, endpoint: str, parallelism: str, args: str, name: str,
                  local: bool) -> None:
    """Run validate, plan or apply and write the step's outputs, summary and comment body."""
    inputs = ActionInputs(command, paths, endpoint, parallelism, args, name or "default", local)
    sys.exit(run_action(inputs, os.environ))
