"""Policy files as data (tests/config/policy_file_cases.yaml), and the config's `policy:`
section merged with `--policy FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.config.policy_file import load_policy, policy_for, policy_from_data
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
