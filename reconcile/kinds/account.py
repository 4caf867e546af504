"""The account's singletons: tier, budget, routing and auto-recharge.

Each exists exactly once per account, so it is never created or deleted: declaring it
manages the fields you list; leaving it out leaves it alone. Budget, routing and
auto-recharge are set with PUT, which resets what the body omits (docs/emulator.md), so
the planner sends the live values of undeclared fields along with the declared ones.
"""

from __future__ import annotations

from typing import Any, Mapping

from .base import (
    ApiCall,
    Endpoint,
    Field,
    IdResolver,
    KindApi,
    KindSpec,
    LiveContext,
    LiveItem,
    number,
)
from .vocab import BUDGET_PERIODS, DOWNGRADE_TARGETS, TIERS, VENDORS

def _tier_from_live(kind: KindSpec, raw: Mapping[str, Any], ctx: LiveContext) -> LiveItem:
    # A scheduled downgrade counts as done: applying it again would change nothing.
    effective = raw.get("pending_tier") or raw.get("tier")
    return LiveItem((), {"tier": effective}, None, raw)


def _tier_update_calls(kind: KindSpec, desired: Mapping[str, Any], changed: Mapping[str, Any],
                       before: Mapping[str, Any], live_id: str | None, ids: IdResolver) -> list[ApiCall]:
    target = desired["tier"]
    current = before.get("tier")
    if current is not None and TIERS.index(target) < TIERS.index(current):
        return [ApiCall("POST", "/v1/account/tier/downgrade", {"target": target}, f"downgrade tier to {target}")]
    return [ApiCall("POST", "/v1/account/tier/upgrade", {"target_tier": target}, f"upgrade tier to {target}")]


def _tier_unreachable(desired: Mapping[str, Any], live: LiveItem) -> str | None:
    pending = live.raw.get("pending_tier")
    current = live.raw.get("tier")
    if pending and desired.get("tier") == current and pending != current:
        when = live.raw.get("pending_effective_at") or "the end of the billing period"
        return (f"the account is on {current} with a downgrade to {pending} scheduled for {when}; "
                f"the API cannot cancel a scheduled downgrade (only an upgrade above {pending} replaces it), "
                "so the tier will change then")
    return None


TIER = KindSpec(
    name="tier",
    title="tier",
    config_key="tier",
    identity=(),
    singleton=True,
    description="The account's tier. Upgrades apply at once; downgrades are scheduled for the end of the billing period.",
    fields={
        "tier": Field({"type": "string", "enum": list(TIERS)},
                      description=f"One of {', '.join(TIERS)}. Downgrades go only to {' or '.join(DOWNGRADE_TARGETS)}."),
    },
    api=KindApi(list=Endpoint("GET", "/v1/account/tier"), paginated=False,
                update=Endpoint("POST", "/v1/account/tier/upgrade")),
    from_live=_tier_from_live,
    update_calls=_tier_update_calls,
    unreachable=_tier_unreachable,
    updates_are_irreversible=True,
)

BUDGET = KindSpec(
    name="budget",
    title="budget",
    config_key="budget",
    identity=(),
    singleton=True,
    description="Spending budget: a hard cap that blocks billable calls, and an alert threshold.",
    fields={
        "period": Field({"type": "string", "enum": list(BUDGET_PERIODS)}, description="daily or monthly."),
        "hard_cap_usd": Field({"type": ["number", "null"], "minimum": 0}, normalize=number,
                              description="Billable calls are refused (HTTP 402) once spend in the period reaches it; null for none."),
        "alert_threshold_usd": Field({"type": ["number", "null"], "minimum": 0}, normalize=number,
                                     description="A budget.alert event fires when spend reaches it; null for none."),
    },
    api=KindApi(list=Endpoint("GET", "/v1/account/budget/get"), paginated=False,
                update=Endpoint("PUT", "/v1/account/budget/set")),
)

ROUTING = KindSpec(
    name="routing",
    title="routing",
    config_key="routing",
    identity=(),
    singleton=True,
    description="Account-level routing: the vendor chain override and pinned vendors.",
    fields={
        "chain_override": Field({"type": ["array", "null"], "items": {"type": "string", "enum": list(VENDORS)},
                                 "uniqueItems": True},
                                description="Vendors in priority order, replacing the default chain; null for the default."),
        "pinned_vendors": Field({"type": "array", "items": {"type": "string", "enum": list(VENDORS)}, "uniqueItems": True},
                                description="Vendors always tried first, in this order."),
        "failover_policy": Field({"type": "string"}, computed=True,
                                 description="Read-only; the API does not let it be set."),
    },
    api=KindApi(list=Endpoint("GET", "/v1/account/routing/get"), paginated=False,
                update=Endpoint("PUT", "/v1/account/routing/set")),
)

AUTORECHARGE = KindSpec(
    name="autorecharge",
    title="auto-recharge",
    config_key="autorecharge",
    identity=(),
    singleton=True,
    description="Automatic top-up when the balance falls below a trigger, with daily and monthly caps.",
    fields={
        "enabled": Field({"type": "boolean"}, description="false turns auto-recharge off."),
        "trigger_balance": Field({"type": "number", "minimum": 0, "maximum": 100000}, normalize=number,
                                 description="Recharge when the balance (USD) falls below this."),
        "recharge_amount": Field({"type": "number", "minimum": 5, "maximum": 10000}, normalize=number,
                                 description="USD charged per recharge (5 to 10,000)."),
        "payment_method_id": Field({"type": ["string", "null"]}, description="Payment method to charge; null for the default."),
        "max_per_day": Field({"type": "integer", "minimum": 1, "maximum": 100}, normalize=number,
                             description="At most this many recharges a day."),
        "max_per_month": Field({"type": "integer", "minimum": 1, "maximum": 100}, normalize=number,
                               description="At most this many recharges a month."),
    },
    api=KindApi(list=Endpoint("GET", "/v1/account/autorecharge/get"), paginated=False,
                update=Endpoint("PUT", "/v1/account/autorecharge/configure")),
)
