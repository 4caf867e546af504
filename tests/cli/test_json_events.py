"""`--json` on plan and apply: one JSON object per line on stdout, in Terraform's
machine-readable UI style (docs/json-events.md), never a secret."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli.main import cli

SECRET = re.compile(r"(ifr_pk_proj_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9+/=]{8,})")
CONFIG = """
projects:
  - name: web
    keys:
      - name: ci
        scopes: [account:read]
webhooks:
  - url: https://hooks.example.com/a
    events: [key.rotated]
    secret: ${env:HOOK_SECRET}
"""
HOOK_SECRET = "whsec_0123456789abcdefDoNotLeak"


def parse(stdout: str) -> list[dict]:
    messages = [json.loads(line) for line in stdout.splitlines()]
    for m in messages:
        assert {"@level", "@message", "@module", "@timestamp", "type"} <= set(m)
        assert m["@level"] in {"info", "warn", "error"} and m["@timestamp"].endswith("Z")
    return messages


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infrai.yaml").write_text(CONFIG)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"HOOK_SECRET": HOOK_SECRET, "CI": None})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    for text in (result.stdout, result.stderr):
        assert HOOK_SECRET not in text and not SECRET.search(text)
    return result.exit_code, result.stdout, result.stderr


def test_every_line_of_a_real_apply_in_order(cfg: Path):
    code, stdout, stderr = run("apply", "infrai.yaml", "--local", "db", "--auto-approve", "--json",
                               "--secrets-out", "secrets.json")
    assert code == 0, stderr
    messages = parse(stdout)
    types = [m["type"] for m in messages]
    assert re.fullmatch(r"version (planned_change )+change_summary (apply_(start|progress|complete) )+change_summary ",
                        "".join(t + " " for t in types).replace("diagnostic ", "")), types
    assert messages[0] == {**messages[0], "type": "version", "ui": "1.3"}
    planned = [m["change"]["resource"]["addr"] for m in messages if m["type"] == "planned_change"]
    assert planned == ["projects.web", 'webhooks["https://hooks.example.com/a"]', "projects.web.keys.ci"]
    for address in planned:  # each step starts before it completes
        at = {m["type"]: i for i, m in enumerate(messages) if m.get("hook", {}).get("resource", {}).get("addr") == address}
        assert at["apply_start"] < at["apply_complete"]
    assert types.index("apply_complete", types.index("apply_start")) < max(
        i for i, m in enumerate(messages) if m["type"] == "apply_start")  # a key starts after its project is done
    summary = messages[-1]
    assert summary["changes"] == {"create": 3, "update": 0, "replace": 0, "delete": 0, "rotate": 0,
                                  "operation": "apply"} and summary["ok"] is True
    hook = next(m for m in messages if m["type"] == "planned_change" and m["change"]["resource"]["kind"] == "webhook")
    assert "(sensitive)" in json.dumps(hook) or "${env:HOOK_SECRET}" in json.dumps(hook)
    assert not stderr.lstrip().startswith("{")  # logs stay on stderr, JSON on stdout

    code, stdout, _ = run("plan", "infrai.yaml", "--local", "db", "--json", "--detailed-exitcode")
    assert code == 0 and [m["type"] for m in parse(stdout)] == ["version", "change_summary"]


def test_config_errors_are_diagnostics_with_their_range(cfg: Path):
    (cfg / "infrai.yaml").write_text("projects:\n  - name: 5\n")
    code, stdout, stderr = run("plan", "infrai.yaml", "--local", "db", "--json")
    assert code == 1 and "1 error in configuration" in stderr
    version, diag = parse(stdout)
    assert version["type"] == "version" and diag["type"] == "diagnostic" and diag["@level"] == "error"
    assert diag["diagnostic"]["range"] == {"filename": "infrai.yaml", "start": {"line": 2, "column": 11}}


def test_apply_json_needs_auto_approve(cfg: Path):
    code, stdout, stderr = run("apply", "infrai.yaml", "--local", "db", "--json")
    assert code == 1 and "--json needs --auto-approve" in stderr
    assert parse(stdout)[-1]["type"] == "diagnostic"


# A failing `fail` check and an info-only preview (no expectation).
CHECKED = """
checks:
  routing:
    - {capability: ai.chat, expect_vendor: anthropic, severity: fail}
    - {capability: ai.embed}
routing: {chain_override: [openai, anthropic]}
"""


def test_plan_and_apply_emit_one_diagnostic_per_check_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infrai.yaml").write_text(CHECKED)
    code, stdout, stderr = run("plan", "infrai.yaml", "--local", "db", "--json")
    assert code == 0, stderr
    messages = parse(stdout)
    checks = [m for m in messages if m["type"] == "diagnostic" and "check" in m]
    assert [(m["@level"], m["check"]["status"], m["check"]["severity"]) for m in checks] == [
        ("warn", "fail", "fail"), ("info", "info", "warn")]
    failing = checks[0]
    assert failing["diagnostic"] == {"severity": "warn", "summary": failing["@message"], "detail": "",
                                     "address": "routing"}
    assert failing["@message"] == ("check fail: [fail] routing: ai.chat would select vendor openai (unchanged); "
                                   "expected vendor anthropic")
    assert failing["check"]["details"]["selected_vendor"] == "openai"
    assert messages[-1]["type"] == "change_summary" and messages.index(failing) < len(messages) - 1

    code, stdout, stderr = run("plan", "infrai.yaml", "--local", "db", "--json", "--fail-on", "danger")
    assert code == 4 and [m["check"]["status"] for m in parse(stdout) if "check" in m] == ["fail", "info"]

    code, stdout, stderr = run("apply", "infrai.yaml", "--local", "db", "--json", "--auto-approve")
    assert code == 0, stderr
    after = [m for m in parse(stdout) if "check" in m]  # the after-apply checks, after the steps
    assert [(m["@level"], m["check"]["status"]) for m in after][-2:] == [("warn", "fail"), ("info", "info")]
    assert all(m["@level"] in {"info", "warn"} for m in after)
