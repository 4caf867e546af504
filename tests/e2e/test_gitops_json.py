"""Real JSON documents from the CLI (plan, apply, validate, drift report) validate against
schemas/plan.schema.json, in several scenarios; sensitive values never appear."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from e2e_support import EXAMPLES, REPO

SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

BASE = """
projects:
  - name: web
    scopes: [account:read, keys:write]
    keys:
      - name: ci
        scopes: [account:read]
members:
  - {email: dev@example.com, role: viewer}
webhooks:
  - url: https://hooks.example.com/a
    events: [key.rotated]
    secret: ${env:HOOK_SECRET}
"""
ENV = {"HOOK_SECRET": "s3cret-signing-value"}


def check(doc: dict, type_: str) -> dict:
    VALIDATOR.validate(doc)
    assert doc["type"] == type_ and doc["format_version"].startswith("1.")
    assert "s3cret-signing-value" not in json.dumps(doc)
    return doc


@pytest.fixture
def cfg(workdir: Path) -> Path:
    (workdir / "infrai.yaml").write_text(BASE)
    return workdir


def run_json(run_cli, *args: str) -> dict:
    result = run_cli(*args, "--format", "json", env=ENV)
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_create_plan_apply_report_and_masked_webhook_secret(run_cli, cfg, emulator):
    local = ("--local", str(emulator.db))
    plan = check(run_json(run_cli, "plan", str(cfg), *local), "plan")
    assert {c["actions"][0] for c in plan["changes"]} == {"create"}
    hook = next(c for c in plan["changes"] if c["kind"] == "webhook")
    assert hook["after"]["secret"] == "${env:HOOK_SECRET}"
    assert next(d for d in hook["diffs"] if d["path"] == "secret")["sensitive"] is True
    report = check(run_json(run_cli, "apply", str(cfg), *local, "--auto-approve"), "apply")
    assert report["ok"] and report["counts"]["succeeded"] == 4
    check(report["plan"], "plan")
    empty = check(run_json(run_cli, "apply", str(cfg), *local, "--auto-approve"), "apply")
    assert empty["steps"] == []


def test_update_replace_delete_and_rotate_plans(run_cli, cfg, emulator):
    local = ("--local", str(emulator.db))
    assert run_cli("apply", str(cfg), *local, "--auto-approve", env=ENV).exit_code == 0
    emulator.post("/v1/account/projects/create", {"name": "stray"})
    (cfg / "infrai.yaml").write_text(BASE.replace("role: viewer", "role: admin")
                                     .replace("scopes: [account:read]\n", "scopes: [account:read, keys:write]\n"))
    plan = check(run_json(run_cli, "plan", str(cfg), *local, "--prune", "projects",
                          "--replace", "projects.web.keys.ci", "--replace", 'webhooks["https://hooks.example.com/a"]'),
                 "plan")
    by = {c["address"]: c for c in plan["changes"]}
    assert by["projects.web.keys.ci"]["actions"] == ["rotate"]
    member = by['members["dev@example.com"]']
    assert member["actions"] == ["delete", "create"] and member["reasons"] == ["role cannot be changed in place"]
    assert by["projects.stray"]["actions"] == ["delete"]
    assert by['webhooks["https://hooks.example.com/a"]']["after"]["secret"] == "${env:HOOK_SECRET}"
    assert plan["summary"]["delete"] == 1 and plan["summary"]["rotate"] == 1


def test_validate_documents_valid_and_invalid(run_cli, cfg, workdir):
    ok = run_cli("validate", str(cfg), "--format", "json", env=ENV)
    assert check(json.loads(ok.stdout), "validate")["valid"] is True
    (workdir / "bad.yaml").write_text("projects:\n  - name: x\n    scopes: [nope]\n")
    bad = run_cli("validate", str(workdir / "bad.yaml"), "--format", "json")
    doc = check(json.loads(bad.stdout), "validate")
    assert bad.exit_code == 1 and doc["errors"][0]["line"] == 3


def test_drift_report_lists_drifted_fields_and_unmanaged_counts(run_cli, cfg, emulator, tmp_path):
    local = ("--local", str(emulator.db))
    assert run_cli("apply", str(cfg), *local, "--auto-approve", env=ENV).exit_code == 0
    hook = emulator.items("/v1/account/webhooks/list")[0]
    emulator.api.request("PATCH", f"/v1/account/webhooks/update/{hook['id']}", json={"events": ["key.revoked"]})
    emulator.post("/v1/account/projects/create", {"name": "hand-made"})
    report_file = tmp_path / "drift.json"
    result = run_cli("plan", str(cfg), *local, "--detailed-exitcode", "--drift-report", str(report_file), env=ENV)
    assert result.exit_code == 2
    report = check(json.loads(report_file.read_text()), "drift")
    assert report["drifted"] is True and report["drifted_fields"] == 1
    assert report["resources"][0]["fields"] == [{"path": "events", "live": ["key.revoked"], "declared": ["key.rotated"]}]
    assert report["unmanaged_counts"] == {"project": 2, "api_key": 1}  # default + hand-made; bootstrap key
    # The config declares projects: the hand-made one is drift; the tool's own are only unmanaged.
    assert report["undeclared"] == [{"address": "projects.hand-made", "kind": "project",
                                     "reason": "not declared among the config's projects"}]
    assert "Drift (live, not declared, inside what the config manages): 1 project." in result.stdout
    assert "Unmanaged (live, not declared, left alone): 1 project, 1 API key." in result.stdout


def test_every_example_plan_validates(run_cli, tmp_path):
    for example in ("quickstart", "production", "ci-drift"):
        doc = run_json(run_cli, "plan", str(EXAMPLES / example), "--local", str(tmp_path / f"{example}.db"))
        check(doc, "plan")
