"""`reconcile ci github-action`: the step the composite action (action.yml) runs. Inputs come
as options or, as action.yml passes them, as INFRAI_ACTION_* environment variables; the logic
is reconcile/cli/ci/action.py. `reconcile ci pre-commit`: the pre-commit hook
(reconcile/cli/ci/precommit.py)."""

from __future__ import annotations

import os
import sys

import click

from .ci.action import COMMANDS, ON_MISSING_PLAN, ActionInputs, run_action
from .ci.precommit import validate_each


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
@click.option("--plan-file", "plan_file", default="", envvar="INFRAI_ACTION_PLAN_FILE",
              help="apply: the saved plan reviewed in the pull request; apply exactly it.")
@click.option("--on-missing-plan", "on_missing_plan", type=click.Choice(ON_MISSING_PLAN), default="fail",
              show_default=True, envvar="INFRAI_ACTION_ON_MISSING_PLAN",
              help="apply with --plan-file: fail when the file is missing, or plan again.")
@click.option("--comment/--no-comment", "comment", default=True, envvar="INFRAI_ACTION_COMMENT",
              help="plan in a pull request: create or edit this environment's PR comment.")
@click.option("--destroy-label", "destroy_label", default="", envvar="INFRAI_ACTION_DESTROY_LABEL",
              help="Label the pull request with this while its plan deletes or replaces.")
def github_action(command: str, paths: str, endpoint: str, parallelism: str, args: str, name: str,
                  local: bool, plan_file: str, on_missing_plan: str, comment: bool, destroy_label: str) -> None:
    """Run validate, plan or apply and write the step's outputs, summary and PR comment.
    The GitHub token comes from INFRAI_ACTION_GITHUB_TOKEN or GITHUB_TOKEN (never an option:
    it would show in the process list)."""
    token = os.environ.get("INFRAI_ACTION_GITHUB_TOKEN", "")
    inputs = ActionInputs(command, paths, endpoint, parallelism, args, name or "default", local, plan_file,
                          on_missing_plan, comment, destroy_label, token)
    sys.exit(run_action(inputs, os.environ))


@ci.command("pre-commit")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="Set ${var:NAME}.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="YAML file of variables for ${var:NAME}; later files win.")
def pre_commit(files: tuple[str, ...], var_pairs: tuple[str, ...], var_files: tuple[str, ...]) -> None:
    """Validate the given config files offline, one configuration per directory (the
    pre-commit hook; see docs/ci.md)."""
    options = [*(x for v in var_pairs for x in ("--var", v)), *(x for v in var_files for x in ("--var-file", v))]
    sys.exit(validate_each(files, options))
