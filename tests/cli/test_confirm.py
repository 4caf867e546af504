"""The one confirmation prompt (reconcile/cli/confirm.py) of `apply` and `webhooks
retry|replay`, through the real CLI: only `yes` goes ahead; CI or no terminal refuses at
once with the command's own hint."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from reconcile.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / "examples" / "quickstart")
HOOK = 'webhooks["https://hooks.example.com/infrai/quickstart"]'
ENV = {"NO_COLOR": None, "FORCE_COLOR": None, "CI": None, "INFRAI_AUTO_APPROVE": None, "WEBHOOK_SECRET": "s3cret-x"}


def invoke(*args: str, input: str | None = None, **env: str | None):
    return CliRunner().invoke(cli, list(args), input=input, env={**ENV, **env})


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input is a terminal (CliRunner's never is): the prompt reads `input`."""
    monkeypatch.setattr("reconcile.cli.confirm.sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))


def test_apply_refuses_to_prompt_in_ci_or_without_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    ci = invoke("apply", QUICKSTART, "--local", "db", CI="true")
    assert ci.exit_code == 1 and ci.stderr.endswith(
        "Error: refusing to prompt for confirmation: CI is set (non-interactive). Review the plan and pass "
        "--auto-approve (or INFRAI_AUTO_APPROVE=1) to apply it.\n")
    piped = invoke("apply", QUICKSTART, "--local", "db")
    assert piped.exit_code == 1 and piped.stderr.endswith(
        "Error: refusing to prompt for confirmation: standard input is not a terminal. Review the plan and pass "
        "--auto-approve to apply it non-interactively.\n")


def test_apply_goes_ahead_on_yes_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: None):
    monkeypatch.chdir(tmp_path)
    no = invoke("apply", QUICKSTART, "--local", "db", "--secrets-out", "s.json", input="y\n")
    assert "Apply these changes? Only 'yes' will be accepted" in no.output and no.exit_code == 1, no.output
    assert invoke("plan", QUICKSTART, "--local", "db", "--detailed-exitcode").exit_code == 2  # nothing applied
    yes = invoke("apply", QUICKSTART, "--local", "db", "--secrets-out", "s.json", input="yes\n")
    assert yes.exit_code == 0, yes.output
    assert invoke("plan", QUICKSTART, "--local", "db", "--detailed-exitcode").exit_code == 0


def test_webhooks_retry_asks_and_cancels_on_anything_but_yes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("apply", QUICKSTART, "--local", "db", "--auto-approve", "--secrets-out", "s.json").exit_code == 0
    ci = invoke("webhooks", "retry", HOOK, "--local", "db", CI="1")
    assert ci.exit_code == 1 and ci.stderr.endswith(
        "Error: refusing to prompt for confirmation: CI is set (non-interactive). Pass --auto-approve "
        "(or INFRAI_AUTO_APPROVE=1) to send it.\n")
    piped = invoke("webhooks", "replay", HOOK, "--local", "db")
    assert piped.exit_code == 1 and piped.stderr.endswith(
        "Error: refusing to prompt for confirmation: standard input is not a terminal. Pass --auto-approve "
        "to send it non-interactively.\n")
    monkeypatch.setattr("reconcile.cli.confirm.sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    no = invoke("webhooks", "replay", HOOK, "--local", "db", input="no\n")
    assert f"Replay the latest delivery of {HOOK} (a real request to the receiver)? Only 'yes' will be accepted" \
        in no.output
    assert no.exit_code == 1 and no.stderr.endswith("Error: cancelled; nothing was sent\n")
