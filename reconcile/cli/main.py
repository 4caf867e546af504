"""`reconcile`: the command group. Each command lives in its own `cmd_*.py` module; this
module only assembles them. The CLI is the only code that prints or chooses exit codes."""

from __future__ import annotations

import logging
import sys

import click

from .. import __version__
from ..redact import RUN_SECRETS, RedactingFilter
from . import (
    cmd_adopt,
    cmd_apply,
    cmd_ci,
    cmd_export,
    cmd_graph,
    cmd_keys,
    cmd_plan,
    cmd_validate,
    cmd_version,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "INFRAI"})
# Not from INFRAI_VERSION: a workflow pinning the tool's version in that variable must not
# turn every command into `--version` (or an "invalid boolean" error).
@click.version_option(__version__, prog_name="infrai-reconcile", allow_from_autoenv=False)
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for HTTP calls).")
def cli(verbose: int) -> None:
    """Infrastructure-as-code for the Infrai account API.

    Declare projects, keys, webhooks, budgets, routing and alerts in YAML; `validate` it,
    `plan` to see what would change, `apply` to make the account match.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # no secret the run has seen in any log line
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(RUN_SECRETS))


# One line per command module.
cli.add_command(cmd_validate.validate)
cli.add_command(cmd_plan.plan)
cli.add_command(cmd_apply.apply)
cli.add_command(cmd_adopt.adopt)
cli.add_command(cmd_export.export)
cli.add_command(cmd_graph.graph)
cli.add_command(cmd_keys.keys)
cli.add_command(cmd_version.version)
cli.add_command(cmd_ci.ci)


def _register_emulator() -> None:
    from ..emulator.cli import emulator_cli

    cli.add_command(emulator_cli, "emulator")


_register_emulator()


def main() -> None:
    cli(prog_name="reconcile")


if __name__ == "__main__":  # pragma: no cover
    main()
