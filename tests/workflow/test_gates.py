"""`workflow.gates.check_gates` does no work nobody asked for: the plan document a policy is checked against
is built only when there is a policy; --fail-on reads the plan's impacts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import reconcile.render as render
from reconcile.errors import ImpactAboveThreshold
from reconcile.plan import Impact, Plan, Severity
from reconcile.plan.checks import CheckResult
from reconcile.workflow.gates import check_gates


def _planned(settings: dict[str, Any]) -> Any:
    return SimpleNamespace(desired=SimpleNamespace(settings=settings), plan=Plan(changes=()))


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Plan]:
    """Every plan a plan document was built for."""
    calls: list[Plan] = []
    real = render.plan_document

    def spy(plan: Plan) -> Any:
        calls.append(plan)
        return real(plan)

    monkeypatch.setattr(render, "plan_document", spy)
    return calls


def _gates(planned: Any, fail_on: str | None = None) -> None:
    check_gates(planned.plan, planned.desired.settings, fail_on=fail_on)


def test_without_policy_or_fail_on_no_plan_document_is_built(built: list[Plan]) -> None:
    _gates(_planned({}))
    assert built == []


def test_a_policy_section_is_checked_against_the_plan_document(built: list[Plan]) -> None:
    planned = _planned({"policy": {"version": 1, "rules": {"forbid": {"projects": ["delete"]}}}})
    _gates(planned)
    assert built == [planned.plan]


DANGER_IMPACT = Impact(Severity.DANGER, "budget", "budget.hard_cap", "hard cap below spend")
FAILING_CHECK = CheckResult("webhook.delivery", 'webhooks["https://hooks.example/a"]', "fail", "fail",
                            "9 of the last 10 deliveries failed")


def test_fail_on_alone_reads_the_impacts_without_a_plan_document(built: list[Plan]) -> None:
    planned = _planned({})
    planned.plan = Plan(changes=(), impacts=(DANGER_IMPACT,))
    with pytest.raises(ImpactAboveThreshold, match="1 impact at or above --fail-on danger"):
        _gates(planned, fail_on="danger")
    assert built == []


def test_a_plan_that_trips_on_an_impact_and_a_check_names_both() -> None:
    planned = _planned({})
    planned.plan = Plan(changes=(), impacts=(DANGER_IMPACT,), checks=(FAILING_CHECK,))
    with pytest.raises(ImpactAboveThreshold) as raised:
        _gates(planned, fail_on="warning")
    assert str(raised.value) == (
        "1 impact and 1 failing check at or above --fail-on warning; nothing was applied:\n"
        "  [danger] budget: hard cap below spend\n"
        '  [fail] webhooks["https://hooks.example/a"]: 9 of the last 10 deliveries failed')


def test_below_the_level_nothing_trips() -> None:
    planned = _planned({})
    warn = CheckResult("routing.touched", "routing", "warn", "fail", "3 capabilities in use change vendor")
    planned.plan = Plan(changes=(), impacts=(Impact(Severity.WARNING, "tier", "tier.downgrade", "limits shrink"),),
                        checks=(warn,))
    _gates(planned, fail_on="danger")
