"""Saved-plan staleness as data (tests/plan/staleness_cases.yaml), and what `without` and
`check_not_stale` make of the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from plan_builders import desired, live, want

from reconcile.errors import StalePlan
from reconcile.plan import Plan, build_plan
from reconcile.plan.staleness import check_not_stale, stale_steps, without
from reconcile.resources import LiveState

CASES = yaml.safe_load((Path(__file__).parent / "staleness_cases.yaml").read_text(encoding="utf-8"))
DEFAULTS = {"project": {"scopes": [], "metadata": {}, "rate_limit_rpm": None, "created_at": "2026-01-01T00:00:00Z"},
            "member": {"invited_at": "2026-01-01T00:00:00Z"}}


def state(raw: dict[str, list[dict[str, Any]]]) -> LiveState:
    return live(*((kind, {**DEFAULTS.get(kind, {}), **item}) for kind, items in raw.items() for item in items))


def plan_of(case: dict[str, Any]) -> Plan:
    d = desired(*(want(r.pop("kind"), **r) for r in [dict(r) for r in case["desired"]]),
                prune=set(case.get("prune", [])))
    plan = build_plan(d, state(case["planned"]))
    assert plan.changes, "a staleness case needs a plan with changes"
    return plan


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_stale_steps(case: dict[str, Any]) -> None:
    done, stale = stale_steps(plan_of(case), state(case["now"]))
    assert done == case["done"]
    assert len(stale) == len(case["stale"]), stale
    for got, want_text in zip(stale, case["stale"]):
        assert want_text in got


def test_without_drops_done_steps_and_the_dependencies_on_them() -> None:
    plan = build_plan(desired(want("project", name="web"), want("api_key", project="web", name="ci")), live())
    assert plan.changes[1].depends_on == ("projects.web",)
    rest = without(plan, {"projects.web"})
    assert [c.address for c in rest.changes] == ["projects.web.keys.ci"]
    assert rest.changes[0].depends_on == ()


def test_check_not_stale_refuses_listing_every_reason() -> None:
    case = next(c for c in CASES if c["stale"])
    with pytest.raises(StalePlan) as info:
        check_not_stale(plan_of(case), state(case["now"]))
    assert str(info.value).startswith("plan is stale: the account changed since it was planned:\n  ")
    assert str(info.value).endswith("\nRun plan again and review the new plan.")
    done_case = next(c for c in CASES if c["done"] and not c["stale"])
    assert check_not_stale(plan_of(done_case), state(done_case["now"])) == done_case["done"]
