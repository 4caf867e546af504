"""Impact analysis: what a plan will do to the account's money and throughput.

`assess(plan, facts, now)` is pure: it reads the plan's changes and the account facts that
`reconcile.live.facts.read_facts` gathered once per plan (balance, usage forecast, hourly
usage timeseries, tier and its limits, bandwidth quota, object counts) and returns one
`Impact` per consequence, with the figures in its sentence. `facts_needed(plan)` says
which facts the rules need, so a plan without a billing or limits change reads none.

Rules (docs/impact.md), by resource:
  budget            hard cap at or below the period's spend (danger: blocked at once) or
                    below the forecast (danger: blocked from about a date, at the recent
                    daily spend); alert threshold at/above the cap, 0, or already passed
  tier              a downgrade whose target limits are below current use (rpm and
                    bandwidth: danger, they throttle; object counts: warning)
  autorecharge      the worst-case charge per day and month (info); a trigger at or above
                    the balance charges at the next billable call (warning)
  bandwidth_alert   at or below what is used this month (fires at once) or above the
                    quota (never fires): warning
  project           rate_limit_rpm lowered below the busiest hour's average rpm: warning

A missing fact (the read failed) skips the rules that need it; `read_facts` records it.
Imports: errors, kinds, plan.
"""

from __future__ import annotations

import calendar
import math
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from ..errors import ImpactAboveThreshold
from ..kinds.vocab import GIB, TIER_LIMITS, TIERS
from . import Action, Change, Impact, Plan, Severity
from ..kinds.units import parse_api_time  # one ISO 8601 reading for the API's timestamps

# Facts the reader knows how to fetch (names of keys in LiveState.facts).
BALANCE, FORECAST, TIMESERIES, TIER, BANDWIDTH = "balance", "forecast", "timeseries", "tier", "bandwidth_quota"
# The window of the hourly timeseries: the "recent" of recent peak and daily spend.
WINDOW_DAYS = 7

_LIMIT_WORDS = {
    "requests_per_minute": "requests per minute",
    "bandwidth_bytes": "bandwidth per month",
    "projects": "projects",
    "keys_per_project": "keys in one project",
    "webhooks": "webhooks",
    "members": "members",
}
# Limits that throttle or block traffic when exceeded; the others are object counts.
_THROTTLING = ("requests_per_minute", "bandwidth_bytes")


# -- which facts a plan needs -------------------------------------------------------------
def facts_needed(plan: Plan) -> frozenset[str]:
    """The facts `assess` will use for this plan; empty when no change can have an impact."""
    needed: set[str] = set()
    for c in plan.changes:
        if c.action is Action.DELETE or c.after is None:
            continue
        if c.kind == "budget":
            needed |= {FORECAST, TIMESERIES}
        elif c.kind == "autorecharge" and c.after.get("enabled"):
            needed.add(BALANCE)
        elif c.kind == "tier" and _is_downgrade(c):
            needed |= {TIER, TIMESERIES, BANDWIDTH}
        elif c.kind == "bandwidth_alert" and c.after.get("enabled") is not False:
            needed.add(BANDWIDTH)
        elif c.kind == "project" and _lowered_rpm(c) is not None:
            needed.add(TIMESERIES)
    return frozenset(needed)


def _is_downgrade(c: Change) -> bool:
    before, after = (c.before or {}).get("tier"), (c.after or {}).get("tier")
    return before in TIERS and after in TIERS and TIERS.index(after) < TIERS.index(before)


def _lowered_rpm(c: Change) -> tuple[int | None, int] | None:
    if c.action is not Action.UPDATE or not any(d.path == "rate_limit_rpm" for d in c.diffs):
        return None
    before, after = (c.before or {}).get("rate_limit_rpm"), (c.after or {}).get("rate_limit_rpm")
    if not isinstance(after, int) or (isinstance(before, int) and after >= before):
        return None
    return before, after


# -- assessment -------------------------------------------------------------------------
def assess(plan: Plan, facts: Mapping[str, Any], now: datetime) -> tuple[Impact, ...]:
    """Every impact of the plan's changes, in plan order; pure. `now` is the caller's clock,
    used where the facts carry no `server_time`."""
    ctx = _Facts(facts, plan, now)
    out: list[Impact] = []
    for c in plan.changes:
        if c.action is Action.DELETE or c.after is None:
            continue
        rule = _RULES.get(c.kind)
        if rule is not None:
            out.extend(rule(c, ctx))
    return tuple(out)


def worst(impacts: Iterable[Impact]) -> Severity | None:
    ranked = sorted(impacts, key=lambda i: i.severity.rank)
    return ranked[-1].severity if ranked else None


def check_fail_on(plan: Plan, fail_on: str | None) -> None:
    """`--fail-on warning|danger`: raise when an impact is at or above that severity."""
    if not fail_on:
        return
    floor = Severity(fail_on).rank
    hits = [i for i in plan.impacts if i.severity.rank >= floor]
    if hits:
        lines = "\n".join(f"  [{i.severity.value}] {i.address}: {i.message}" for i in hits)
        raise ImpactAboveThreshold(
            f"{len(hits)} impact{'s' if len(hits) != 1 else ''} at or above --fail-on {fail_on}; nothing was applied:\n"
            + lines)


class _Facts:
    """Typed, tolerant views over the raw facts (any of them may be missing)."""

    def __init__(self, facts: Mapping[str, Any], plan: Plan, now: datetime):
        self.raw = facts
        self.plan = plan
        self.now = parse_api_time(facts.get("server_time")) or now

    def get(self, name: str) -> Mapping[str, Any] | None:
        value = self.raw.get(name)
        return value if isinstance(value, Mapping) else None

    def points(self) -> list[tuple[datetime, float, int]]:
        series = self.get(TIMESERIES) or {}
        out = []
        for p in series.get("points") or []:
            t = parse_api_time(p.get("ts"))
            if t is not None:
                out.append((t, float(p.get("spend_usd") or 0), int(p.get("requests") or 0)))
        return out

    def peak_hour(self) -> tuple[datetime, float] | None:
        """The busiest hour of the window and its average requests per minute."""
        points = self.points()
        if not points or max(p[2] for p in points) == 0:
            return None
        t, _, requests = max(points, key=lambda p: (p[2], p[0]))
        return t, requests / 60

    def daily_rate(self) -> tuple[float, int] | None:
        """Average spend per day since the first hour with spend in the window, and the days."""
        spending = [p for p in self.points() if p[1] > 0]
        if not spending:
            return None
        days = min(WINDOW_DAYS, max(1, math.ceil((self.now - spending[0][0]).total_seconds() / 86400)))
        return sum(p[1] for p in spending) / days, days

    def spent_today(self) -> float:
        today = self.now.date()
        return sum(p[1] for p in self.points() if p[0].date() == today)

    def planned_tier(self) -> str | None:
        for c in self.plan.changes:
            if c.kind == "tier" and c.after:
                return c.after.get("tier")
        return None


# -- rules, one function per kind ---------------------------------------------------------
def _budget(c: Change, f: _Facts) -> list[Impact]:
    after = c.after or {}
    cap, alert = after.get("hard_cap_usd"), after.get("alert_threshold_usd")
    period = after.get("period") or "monthly"
    out: list[Impact] = []
    spend = _period_spend(period, f)
    if isinstance(cap, (int, float)) and spend is not None:
        spent, projected, label, period_end = spend
        if cap <= spent:
            out.append(Impact(Severity.DANGER, c.address, "budget.hard_cap_reached",
                              f"hard cap {_usd(cap)} is at or below the spend of {label} so far ({_usd(spent)}): "
                              f"billable calls will be blocked (HTTP 402) as soon as this is applied, until the "
                              f"period ends at {_when(period_end)}."))
        elif cap < projected:
            text = (f"hard cap {_usd(cap)} is below the forecast spend of {_usd(projected)} for {label} "
                    f"({_usd(spent)} spent so far): billable calls will be blocked")
            rate = f.daily_rate()
            if rate is not None and rate[0] > 0:
                hit = f.now + timedelta(days=(cap - spent) / rate[0])
                when = hit if hit < period_end else period_end
                text += (f" from about {when.date().isoformat()}, at the recent spend of {_usd(rate[0])}/day "
                         f"(average of the last {rate[1]} day{'s' if rate[1] != 1 else ''})")
            out.append(Impact(Severity.DANGER, c.address, "budget.hard_cap_below_forecast", text + "."))
    if isinstance(alert, (int, float)):
        if alert <= 0:
            out.append(Impact(Severity.WARNING, c.address, "budget.alert_never_fires",
                              f"alert threshold {_usd(alert)} can never fire: it fires when spend crosses it, "
                              "and spend starts at $0.00."))
        elif isinstance(cap, (int, float)) and alert > cap:
            out.append(Impact(Severity.WARNING, c.address, "budget.alert_never_fires",
                              f"alert threshold {_usd(alert)} is above the hard cap {_usd(cap)}: spend stops at the "
                              "cap, so the alert can never fire."))
        elif isinstance(cap, (int, float)) and alert == cap:
            out.append(Impact(Severity.WARNING, c.address, "budget.alert_at_cap",
                              f"alert threshold {_usd(alert)} equals the hard cap: it fires only as billable calls "
                              "start being blocked, with no warning before."))
        elif spend is not None and alert <= spend[0]:
            out.append(Impact(Severity.INFO, c.address, "budget.alert_already_passed",
                              f"alert threshold {_usd(alert)} is already passed ({_usd(spend[0])} spent in "
                              f"{spend[2]}): it will not fire again before the next period."))
    return out


def _period_spend(period: str, f: _Facts) -> tuple[float, float, str, datetime] | None:
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
    days = calendar.monthrange(f.now.year, f.now.month)[1]
    end = datetime(f.now.year, f.now.month, 1, tzinfo=timezone.utc) + timedelta(days=days)
    return spent, projected, f"{forecast.get('period') or 'this month'}", end


def _tier(c: Change, f: _Facts) -> list[Impact]:
    if not _is_downgrade(c):
        return []
    target = (c.after or {})["tier"]
    limits = TIER_LIMITS[target]
    info = f.get(TIER) or {}
    current = info.get("tier") or (c.before or {}).get("tier")
    used: dict[str, tuple[float, str]] = {}
    peak = f.peak_hour()
    if peak is not None:
        used["requests_per_minute"] = (peak[1], f"the busiest hour of the last {WINDOW_DAYS} days "
                                                f"({_when(peak[0])}) averaged {peak[1]:,.1f}")
    quota = f.get(BANDWIDTH)
    if quota is not None and quota.get("used_bytes") is not None:
        used["bandwidth_bytes"] = (float(quota["used_bytes"]), f"{_bytes(int(quota['used_bytes']))} used this month")
    counts = f.raw.get("counts") or {}
    for name in ("projects", "keys_per_project", "webhooks", "members"):
        if name in counts:
            used[name] = (float(counts[name]), f"{counts[name]:,} now")
    out = []
    for name, (value, said) in used.items():
        if value <= limits[name]:
            continue
        now_limit = (info.get("limits") or {}).get(name)
        was = f" ({current} allows {_limit(name, now_limit)})" if now_limit is not None else ""
        severity = Severity.DANGER if name in _THROTTLING else Severity.WARNING
        consequence = ("traffic above it will be throttled or refused" if name in _THROTTLING
                       else "the API may refuse new ones")
        out.append(Impact(severity, c.address, f"tier.downgrade_below_usage.{name}",
                          f"downgrade {current} → {target}: {_LIMIT_WORDS[name]}: {said}, above the {target} "
                          f"limit of {_limit(name, limits[name])}{was}; {consequence}."))
    return out


def _autorecharge(c: Change, f: _Facts) -> list[Impact]:
    after = c.after or {}
    if not after.get("enabled"):
        return []
    amount = float(after.get("recharge_amount") or 0)
    per_day, per_month = int(after.get("max_per_day") or 0), int(after.get("max_per_month") or 0)
    out = [Impact(Severity.INFO, c.address, "autorecharge.worst_case",
                  f"worst case {_usd(amount * per_day)} per day ({per_day} × {_usd(amount)}) and "
                  f"{_usd(amount * per_month)} per month ({per_month} × {_usd(amount)}) charged to "
                  f"{after.get('payment_method_id') or 'the default payment method'}.")]
    balance = f.get(BALANCE)
    trigger = after.get("trigger_balance")
    if balance is not None and isinstance(trigger, (int, float)):
        current = float(balance.get("balance_usd") or 0)
        if trigger >= current:
            out.append(Impact(Severity.WARNING, c.address, "autorecharge.triggers_at_once",
                              f"trigger {_usd(trigger)} is at or above the current balance {_usd(current)}: "
                              f"the next billable call charges {_usd(amount)} at once."))
    return out


def _bandwidth_alert(c: Change, f: _Facts) -> list[Impact]:
    after = c.after or {}
    quota = f.get(BANDWIDTH)
    threshold = after.get("threshold_bytes")
    if after.get("enabled") is False or quota is None or not isinstance(threshold, int):
        return []
    used = int(quota.get("used_bytes") or 0)
    tier = f.planned_tier()
    limit = TIER_LIMITS[tier]["bandwidth_bytes"] if tier in TIER_LIMITS else int(quota.get("limit_bytes") or 0)
    whose = f"the {tier} tier's" if tier in TIER_LIMITS else "the"
    if threshold <= used:
        return [Impact(Severity.WARNING, c.address, "bandwidth_alert.fires_at_once",
                       f"threshold {_bytes(threshold)} is at or below the {_bytes(used)} already used this month: "
                       "it fires at once.")]
    if limit and threshold > limit:
        return [Impact(Severity.WARNING, c.address, "bandwidth_alert.never_fires",
                       f"threshold {_bytes(threshold)} is above {whose} monthly quota of {_bytes(limit)}: "
                       "it can never fire.")]
    return []


def _project(c: Change, f: _Facts) -> list[Impact]:
    lowered = _lowered_rpm(c)
    peak = f.peak_hour()
    if lowered is None or peak is None or peak[1] <= lowered[1]:
        return []
    before, after = lowered
    return [Impact(Severity.WARNING, c.address, "project.rate_limit_below_peak",
                   f"rate_limit_rpm {before if before is not None else 'unlimited'} → {after}, below the recent peak: "
                   f"the busiest hour of the last {WINDOW_DAYS} days ({_when(peak[0])}) averaged {peak[1]:,.1f} "
                   "requests/min. Usage is reported for the whole account, not per project, so this project's "
                   "own peak may be lower.")]


_RULES = {
    "budget": _budget,
    "tier": _tier,
    "autorecharge": _autorecharge,
    "bandwidth_alert": _bandwidth_alert,
    "project": _project,
}


# -- formatting ---------------------------------------------------------------------------
def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _bytes(n: int) -> str:
    for unit, factor in (("TiB", GIB * 1024), ("GiB", GIB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:,.2f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n:,} bytes"


def _limit(name: str, value: Any) -> str:
    return _bytes(int(value)) if name == "bandwidth_bytes" else f"{value:,}"


def _when(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

