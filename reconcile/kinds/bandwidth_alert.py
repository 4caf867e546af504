"""Bandwidth alerts: `configure` creates a new alert on every call, so an alert is
identified by its threshold (docs/emulator.md, seed-notes 14). There is no update.
The API holds at most 100 per account; an alert that would fire at once or never is an
impact warning."""

from __future__ import annotations

from typing import Any

from .base import Endpoint, Field, KindApi, KindSpec, ReplaceStrategy
from .impact import BANDWIDTH, WARNING, AccountFacts, ChangeView, Finding, ImpactRule, size
from .project import PROTECT
from .units import SIZE_PATTERN, format_size, parse_size
from .vocab import TIER_LIMITS


def _to_config(field: str, value: Any) -> Any:
    return format_size(value) if field == "threshold_bytes" and isinstance(value, int) else value


def _needs(c: ChangeView) -> frozenset[str]:
    return frozenset({BANDWIDTH}) if c.after.get("enabled") is not False else frozenset()


def _impact(c: ChangeView, f: AccountFacts) -> list[Finding]:
    """At or below what is used this month (fires at once) or above the quota (never
    fires): warning."""
    after = c.after
    quota = f.get(BANDWIDTH)
    threshold = after.get("threshold_bytes")
    if after.get("enabled") is False or quota is None or not isinstance(threshold, int):
        return []
    used = int(quota.get("used_bytes") or 0)
    tier = f.planned_tier
    limit = TIER_LIMITS[tier]["bandwidth_bytes"] if tier in TIER_LIMITS else int(quota.get("limit_bytes") or 0)
    whose = f"the {tier} tier's" if tier in TIER_LIMITS else "the"
    if threshold <= used:
        return [Finding(WARNING, "bandwidth_alert.fires_at_once",
                        f"threshold {size(threshold)} is at or below the {size(used)} already used this month: "
                        "it fires at once.")]
    if limit and threshold > limit:
        return [Finding(WARNING, "bandwidth_alert.never_fires",
                        f"threshold {size(threshold)} is above {whose} monthly quota of {size(limit)}: "
                        "it can never fire.")]
    return []


BANDWIDTH_ALERT = KindSpec(
    name="bandwidth_alert",
    title="bandwidth alert",
    config_key="bandwidth_alerts",
    identity=("threshold_bytes",),
    depends_on=("tier",),
    description="An alert that fires when the period's bandwidth use reaches a threshold.",
    fields={
        "threshold_bytes": Field({"type": ["integer", "string"], "minimum": 1, "pattern": SIZE_PATTERN}, required=True,
                                 normalize=parse_size,
                                 description="Bytes, or a size such as 500MB or 10GiB (config key: `threshold`)."),
        "enabled": Field({"type": "boolean"}, updatable=False, description="false keeps the alert but silences it."),
        "created_at": Field({"type": "string"}, computed=True),
    },
    meta={"protect": PROTECT},
    api=KindApi(
        list=Endpoint("GET", "/v1/account/bandwidth/alerts/list"),
        paginated=False,
        create=Endpoint("POST", "/v1/account/bandwidth/alerts/configure"),
        delete=Endpoint("DELETE", "/v1/account/bandwidth/alerts/delete/{id}"),
    ),
    replace_strategy=ReplaceStrategy.CREATE_BEFORE_DELETE,
    to_config=_to_config,
    config_aliases={"threshold": "threshold_bytes"},
    max_declared=100,
    impact=ImpactRule(_needs, _impact),
)
