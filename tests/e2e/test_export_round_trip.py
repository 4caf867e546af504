"""Export keeps every field the config can declare: apply a config, export the account,
and the export plans empty and declares what the config declared — fields, config-only
settings (`rotate_after`, `grace_hours`, `protect`), the variable of a write-only value and
the config-wide settings — for each example and for a config using every schema field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from e2e_support import EXAMPLES, REPO
from reconcile.config import load_config
from reconcile.kinds import KINDS
from reconcile.resources import DesiredState

SCHEMA = REPO / "schemas" / "config.schema.json"
EVERY_FIELD = REPO / "tests" / "fixtures" / "config" / "every_field.yaml"
SECRET_ENV = {"EVERY_FIELD_WEBHOOK_SECRET": "every-field-signing-secret", "OPS_WEBHOOK_SECRET": "ops-signing-secret"}
# Schema paths the every-field config leaves out, and why (an export does not write them).
NOT_EXPORTED = {
    "version": "the format version, always written as 1",
    "stack": "an export holds the whole account; a stack's config only the objects it owns (docs/stacks.md)",
    "projects[].renamed_from": "a one-time instruction (docs/gitops.md#renames): export writes the current name",
    "projects[].keys[].renamed_from": "a one-time instruction (docs/gitops.md#renames): export writes the current name",
}
# Singletons written as a mapping of fields (`budget: {period: ...}`), from the registry.
SINGLETON_KEYS = {k.config_key for k in KINDS if k.singleton}
# The payment method every_field.yaml makes the default; the test adds it to the account first.
EVERY_FIELD_PAYMENT_METHOD = "pm_every_field"
# Config-wide sections carried over whole (free-form or fixed shape, compared as a value).
WHOLE = {"secrets", "policy", "prune", "unmanaged", "checks"}

# Each example: config paths and var files, relative to examples/.
EXAMPLE_RUNS = {
    "quickstart": (["quickstart"], []),
    "production": (["production"], []),
    "ci-drift": (["ci-drift"], []),
    "environments-dev": (["environments/base"], ["environments/envs/dev/vars.yaml"]),
    "environments-prod": (["environments/base", "environments/envs/prod/resources"],
                          ["environments/envs/prod/vars.yaml"]),
}


# -- the field list, from the schema ---------------------------------------------------------
def schema_paths(schema: dict[str, Any]) -> set[str]:
    """`projects[].keys[].rotate_after`, `budget.period`, `tier`…: every field a config can set."""
    defs = schema["$defs"]
    out: set[str] = set()

    def walk(node: dict[str, Any], prefix: str) -> None:
        for name, sub in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            ref = (sub.get("items") or {}).get("$ref") if sub.get("type") == "array" else None
            if ref:
                walk(defs[ref.rsplit("/", 1)[-1]], f"{path}[].")
            elif sub.get("type") == "object" and "properties" in sub and name not in WHOLE:
                walk(sub, f"{path}.")
            else:
                out.add(path)

    walk(schema, "")
    return out


def document_paths(value: Any, prefix: str = "") -> set[str]:
    """The same spelling of paths, for the fields a YAML document sets."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            path = f"{prefix}{key}"
            if isinstance(sub, list) and sub and all(isinstance(i, dict) for i in sub) and key not in WHOLE:
                for item in sub:
                    out |= document_paths(item, f"{path}[].")
            elif isinstance(sub, dict) and key in SINGLETON_KEYS:
                out |= document_paths(sub, f"{path}.")
            else:
                out.add(path)
    return out


def test_the_every_field_config_uses_every_field_of_the_schema():
    schema = json.loads(SCHEMA.read_text())
    fields = schema_paths(schema)
    assert {"projects[].keys[].rotate_after", "projects[].keys[].grace_hours", "webhooks[].secret",
            "budget.hard_cap_usd", "tier", "bandwidth_alerts[].threshold"} <= fields
    used = document_paths(yaml.safe_load(EVERY_FIELD.read_text()))
    missing = fields - used - set(NOT_EXPORTED)
    assert not missing, (f"{EVERY_FIELD.name} does not use {sorted(missing)}: add them, so the round trip "
                         "test proves export keeps them")
    assert not (used - fields), f"{EVERY_FIELD.name} sets what the schema does not have: {sorted(used - fields)}"


# -- round trips ---------------------------------------------------------------------------
def assert_declares_the_same(exported: DesiredState, original: DesiredState) -> None:
    """Everything `original` declares, `exported` declares the same way (it may declare more:
    the fields the original left unmanaged, and live objects it did not declare)."""
    for address, want in original.resources.items():
        got = exported.resources.get(address)
        assert got is not None, f"{address} is not in the export"
        assert {k: got.values.get(k) for k in want.values} == dict(want.values), address
        assert dict(got.meta) == dict(want.meta), f"{address}: config-only settings differ"
        assert dict(got.secret_refs) == dict(want.secret_refs), f"{address}: write-only variables differ"
    assert exported.prune == original.prune
    assert exported.settings == original.settings


@pytest.fixture
def local(emulator) -> tuple[str, str]:
    return ("--local", str(emulator.db))


def apply_then_export(run_cli, local, tmp_path: Path, paths: list[str], var_files: list[str],
                      *extra: str) -> Path:
    var_args = [a for f in var_files for a in ("--var-file", f)]
    applied = run_cli("apply", *paths, *var_args, *local, "--auto-approve", "--secrets-out",
                      str(tmp_path / "s.env"), env=SECRET_ENV)
    assert applied.exit_code == 0, applied.output
    out = tmp_path / "export"
    exported = run_cli("export", *local, "-o", f"{out}/", *extra, env=SECRET_ENV)
    assert exported.exit_code == 0, exported.output
    return out


@pytest.mark.parametrize("name", sorted(EXAMPLE_RUNS))
def test_each_example_round_trips_through_export(name, run_cli, local, tmp_path):
    paths, var_files = ([str(EXAMPLES / p) for p in part] for part in EXAMPLE_RUNS[name])
    var_args = [a for f in var_files for a in ("--var-file", f)]
    out = apply_then_export(run_cli, local, tmp_path, paths, var_files, *(a for p in paths for a in ("--settings-from", p)),
                            *var_args)
    again = run_cli("plan", str(out), *local, "--detailed-exitcode", "--prune", env=SECRET_ENV)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    assert_declares_the_same(load_config([out], env=SECRET_ENV),
                             load_config(paths, env=SECRET_ENV, var_files=var_files))


def test_a_config_using_every_field_round_trips_through_export(run_cli, emulator, local, tmp_path):
    # Payment methods are added outside the API (the hosted checkout); the emulator's route stands in.
    emulator.post("/_emulator/payment_methods", {"id": EVERY_FIELD_PAYMENT_METHOD})
    out = apply_then_export(run_cli, local, tmp_path, [str(EVERY_FIELD)], [], "--settings-from", str(EVERY_FIELD))
    again = run_cli("plan", str(out), *local, "--detailed-exitcode", env=SECRET_ENV)
    assert again.exit_code == 0, again.output
    exported = load_config([out], env=SECRET_ENV)
    assert_declares_the_same(exported, load_config([EVERY_FIELD], env=SECRET_ENV))
    # Spelled as the config spells them, at the same places.
    docs = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))]
    written = set().union(*(document_paths(d) for d in docs))
    assert document_paths(yaml.safe_load(EVERY_FIELD.read_text())) <= written
    # Managed from the variable the config named, never from the secret itself.
    hooks = (out / "webhooks.yaml").read_text()
    assert "secret: ${env:EVERY_FIELD_WEBHOOK_SECRET}" in hooks
    assert SECRET_ENV["EVERY_FIELD_WEBHOOK_SECRET"] not in "".join(p.read_text() for p in out.glob("*.yaml"))


def test_without_the_config_rotation_settings_are_written_commented_out(run_cli, emulator, local, tmp_path):
    out = apply_then_export(run_cli, local, tmp_path, [str(EVERY_FIELD)], [])
    keys = [k for k in emulator.items("/v1/account/keys/list") if k["name"] == "deploy"]
    emulator.post(f"/v1/account/keys/rotate/{keys[0]['key_id']}", {"grace_hours": 6})
    assert run_cli("export", *local, "-o", f"{out}/").exit_code == 0
    projects = (out / "projects.yaml").read_text()
    deploy = projects[projects.index("- name: deploy"):]
    # No API call returns a rotation policy: the line says so; the grace is the one the
    # last rotation used (grace_expires_at - last_rotated_at); a never-rotated key gets the default.
    assert re.search(r"^ +# rotate_after: 90d  # config-only, the API keeps no rotation policy", deploy, re.M)
    assert re.search(r"^ +# grace_hours: 6  # config-only: the grace its last rotation used", deploy, re.M)
    assert re.search(r"- name: bootstrap.*\n(?: .*\n)*? +# grace_hours: 24  # config-only: the API's default", projects)
    exported = load_config([out], env=SECRET_ENV)
    assert not any(r.meta for r in exported.resources.values())  # commented out: not declared
    assert run_cli("plan", str(out), *local, "--detailed-exitcode").exit_code == 0


def test_a_settings_config_that_does_not_load_stops_the_export(run_cli, local, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("projects:\n  - name: x\n    rotate_after: soon\n")
    result = run_cli("export", *local, "--settings-from", str(bad))
    assert result.exit_code == 1
    assert "bad.yaml:3" in result.stderr and not result.stdout


def test_pruning_is_carried_only_for_the_kinds_exported(run_cli, local, tmp_path):
    # The config prunes keys and webhooks; an export of keys alone must not delete every webhook.
    out = apply_then_export(run_cli, local, tmp_path, [str(EVERY_FIELD)], [], "--settings-from", str(EVERY_FIELD),
                            "--kinds", "keys")
    assert yaml.safe_load((out / "prune.yaml").read_text())["prune"] == ["keys"]
    again = run_cli("plan", str(out), *local, "--detailed-exitcode", env=SECRET_ENV)
    assert again.exit_code == 0, again.output


def test_a_stack_is_not_carried_and_the_export_says_so(run_cli, local, tmp_path):
    stacked = tmp_path / "stacked.yaml"
    stacked.write_text("stack: team-a\nprojects:\n  - name: a1\n")
    assert run_cli("apply", str(stacked), *local, "--auto-approve").exit_code == 0
    result = run_cli("export", *local, "--settings-from", str(stacked))
    assert result.exit_code == 0 and "stack" not in yaml.safe_load(result.stdout)
    assert "The stack 'team-a' of --settings-from is not carried over" in result.stderr
