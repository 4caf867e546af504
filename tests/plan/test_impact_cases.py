"""`reconcile.plan.impact.assess` and the kinds' impact rules as data: one case file per
rule group in tests/plan/impact_cases/. Each case gives `now`, the account `facts` (as
`live.facts.read_facts` gathers them; any may be missing), the plan's `changes`
({address, kind, action, before, after}; the diffs are the fields that differ), and every
impact expected, in order, as "severity code: message"; `needs` (optional) is what
`facts_needed` must say for the plan."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.plan import Action, Change, Plan
from reconcile.plan.impact import assess, facts_needed
from reconcile.plan.model import FieldDiff

CASES = [(f.stem, c) for f in sorted((Path(__file__).parent / "impact_cases").glob("*.yaml"))
         for c in yaml.safe_load(f.read_text(encoding="utf-8"))]


def _change(c: dict[str, Any]) -> Change:
    before, after = c.get("before"), c.get("after")
    diffs = tuple(FieldDiff(k, (before or {}).get(k), (after or {}).get(k))
                  for k in sorted({*(before or {}), *(after or {})}) if (before or {}).get(k) != (after or {}).get(k))
    return Change(c["address"], c["kind"], (), Action(c["action"]), before, after, diffs)


@pytest.mark.parametrize("group,case", CASES, ids=[f"{g}: {c['name']}" for g, c in CASES])
def test_assess(group: str, case: dict[str, Any]) -> None:
    plan = Plan(changes=tuple(_change(c) for c in case["changes"]))
    now = datetime.fromisoformat(case["now"])
    found = assess(plan, case.get("facts") or {}, now)
    assert [f"{i.severity.value} {i.rule}: {i.message}" for i in found] == case["impacts"]
    assert all(i.address == case["changes"][0]["address"] for i in found) or len(case["changes"]) > 1
    if "needs" in case:
        assert sorted(facts_needed(plan)) == sorted(case["needs"])
