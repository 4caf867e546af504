"""`workflow.gates.check_gates` does no work nobody asked for: the plan document a policy is checked against
is built only when there is a policy; --fail-on reads the plan's impacts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import reconcile.render as render
from reconcile.errors import ImpactAboveThreshold
from reconcile.plan import Plan
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


def test_fail_on_alone_reads_the_impacts_without_a_plan_document(built: list[Plan]) -> None:
    planned = _planned({})
    planned.plan = SimpleNamespace(impacts=[SimpleNamespace(severity=SimpleNamespace(rank=2, value="danger"),
                                                            address="budget", message="hard cap below spend")])
    with pytest.raises(ImpactAboveThreshold, match="1 impact at or above --fail-on danger"):
        _gates(planned, fail_on="danger")
    assert built == []
