"""docs/cli-reference.md is generated from the click command tree and must be current."""

from __future__ import annotations

import click

from tools import cli_reference as reference
from reconcile.cli.main import cli


def test_cli_reference_is_up_to_date():
    assert reference.main(["--check"]) == 0, "run: python -m tools.cli_reference"


def test_reference_lists_every_command_and_option_with_its_environment_variable():
    text = reference.generate()
    assert "`INFRAI_PLAN_DETAILED_EXITCODE`" in text and "`INFRAI_PARALLELISM`, `INFRAI_PLAN_PARALLELISM`" in text
    assert "_RECONCILE_COMPLETE=bash_source reconcile" in text
    ctx = click.Context(cli, info_name="reconcile")
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        assert f"## `reconcile {name}`" in text
        for opt in cmd.params:
            if isinstance(opt, click.Option) and not opt.hidden:
                assert f"`{opt.opts[0]}`" in text
