"""The account's singletons: tier, budget, routing and auto-recharge.

Each exists exactly once per account, so it is never created or deleted: declaring it
manages the fields you list; leaving it out leaves it alone. Budget, routing and
auto-recharge are set with PUT, which resets what the body omits (docs/emulator.md), so
the planner sends the live values of undeclared fields along with the declared ones.

Their rules: budget's alert must lie below its cap and routing's pinned vendors in its
chain (config checks); impact rules for budget, tier downgrades and auto-recharge; the
budget increase policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from .base import (
    ApiCall,
    Endpoint,
    Field,
    IdResolver,
    KindApi,
    KindSpec,
    LiveContext,
    LiveItem,
    RelPath,
    number,
)
from .impact import TIER as TIER_FACT
from .impact import (BALANCE, BANDWIDTH, DANGER, FORECAST, INFO, TIMESERIES, WARNING, WINDOW_DAYS,
                     AccountFacts, ChangeView, Finding, ImpactRule, size, usd, when)
from .vocab import BUDGET_PERIODS, DOWNGRADE_TARGETS, THROTTLING_LIMITS, TIER_LIMIT_WORDS, TIER_LIMITS, TIERS, VENDORS

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


def _is_downgrade(c: ChangeView) -> bool:
    before, after = c.before.get("tier"), c.after.get("tier")
    return before in TIERS and after in TIERS and TIERS.index(after) < TIERS.index(before)


def _tier_needs(c: ChangeView) -> frozenset[str]:
    return frozenset({TIER_FACT, TIMESERIES, BANDWIDTH}) if _is_downgrade(c) else frozenset()


def _limit(name: str, value: Any) -> str:
    return size(int(value)) if name == "bandwidth_bytes" else f"{value:,}"


def _tier_impact(c: ChangeView, f: AccountFacts) -> list[Finding]:
    """A downgrade whose target limits are below current use (rpm and bandwidth: danger,
    they throttle; object counts: warning)."""
    if not _is_downgrade(c):
        return []
    target = c.after["tier"]
    limits = TIER_LIMITS[target]
    info = f.get(TIER_FACT) or {}
    current = info.get("tier") or c.before.get("tier")
    used: dict[str, tuple[float, str]] = {}
    peak = f.peak_hour()
    if peak is not None:
        used["requests_per_minute"] = (peak[1], f"the busiest hour of the last {WINDOW_DAYS} days "
                                                f"({when(peak[0])}) averaged {peak[1]:,.1f}")
    quota = f.get(BANDWIDTH)
    if quota is not None and quota.get("used_bytes") is not None:
        used["bandwidth_bytes"] = (float(quota["used_bytes"]), f"{size(int(quota['used_bytes']))} used this month")
    counts = f.raw.get("counts") or {}
    for name in (n for n in limits if n not in THROTTLING_LIMITS):
        if name in counts:
            used[name] = (float(counts[name]), f"{counts[name]:,} now")
    out = []
    for name, (value, said) in used.items():
        if value <= limits[name]:
            continue
        now_limit = (info.get("limits") or {}).get(name)
        was = f" ({current} allows {_limit(name, now_limit)})" if now_limit is not None else ""
        severity = DANGER if name in THROTTLING_LIMITS else WARNING
        consequence = ("traffic above it will be throttled or refused" if name in THROTTLING_LIMITS
                       else "the API may refuse new ones")
        out.append(Finding(severity, f"tier.downgrade_below_usage.{name}",
                           f"downgrade {current} → {target}: {TIER_LIMIT_WORDS[name]}: {said}, above the {target} "
                           f"limit of {_limit(name, limits[name])}{was}; {consequence}."))
    return out


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
    impact=ImpactRule(_tier_needs, _tier_impact),
    tier_field="tier",
)

def _budget_order(raw: Mapping[str, Any], values: Mapping[str, Any]) -> Iterable[tuple[str, RelPath]]:
    """An alert above the hard cap could never fire: spending stops at the cap."""
    alert, cap = values.get("alert_threshold_usd"), values.get("hard_cap_usd")
    if isinstance(alert, (int, float)) and isinstance(cap, (int, float)) and alert > cap:
        yield (f"alert_threshold_usd ({alert}) is above hard_cap_usd ({cap}); the alert could never fire",
               ("alert_threshold_usd",))


def _budget_needs(c: ChangeView) -> frozenset[str]:
    return frozenset({FORECAST, TIMESERIES})


def _budget_impact(c: ChangeView, f: AccountFacts) -> list[Finding]:
    """A hard cap at or below the period's spend (danger: blocked at once) or below the
    forecast (danger: blocked from about a date, at the recent daily spend); an alert
    threshold at/above the cap, 0, or already passed."""
    after = c.after
    cap, alert = after.get("hard_cap_usd"), after.get("alert_threshold_usd")
    period = after.get("period") or "monthly"
    out: list[Finding] = []
    spend = period_spend(period, f)
    if isinstance(cap, (int, float)) and spend is not None:
        spent, projected, label, period_end = spend
        if cap <= spent:
            out.append(Finding(DANGER, "budget.hard_cap_reached",
                               f"hard cap {usd(cap)} is at or below the spend of {label} so far ({usd(spent)}): "
                               f"billable calls will be blocked (HTTP 402) as soon as this is applied, until the "
                               f"period ends at {when(period_end)}."))
        elif cap < projected:
            text = (f"hard cap {usd(cap)} is below the forecast spend of {usd(projected)} for {label} "
                    f"({usd(spent)} spent so far): billable calls will be blocked")
            rate = f.daily_rate()
            if rate is not None and rate[0] > 0:
                hit = f.now + timedelta(days=(cap - spent) / rate[0])
                at = hit if hit < period_end else period_end
                text += (f" from about {at.date().isoformat()}, at the recent spend of {usd(rate[0])}/day "
                         f"(average of the last {rate[1]} day{'s' if rate[1] != 1 else ''})")
            out.append(Finding(DANGER, "budget.hard_cap_below_forecast", text + "."))
    if isinstance(alert, (int, float)):
        if alert <= 0:
            out.append(Finding(WARNING, "budget.alert_never_fires",
                               f"alert threshold {usd(alert)} can never fire: it fires when spend crosses it, "
                               "and spend starts at $0.00."))
        elif isinstance(cap, (int, float)) and alert > cap:
            out.append(Finding(WARNING, "budget.alert_never_fires",
                               f"alert threshold {usd(alert)} is above the hard cap {usd(cap)}: spend stops at the "
                               "cap, so the alert can never fire."))
        elif isinstance(cap, (int, float)) and alert == cap:
            out.append(Finding(WARNING, "budget.alert_at_cap",
                               f"alert threshold {usd(alert)} equals the hard cap: it fires only as billable calls "
                               "start being blocked, with no warning before."))
        elif spend is not None and alert <= spend[0]:
            out.append(Finding(INFO, "budget.alert_already_passed",
                               f"alert threshold {usd(alert)} is already passed ({usd(spend[0])} spent in "
                               f"{spend[2]}): it will not fire again before the next period."))
    return out


def period_spend(period: str, f: AccountFacts) -> tuple[float, float, str, datetime] | None:
    """(spent so far, projected, label, period end) for the budget's period."""
    if period == "daily":
        if f.get(TIMESERIES) is None:
            return None
        spent = f.spent_today()
        end = datetime.combine(f.now.date() + timedelta(days=1), datetime.min.time(), timezone.utc)
        rate = f.daily_rate()
        left = (end - f.now).total_seconds() / 86400
        projected = spent + (rate[0] * left if rate else 0.0)
        return spent, projected, f"today ({f.now.date().isoformat()})", end
    forecast = f.get(FORECAST)
    if forecast is None:
        return None
    spent = float(forecast.get("spend_to_date_usd") or 0)
    projected = float(forecast.get("projected_spend_usd") or 0)
    start = datetime(f.now.year, f.now.month, 1, tzinfo=timezone.utc)
    end = (start + timedelta(days=32)).replace(day=1)  # the first of next month
    return spent, projected, f"{forecast.get('period') or 'this month'}", end


def _budget_increase(limit: float, change: Mapping[str, Any]) -> list[str]:
    """Policy `max_budget_increase_percent`: hard_cap_usd may rise by at most N % (and
    removing the cap is an unbounded increase)."""
    old, new = (change.get("before") or {}).get("hard_cap_usd"), (change.get("after") or {}).get("hard_cap_usd")
    if old is None or old == new:
        return []  # no cap before: any cap is a decrease
    if new is None:
        return [f"removes the hard cap of ${old:,.2f} (an unbounded increase); the policy allows +{limit:g}%"]
    if old == 0:
        return [] if new == 0 else [f"hard_cap_usd $0.00 → ${new:,.2f}; the policy allows +{limit:g}%"]
    percent = (new - old) / old * 100
    if percent <= limit:
        return []
    return [f"hard_cap_usd ${old:,.2f} → ${new:,.2f} is +{percent:.1f}%; the policy allows +{limit:g}%"]


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
    checks=(_budget_order,),
    impact=ImpactRule(_budget_needs, _budget_impact),
    policy={"max_budget_increase_percent": _budget_increase},
)

def _pinned_in_chain(raw: Mapping[str, Any], values: Mapping[str, Any]) -> Iterable[tuple[str, RelPath]]:
    """Pinned vendors outside a declared chain override would never be used as declared."""
    chain, pinned = raw.get("chain_override"), raw.get("pinned_vendors")
    if isinstance(chain, list) and isinstance(pinned, list):
        for n, vendor in enumerate(pinned):
            if vendor not in chain:
                yield (f"'{vendor}' is pinned but not in chain_override ({', '.join(chain) or 'empty'})",
                       ("pinned_vendors", n))


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
    checks=(_pinned_in_chain,),
)

def _autorecharge_needs(c: ChangeView) -> frozenset[str]:
    return frozenset({BALANCE}) if c.after.get("enabled") else frozenset()


def _autorecharge_impact(c: ChangeView, f: AccountFacts) -> list[Finding]:
    """The worst-case charge per day and month (info); a trigger at or above the balance
    charges at the next billable call (warning)."""
    after = c.after
    if not after.get("enabled"):
        return []
    amount = float(after.get("recharge_amount") or 0)
    per_day, per_month = int(after.get("max_per_day") or 0), int(after.get("max_per_month") or 0)
    out = [Finding(INFO, "autorecharge.worst_case",
                   f"worst case {usd(amount * per_day)} per day ({per_day} × {usd(amount)}) and "
                   f"{usd(amount * per_month)} per month ({per_month} × {usd(amount)}) charged to "
                   f"{after.get('payment_method_id') or 'the default payment method'}.")]
    balance = f.get(BALANCE)
    trigger = after.get("trigger_balance")
    if balance is not None and isinstance(trigger, (int, float)):
        current = float(balance.get("balance_usd") or 0)
        if trigger >= current:
            out.append(Finding(WARNING, "autorecharge.triggers_at_once",
                               f"trigger {usd(trigger)} is at or above the current balance {usd(current)}: "
                               f"the next billable call charges {usd(amount)} at once."))
    return out


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
    impact=ImpactRule(_autorecharge_needs, _autorecharge_impact),
)
