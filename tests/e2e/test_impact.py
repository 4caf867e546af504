"""Impact analysis against the emulator: a usage ledger built with `/_emulator/usage` on a
pinned clock (2030-01-16 12:00 UTC, half of January gone), then plans through the engine
with the test's own client, so the clock the facts are read with is the one we pinned."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconcile.config import load_config
from reconcile.workflow.engine import make_plan
from reconcile.plan import Severity

NOW = "2030-01-16T12:00:00Z"
GIB = 1024**3


def setup(emulator, *, balance: float = 500) -> None:
    emulator.post("/_emulator/clock", {"now": NOW})
    top = emulator.post("/v1/account/topup", {"amount_usd": balance})
    emulator.post(f"/_emulator/checkout/{top['topup_id']}/complete")


def spend(emulator, ts: str, usd: float = 0, requests: int = 1, bandwidth: int = 0) -> None:
    emulator.post("/_emulator/usage", {"capability": "chat.completions", "requests": requests, "spend_usd": usd,
                                       "bandwidth_bytes": bandwidth, "ts": ts})


def plan_for(emulator, tmp_path: Path, config: dict):
    path = tmp_path / "impact.yaml"
    path.write_text(yaml.safe_dump({"version": 1, **config}))
    return make_plan(emulator.api, load_config([str(path)]))


def rules(planned) -> dict[str, tuple[Severity, str]]:
    return {i.rule: (i.severity, i.message) for i in planned.plan.impacts}


@pytest.fixture
def ledger(emulator):
    """$150 spent over three days ($50/day), 7,200 requests in the busiest hour, 15 GiB."""
    setup(emulator)
    for day in (14, 15, 16):
        spend(emulator, f"2030-01-{day}T10:00:00Z", usd=50, requests=600)
    spend(emulator, "2030-01-15T14:10:00Z", requests=7200, bandwidth=15 * GIB)
    return emulator


def test_hard_cap_below_spend_blocks_at_once(ledger, tmp_path):
    planned = plan_for(ledger, tmp_path, {"budget": {"period": "monthly", "hard_cap_usd": 100}})
    severity, message = rules(planned)["budget.hard_cap_reached"]
    assert severity is Severity.DANGER
    assert message == ("hard cap $100.00 is at or below the spend of 2030-01 so far ($150.00): billable calls will "
                       "be blocked (HTTP 402) as soon as this is applied, until the period ends at 2030-02-01 00:00 UTC.")


def test_hard_cap_below_forecast_says_from_when(ledger, tmp_path):
    planned = plan_for(ledger, tmp_path, {"budget": {"period": "monthly", "hard_cap_usd": 200}})
    severity, message = rules(planned)["budget.hard_cap_below_forecast"]
    assert severity is Severity.DANGER
    # Half the month gone, $150 spent: $300 forecast; $50/day from Jan 14 reaches $200 on Jan 17.
    assert message == ("hard cap $200.00 is below the forecast spend of $300.00 for 2030-01 ($150.00 spent so far): "
                       "billable calls will be blocked from about 2030-01-17, at the recent spend of $50.00/day "
                       "(average of the last 3 days).")


def test_daily_cap_below_todays_projection(ledger, tmp_path):
    planned = plan_for(ledger, tmp_path, {"budget": {"period": "daily", "hard_cap_usd": 60}})
    severity, message = rules(planned)["budget.hard_cap_below_forecast"]
    assert severity is Severity.DANGER and "for today (2030-01-16)" in message and "$75.00" in message


def test_a_cap_above_the_forecast_has_no_impact(ledger, tmp_path):
    assert plan_for(ledger, tmp_path, {"budget": {"period": "monthly", "hard_cap_usd": 1000}}).plan.impacts == ()


def test_alert_above_a_live_cap_never_fires(ledger, tmp_path):
    # The config validator refuses alert > cap when both are declared; the live cap still counts.
    ledger.api.request("PUT", "/v1/account/budget/set", json={"period": "monthly", "hard_cap_usd": 500})
    planned = plan_for(ledger, tmp_path, {"budget": {"alert_threshold_usd": 600}})
    assert rules(planned)["budget.alert_never_fires"] == (Severity.WARNING, (
        "alert threshold $600.00 is above the hard cap $500.00: spend stops at the cap, so the alert can never fire."))


@pytest.mark.parametrize("alert,rule,severity", [
    (500, "budget.alert_at_cap", Severity.WARNING),
    (0, "budget.alert_never_fires", Severity.WARNING),
    (100, "budget.alert_already_passed", Severity.INFO),
])
def test_alert_threshold_rules(ledger, tmp_path, alert, rule, severity):
    planned = plan_for(ledger, tmp_path, {"budget": {"period": "monthly", "hard_cap_usd": 500,
                                                     "alert_threshold_usd": alert}})
    assert rules(planned)[rule][0] is severity
    assert f"${alert:,.2f}" in rules(planned)[rule][1]


def test_tier_downgrade_below_current_use(ledger, tmp_path):
    ledger.post("/v1/account/tier/upgrade", {"target_tier": "pro"})
    planned = plan_for(ledger, tmp_path, {"tier": "standard"})
    found = rules(planned)
    severity, message = found["tier.downgrade_below_usage.requests_per_minute"]
    assert severity is Severity.DANGER
    assert message == ("downgrade pro → standard: requests per minute: the busiest hour of the last 7 days "
                       "(2030-01-15 14:00 UTC) averaged 120.0, above the standard limit of 60 (pro allows 600); "
                       "traffic above it will be throttled or refused.")
    severity, message = found["tier.downgrade_below_usage.bandwidth_bytes"]
    assert severity is Severity.DANGER and "15 GiB used this month, above the standard limit of 10 GiB" in message


def test_autorecharge_worst_case_and_a_trigger_above_the_balance(ledger, tmp_path):
    planned = plan_for(ledger, tmp_path, {"autorecharge": {"enabled": True, "trigger_balance": 400,
                                                           "recharge_amount": 50, "max_per_day": 3,
                                                           "max_per_month": 10}})
    found = rules(planned)
    assert found["autorecharge.worst_case"] == (Severity.INFO, (
        "worst case $150.00 per day (3 × $50.00) and $500.00 per month (10 × $50.00) charged to "
        "the default payment method."))
    assert found["autorecharge.triggers_at_once"] == (Severity.WARNING, (
        "trigger $400.00 is at or above the current balance $352.00: the next billable call charges $50.00 at once."))


@pytest.mark.parametrize("threshold,rule,words", [
    ("10GiB", "bandwidth_alert.fires_at_once", "at or below the 15 GiB already used this month: it fires at once"),
    ("200GiB", "bandwidth_alert.never_fires", "above the monthly quota of 100 GiB: it can never fire"),
])
def test_bandwidth_alert_rules(ledger, tmp_path, threshold, rule, words):
    ledger.post("/v1/account/tier/upgrade", {"target_tier": "pro"})
    planned = plan_for(ledger, tmp_path, {"bandwidth_alerts": [{"threshold": threshold}]})
    severity, message = rules(planned)[rule]
    assert severity is Severity.WARNING and words in message


def test_rate_limit_lowered_below_the_busiest_hour(ledger, tmp_path):
    project = ledger.post("/v1/account/projects/create", {"name": "web"})
    ledger.api.request("PATCH", f"/v1/account/projects/update/{project['id']}", json={"rate_limit_rpm": 600})
    low = plan_for(ledger, tmp_path, {"projects": [{"name": "web", "rate_limit_rpm": 50}]})
    severity, message = rules(low)["project.rate_limit_below_peak"]
    assert severity is Severity.WARNING
    assert message.startswith("rate_limit_rpm 600 → 50, below the recent peak: the busiest hour of the last 7 days "
                              "(2030-01-15 14:00 UTC) averaged 120.0 requests/min.")
    assert "whole account, not per project" in message
    assert plan_for(ledger, tmp_path, {"projects": [{"name": "web", "rate_limit_rpm": 200}]}).plan.impacts == ()


def test_facts_are_read_only_for_impactful_plans_and_once(ledger, tmp_path):
    api = ledger.api
    start = api.request_count
    noop = plan_for(ledger, tmp_path, {"projects": [{"name": "default"}]})
    assert not noop.plan.has_changes and "forecast" not in noop.live.facts
    assert api.request_count - start == noop.live.requests  # list pages (and whoami) only
    start = api.request_count
    budget = plan_for(ledger, tmp_path, {"budget": {"period": "monthly", "hard_cap_usd": 200}})
    assert api.request_count - start == budget.live.requests + 2  # forecast + timeseries, once each
