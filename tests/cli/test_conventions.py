"""Terminal and configuration conventions: colour (--color, NO_COLOR, FORCE_COLOR) on
validate/plan/apply and never in markdown; every option from the environment; no prompt
when CI is set; `version --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile import __version__
from reconcile.cli.main import cli
from reconcile.render.events import UI_VERSION

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / "examples" / "quickstart")
ANSI = "\x1b["
NO_ENV = {"NO_COLOR": None, "FORCE_COLOR": None, "CI": None, "INFRAI_COLOR": None}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("projects:\n  - name: 5\n")
    return tmp_path


def invoke(*args: str, **env: str | None):
    return CliRunner().invoke(cli, list(args), env={**NO_ENV, **env})


@pytest.mark.parametrize("command", [["validate", "bad.yaml"], ["plan", "bad.yaml", "--local", "db"],
                                     ["apply", "bad.yaml", "--local", "db"]], ids=lambda c: c[0])
def test_colour_follows_flags_and_environment(command: list[str]):
    assert ANSI not in invoke(*command).stderr                                   # not a terminal
    assert ANSI in invoke(*command, FORCE_COLOR="1").stderr
    assert ANSI not in invoke(*command, FORCE_COLOR="1", NO_COLOR="1").stderr
    assert ANSI in invoke(*command, "--color", "always").stderr
    assert ANSI not in invoke(*command, "--color", "never", FORCE_COLOR="1").stderr
    assert ANSI not in invoke(*command, "--no-color", FORCE_COLOR="1").stderr
    assert ANSI not in invoke(*command, INFRAI_COLOR="never", FORCE_COLOR="1").stderr


def test_plan_colours_text_on_request_but_never_markdown():
    assert ANSI in invoke("plan", QUICKSTART, "--local", "db", "--color", "always").stdout
    assert ANSI not in invoke("plan", QUICKSTART, "--local", "db", "--color", "always", "--format", "markdown").stdout


def test_every_option_can_come_from_the_environment():
    assert invoke("plan", QUICKSTART, "--local", "db", INFRAI_PLAN_DETAILED_EXITCODE="1").exit_code == 2
    assert invoke("plan", QUICKSTART, "--local", "db", INFRAI_PARALLELISM="0").exit_code == 1  # usage error: 1..256
    out = invoke("plan", QUICKSTART, INFRAI_PLAN_LOCAL="db", INFRAI_PLAN_FORMAT="json")
    assert out.exit_code == 0 and json.loads(out.stdout)["type"] == "plan"
    # A version pinned in INFRAI_VERSION (common in workflows) is not `--version`.
    assert invoke("validate", QUICKSTART, INFRAI_VERSION="0.1.0").exit_code == 0


def test_apply_never_prompts_when_ci_is_set():
    result = invoke("apply", QUICKSTART, "--local", "db", CI="true")
    assert result.exit_code == 1
    assert "CI is set" in result.stderr and "--auto-approve" in result.stderr
    assert invoke("apply", QUICKSTART, "--local", "db", CI="true", INFRAI_AUTO_APPROVE="1").exit_code == 0


def test_version_json():
    result = invoke("version", "--json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["version"] == __version__ and info["ui"] == UI_VERSION
    assert invoke("--version").stdout.strip() == f"infrai-reconcile, version {__version__}"
