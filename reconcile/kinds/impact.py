"""What a kind's impact rules see and say: a view of one change, the account's facts, and
findings (docs/impact.md).

A kind declares `KindSpec.impact = ImpactRule(needs, assess)`: `needs(change)` names the
facts its rule reads for this change (so a plan without a billing or limits change reads
none), `assess(change, facts)` returns its findings with the figures in each sentence.
`reconcile.plan.impact` runs the rules of the kinds a plan changes; both are pure.

Imports: nothing outside this package (its units and vocab).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from .units import parse_api_time  # one ISO 8601 reading for the API's timestamps
from .vocab import GIB

# Facts the reader knows how to fetch (names of keys in LiveState.facts).
BALANCE, FORECAST, TIMESERIES, TIER, BANDWIDTH = "balance", "forecast", "timeseries", "tier", "bandwidth_quota"
# The window of the hourly timeseries: the "recent" of recent peak and daily spend.
WINDOW_DAYS = 7
INFO, WARNING, DANGER = "info", "warning", "danger"


@dataclass(frozen=True)
class ChangeView:
    """One change, as an impact rule sees it (a delete never has an impact)."""

    action: str  # "create", "update", "replace" or "rotate"
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    # The paths of the fields the planner found different ("rate_limit_rpm", "scopes[1]").
    changed: frozenset[str]


@dataclass(frozen=True)
class Finding:
    """One consequence: severity (INFO, WARNING or DANGER), a stable code, a sentence."""

    severity: str
    code: str
    message: str


@dataclass(frozen=True, eq=False)  # compared by identity: nothing asks two for equality
class ImpactRule:
    """What a rule needs to know of the account for a change, and its assessment."""

    needs: Callable[[ChangeView], frozenset[str]]
    assess: Callable[[ChangeView, "AccountFacts"], list[Finding]]


class AccountFacts:
    """Typed, tolerant views over the raw facts (any of them may be missing)."""

    def __init__(self, facts: Mapping[str, Any], now: datetime, planned_tier: str | None = None):
        self.raw = facts
        self.now = parse_api_time(facts.get("server_time")) or now
        # The tier the plan moves the account to, when it changes it.
        self.planned_tier = planned_tier

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


# -- formatting ---------------------------------------------------------------------------
def usd(value: float) -> str:
    return f"${value:,.2f}"


def size(n: int) -> str:
    for unit, factor in (("TiB", GIB * 1024), ("GiB", GIB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:,.2f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n:,} bytes"


def when(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
