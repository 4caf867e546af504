"""Impact analysis: what a plan will do to the account's money and throughput.

`assess(plan, facts, now)` is pure: it reads the plan's changes and the account facts that
`reconcile.live.facts.read_facts` gathered once per plan (balance, usage forecast, hourly
usage timeseries, tier and its limits, bandwidth quota, object counts) and returns one
`Impact` per consequence, with the figures in its sentence. `facts_needed(plan)` says
which facts the rules need, so a plan without a billing or limits change reads none.

The rules are the kinds' own (`KindSpec.impact`, docs/impact.md): a budget's hard cap and
alert against spend and forecast, a tier downgrade against current use, auto-recharge's
worst case and trigger, a bandwidth alert against the quota, a project's lowered rate
limit against the recent peak. A missing fact (the read failed) skips the rules that need
it; `read_facts` records it.
Imports: kinds, plan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from ..kinds import REGISTRY
from ..kinds.impact import AccountFacts, ChangeView
from . import Action, Change, Impact, Plan, Severity
from .fail_on import Hit


def _view(c: Change) -> ChangeView | None:
    """The change as a rule sees it; None when no rule looks at it (a delete)."""
    if c.action is Action.DELETE or c.after is None:
        return None
    return ChangeView(c.action.value, c.before or {}, c.after, frozenset(d.path for d in c.diffs))


# -- which facts a plan needs -------------------------------------------------------------
def facts_needed(plan: Plan) -> frozenset[str]:
    """The facts `assess` will use for this plan; empty when no change can have an impact."""
    needed: set[str] = set()
    for c in plan.changes:
        rule = REGISTRY[c.kind].impact if c.kind in REGISTRY else None
        view = _view(c) if rule is not None else None
        if rule is not None and view is not None:
            needed |= rule.needs(view)
    return frozenset(needed)


# -- assessment -------------------------------------------------------------------------
def assess(plan: Plan, facts: Mapping[str, Any], now: datetime) -> tuple[Impact, ...]:
    """Every impact of the plan's changes, in plan order; pure. `now` is the caller's clock,
    used where the facts carry no `server_time`."""
    ctx = AccountFacts(facts, now, _planned_tier(plan))
    out: list[Impact] = []
    for c in plan.changes:
        rule = REGISTRY[c.kind].impact if c.kind in REGISTRY else None
        view = _view(c) if rule is not None else None
        if rule is not None and view is not None:
            out.extend(Impact(Severity(f.severity), c.address, f.code, f.message) for f in rule.assess(view, ctx))
    return tuple(out)


def _planned_tier(plan: Plan) -> str | None:
    """The tier a change of the plan sets (the kind whose `tier_field` is the account's tier)."""
    for c in plan.changes:
        spec = REGISTRY.get(c.kind)
        if spec is not None and spec.tier_field is not None and c.after:
            tier = c.after.get(spec.tier_field)
            return tier if isinstance(tier, str) else None
    return None


def worst(impacts: Iterable[Impact]) -> Severity | None:
    ranked = sorted(impacts, key=lambda i: i.severity.rank)
    return ranked[-1].severity if ranked else None


def fail_on_hits(plan: Plan, fail_on: str | None) -> list[Hit]:
    """The plan's impacts at or above `--fail-on warning|danger` (plan/fail_on.py)."""
    if not fail_on:
        return []
    floor = Severity(fail_on).rank
    return [Hit(i.severity.value, i.address, i.message) for i in plan.impacts if i.severity.rank >= floor]
