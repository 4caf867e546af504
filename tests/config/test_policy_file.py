"""Policy files as data (tests/config/policy_file_cases.yaml), the config's `policy:`
section (checked by the loader at its places, merged with `--policy FILE`), and the
shipped policy JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconcile.config import load_config
from reconcile.config.policy_file import PolicyError, load_policy, policy_for, policy_from_data, policy_schema
from reconcile.errors import ValidationError
from tools import policy_schema as generator
from reconcile.errors import ConfigError

CASES = yaml.safe_load((Path(__file__).parent / "policy_file_cases.yaml").read_text(encoding="utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_load_policy(case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(case["text"], encoding="utf-8")
    if "error" in case:
        with pytest.raises(ConfigError) as info:
            load_policy("policy.yaml")
        assert str(info.value).startswith(case["error"])
        return
    if "errors" in case:
        with pytest.raises(PolicyError) as raised:
            load_policy("policy.yaml")
        assert [str(r) for r in raised.value.reasons] == case["errors"]
        if len(case["errors"]) == 1:
            assert str(raised.value) == case["errors"][0]
        else:
            assert str(raised.value).splitlines() == [
                f"{len(case['errors'])} errors in the policy (policy.yaml):", *(f"  {e}" for e in case["errors"])]
        return
    got = load_policy("policy.yaml")
    assert got.source == "policy.yaml"
    for name, want in case["policy"].items():
        assert _plain(getattr(got, name)) == _plain(want), name


def test_the_config_section_and_the_file_are_both_enforced(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("max_changes: 5\nforbid: {projects: [delete]}\n", encoding="utf-8")
    merged = policy_for(str(path), {"policy": {"max_changes": 2, "forbid": {"members": ["delete"]}}})
    assert merged is not None
    assert merged.max_changes == 2
    assert _plain(merged.forbid) == {"project": ["delete"], "member": ["delete"]}
    assert merged.source == f"the configuration's policy: section and {path}"
    assert policy_for(None, {}) is None


def test_an_error_in_the_config_section_names_the_section() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_data({"max_changes": "many"}, "the configuration's policy: section")
    assert str(info.value) == "the configuration's policy: section: max_changes: expected a whole number ≥ 0, got 'many'"


def test_the_config_section_is_checked_where_it_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("infra.yaml").write_text(
        "version: 1\npolicy:\n  max_changes: ${var:limit}\n  forbid: {servers: [delete], projects: [destroy]}\n",
        encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_config(["infra.yaml"], env={}, variables={"limit": -2})
    assert [str(r) for r in info.value.reasons] == [
        "infra.yaml:3:16: policy.max_changes: expected a whole number ≥ 0, got -2",
        "infra.yaml:4:12: policy.forbid.servers: unknown kind 'servers'; use one of: tier, budget, routing, "
        "autorecharge, payment_method, projects, keys, webhooks, members, bandwidth_alerts",
        "infra.yaml:4:42: policy.forbid.projects[0]: unknown action 'destroy'; use one of: create, update, "
        "replace, delete, rotate",
    ]
    Path("infra.yaml").write_text("version: 1\npolicy: {max_changes: 3, forbid: {projects: delete}}\n",
                                  encoding="utf-8")
    settings = load_config(["infra.yaml"], env={}).settings
    policy = policy_for(None, settings)
    assert policy is not None and policy.max_changes == 3 and _plain(policy.forbid) == {"project": ["delete"]}


def test_the_shipped_schema_is_current_and_valid() -> None:
    assert generator.main(["--check"]) == 0, "run python -m tools.policy_schema"
    schema = json.loads(generator.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema == policy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    example = yaml.safe_load((Path(__file__).parents[2] / "examples/policy/policy.yaml").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(example)) == []


def test_the_check_mode_names_a_stale_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "policy.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(generator, "SCHEMA_PATH", stale)
    assert generator.main(["--check"]) == 1
    assert f"{stale} is out of date: run python -m tools.policy_schema" in capsys.readouterr().out


def test_environment_values_in_the_config_section_read_as_numbers_where_rules_take_numbers(
        tmp_path: Path) -> None:
    path = tmp_path / "infra.yaml"
    path.write_text("policy:\n  rules:\n    max_changes: ${env:LIMIT}\n    max_key_rotate_after_days: ${env:DAYS}\n"
                    "    allowed_webhook_events: ['${env:EVENT}']\n", encoding="utf-8")
    settings = load_config([path], env={"LIMIT": "3", "DAYS": "2w", "EVENT": "key.rotated"}).settings
    policy = policy_for(None, settings)
    assert policy is not None
    assert (policy.max_changes, policy.max_key_rotate_after_days, policy.allowed_webhook_events) == (
        3, 14, frozenset({"key.rotated"}))
    with pytest.raises(ValidationError) as info:
        load_config([path], env={"LIMIT": "lots", "DAYS": "1", "EVENT": "true"})
    assert [str(r) for r in info.value.reasons] == [
        f"{path}:3:18: policy.rules.max_changes: expected a whole number ≥ 0, got 'lots'",
        f"{path}:5:30: policy.rules.allowed_webhook_events[0]: unknown webhook event 'true'"]
