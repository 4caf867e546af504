"""Policy gates: `check` as data (tests/plan/policy_cases.yaml), `merged` and `enforce`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.errors import PolicyViolation
from reconcile.plan.policy import Policy, check, enforce

CASES = yaml.safe_load((Path(__file__).parent / "policy_cases.yaml").read_text(encoding="utf-8"))


def policy(**rules: Any) -> Policy:
    if "forbid" in rules:
        rules["forbid"] = {k: frozenset(v) for k, v in rules["forbid"].items()}
    if rules.get("allowed_webhook_events") is not None:
        rules["allowed_webhook_events"] = frozenset(rules["allowed_webhook_events"])
    return Policy(**rules, source="test")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_check(case: dict[str, Any]) -> None:
    found = check(policy(**case["policy"]), {"changes": case["changes"]})
    assert [str(v) for v in found] == case["violations"]


def test_merged_takes_the_stricter_of_each_rule() -> None:
    a = policy(forbid={"project": ["delete"]}, max_changes=10, max_budget_increase_percent=5,
               allowed_webhook_events=["key.rotated", "budget.alert"])
    b = Policy(forbid={"project": frozenset({"replace"}), "member": frozenset({"delete"})}, max_changes=3,
               max_key_rotate_after_days=30, allowed_webhook_events=frozenset({"budget.alert"}), source="file.yaml")
    m = a.merged(b)
    assert m.forbid == {"project": {"delete", "replace"}, "member": {"delete"}}
    assert (m.max_changes, m.max_budget_increase_percent, m.max_key_rotate_after_days) == (3, 5, 30)
    assert m.allowed_webhook_events == {"budget.alert"}
    assert m.source == "test and file.yaml"
    assert Policy().merged(Policy(allowed_webhook_events=frozenset())).allowed_webhook_events == frozenset()


def test_enforce_lists_every_violation_and_names_the_policy() -> None:
    doc = {"changes": [{"address": "projects.a", "kind": "project", "action": "delete"},
                       {"address": "projects.b", "kind": "project", "action": "delete"}]}
    with pytest.raises(PolicyViolation) as info:
        enforce(policy(forbid={"project": ["delete"]}), doc)
    assert str(info.value) == (
        "the plan breaks 2 policy rules (test); nothing was applied:\n"
        "  [forbid] projects.a: delete of a project is forbidden by the policy\n"
        "  [forbid] projects.b: delete of a project is forbidden by the policy")
    assert info.value.exit_code == 3
    enforce(None, doc)
    enforce(policy(), doc)
