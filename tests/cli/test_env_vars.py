"""Every environment variable docs/cli-reference.md names really sets its option.

The page is generated from `reference.env_vars` (tests/cli/test_reference.py keeps it
current), so checking those names checks the page. Two levels:
- each documented name, for every option of every command: click resolves the option from
  it (its value comes from the environment, not the default);
- a representative set end to end, through the CLI: the option visibly takes effect.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.core import ParameterSource
from click.testing import CliRunner

from tools import cli_reference as reference
from reconcile.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / "examples" / "quickstart")
CLEAN = {"NO_COLOR": None, "FORCE_COLOR": None, "CI": None, "INFRAI_COLOR": None, "GITHUB_ACTIONS": None}


def sample(opt: click.Option) -> str:
    """A value the option accepts."""
    if opt.is_flag:
        return "1"
    if isinstance(opt.type, click.Choice):
        return str(opt.type.choices[-1])
    if isinstance(opt.type, (click.IntRange, click.FloatRange)):
        return str(opt.type.min if opt.type.min is not None else 1)
    if opt.type in (click.INT, click.FLOAT):
        return "1"
    return "x"


def documented() -> list[tuple[list[str], click.Option, str]]:
    return [(path, opt, name) for path, opt in reference.options_by_command() for name in reference.env_vars(opt)]


def context_for(path: list[str]) -> tuple[click.Context, click.Command]:
    ctx = click.Context(cli, info_name="reconcile", **cli.context_settings)
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        sub = command.get_command(ctx, name)
        assert sub is not None, path
        ctx, command = click.Context(sub, info_name=name, parent=ctx), sub
    return ctx, command


def test_every_option_documents_its_command_name():
    """`INFRAI_<COMMAND>_<FLAG>` for every option with a long flag, and the page says so."""
    text = reference.DOC_PATH.read_text()
    for path, opt in reference.options_by_command():
        longs = [o for o in opt.opts if o.startswith("--")]
        if not longs or not opt.allow_from_autoenv:
            continue
        name = "_".join(["INFRAI", *path, longs[0][2:]]).upper().replace("-", "_")
        assert name in reference.env_vars(opt), (path, opt.opts)
        assert f"`{name}`" in text, name
    assert "`INFRAI_PLAN_FORMAT`" in text and "`INFRAI_PLAN_FMT`" not in text


@pytest.mark.parametrize("path,opt,name", documented(), ids=lambda v: v if isinstance(v, str) else None)
def test_each_documented_name_sets_its_option(path, opt, name, monkeypatch):
    for other in {n for _, o, _ in documented() for n in reference.env_vars(o)}:
        monkeypatch.delenv(other, raising=False)
    ctx, _ = context_for(path)
    assert opt.consume_value(ctx, {})[1] is ParameterSource.DEFAULT
    monkeypatch.setenv(name, sample(opt))
    value, source = opt.consume_value(ctx, {})
    assert source is ParameterSource.ENVIRONMENT, (name, value)


def invoke(*args: str, **env: str | None):
    return CliRunner().invoke(cli, list(args), env={**CLEAN, **env})


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_plan_format_and_target_and_local_from_the_environment():
    out = invoke("plan", QUICKSTART, INFRAI_PLAN_LOCAL="db", INFRAI_PLAN_FORMAT="json",
                 INFRAI_PLAN_TARGET="projects.web")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["type"] == "plan"
    assert {c["address"].split(".keys.")[0] for c in doc["changes"]} == {"projects.web"}, doc["changes"]


def test_plan_detailed_exitcode_from_the_environment():
    assert invoke("plan", QUICKSTART, "--local", "db").exit_code == 0
    assert invoke("plan", QUICKSTART, "--local", "db", INFRAI_PLAN_DETAILED_EXITCODE="1").exit_code == 2
    assert invoke("plan", QUICKSTART, "--local", "db", INFRAI_PLAN_DETAILED_EXITCODE="0").exit_code == 0


def test_validate_format_from_the_environment():
    out = invoke("validate", QUICKSTART, INFRAI_VALIDATE_FORMAT="json")
    assert out.exit_code == 0 and json.loads(out.stdout)["valid"] is True


def test_apply_approval_and_secrets_file_from_the_environment(tmp_path):
    out = invoke("apply", QUICKSTART, "--local", "db", INFRAI_APPLY_AUTO_APPROVE="1",
                 INFRAI_APPLY_SECRETS_OUT=str(tmp_path / "s.json"), INFRAI_APPLY_FORMAT="json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["type"] == "apply"
    assert json.loads((tmp_path / "s.json").read_text())["secrets"]


def test_a_command_added_eagerly_gets_the_same_names_and_its_help_line():
    from reconcile.cli.main import ReconcileGroup

    @click.command("extra")
    @click.option("--some-thing", "value")
    def extra(value: str | None) -> None:
        """A command registered with add_command, not through the registry."""
        click.echo(repr(value))

    group = ReconcileGroup("reconcile", context_settings={"auto_envvar_prefix": "INFRAI"})
    group.add_command(extra)
    assert CliRunner().invoke(group, ["extra"], env={"INFRAI_EXTRA_SOME_THING": "v"}).output == "'v'\n"
    listed = CliRunner().invoke(group, ["--help"]).output.split("Commands:")[1].splitlines()
    assert any(line.split()[:2] == ["extra", "A"] for line in listed), listed
