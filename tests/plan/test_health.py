"""The pure rules of `reconcile status` (reconcile/plan/health.py) on hand-made facts: the
cases the emulator-driven tests (tests/e2e/test_status.py) do not reach cheaply."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from plan_builders import key, live, project

from reconcile.plan.health import HealthOptions, StatusAboveThreshold, assess_status, check_status_fail_on
from reconcile.render.status import render_status_markdown, render_status_text, status_document

NOW = datetime(2026, 6, 10, 12, tzinfo=timezone.utc)
GIB = 1 << 30


def rules(report: Any) -> dict[str, str]:
    return {f.rule: f.severity.value for f in report.findings}


def assess(facts: dict[str, Any], state: Any = None, rotation: Any = None, **options: Any) -> Any:
    return assess_status(facts, state or live(), rotation or {}, HealthOptions(**options), NOW,
                         unavailable=facts.pop("_unavailable", None))


def test_nothing_read_means_nothing_found_and_each_missing_fact_is_a_note():
    report = assess({"_unavailable": {"subscription": "HTTP 403 FORBIDDEN"}})
    assert report.findings == () and report.worst is None
    assert report.notes[0].startswith("subscription could not be read (HTTP 403 FORBIDDEN)")
    check_status_fail_on(report, "warning")  # nothing to fail on
    assert "healthy, nothing to report" in render_status_text(report)


def test_a_daily_budget_is_judged_on_today_from_the_hourly_timeseries():
    budget = ("budget", {"period": "daily", "hard_cap_usd": 10, "alert_threshold_usd": 5})
    points = [{"ts": "2026-06-10T09:00:00Z", "spend_usd": 6, "requests": 1},
              {"ts": "2026-06-09T09:00:00Z", "spend_usd": 50, "requests": 1}]  # yesterday does not count
    report = assess({"timeseries": {"points": points}}, live(budget))
    found = rules(report)
    assert found["budget.alert_passed"] == "warning" and "budget.hard_cap_reached" not in found


def test_subscription_ending_and_canceled():
    ending = assess({"subscription": {"status": "active", "tier": "pro", "cancel_at_period_end": True,
                                      "current_period_end": "2026-07-01T00:00:00Z"}})
    assert rules(ending) == {"subscription.ending": "warning"}
    canceled = assess({"subscription": {"status": "canceled", "tier": "standard"}})
    assert rules(canceled) == {"subscription.canceled": "info"}


def test_low_wallet_is_info_while_auto_recharge_works_and_warning_once_it_fails():
    recharge = ("autorecharge", {"enabled": True, "trigger_balance": 5, "recharge_amount": 20})
    assert rules(assess({"balance": {"balance_usd": 3}}, live(recharge))) == {"wallet.low": "info"}
    failure = {"created_at": "2026-06-09T00:00:00Z", "reason": "card_declined", "payment_method_id": "pm_1",
               "amount_usd": 20, "source": "autorecharge"}
    old = {**failure, "created_at": "2026-05-01T00:00:00Z"}  # outside the 7-day window
    found = rules(assess({"balance": {"balance_usd": 3}, "payment_failures": [old, failure]}, live(recharge)))
    assert found == {"wallet.low": "warning", "autorecharge.payment_failed": "warning"}
    assert rules(assess({"balance": {"balance_usd": 0}})) == {"wallet.empty": "danger"}


def test_bandwidth_alert_that_will_fire_and_one_that_stays_quiet():
    alerts = [("bandwidth_alert", {"id": "a", "threshold_bytes": 2 * GIB, "enabled": True}),
              ("bandwidth_alert", {"id": "b", "threshold_bytes": 9 * GIB, "enabled": True})]
    # 1 GiB by day 10 (a third of June): ~3 GiB by the end, past the 2 GiB alert, short of 9 GiB.
    quota = {"used_bytes": GIB, "limit_bytes": 10 * GIB}
    report = assess({"bandwidth_quota": quota}, live(*alerts))
    assert rules(report) == {"bandwidth_alert.will_fire": "info"}
    states = [a["state"] for a in report.figures["headroom"]["bandwidth"]["alerts"]]
    assert states == ["will fire", "quiet"]


def test_a_rotated_key_in_grace_and_a_key_without_policy():
    state = live(project("p1", "web"), key("k1", "p1", "ci", grace_expires_at="2026-06-11T00:00:00Z"),
                 key("k2", "p1", "free"))
    report = assess({}, state, {"projects.web.keys.ci": {"rotate_after": "90d"}})
    assert rules(report) == {"key.in_grace": "info", "key.rotation_past_grace": "danger"}  # created in January
    assert report.figures["keys"]["with_rotate_after"] == 1


def _deliveries(*oks: bool) -> list[dict[str, Any]]:
    return [{"delivery_id": f"d{i}", "ok": ok, "status_code": 200 if ok else 500, "error": None if ok else "HTTP 500",
             "created_at": f"2026-06-10T0{i}:00:00Z"} for i, ok in enumerate(oks)]


@pytest.mark.parametrize("oks,expected", [
    ((True,) * 19 + (False,), "warning"),  # 95%, but the latest failed
    ((False,) + (True,) * 19, None),  # 95% and the latest succeeded
    ((False, True, True), "warning"),  # 67%: below the rate
    ((False, False), "danger"),
])
def test_webhook_delivery_health(oks, expected):
    state = live(("webhook", {"id": "wh1", "url": "https://hooks.example.com/a", "events": ["x"], "active": True}))
    report = assess({"deliveries": {"wh1": _deliveries(*oks[:10])}}, state) if len(oks) <= 10 else \
        assess({"deliveries": {"wh1": [{**d, "created_at": f"2026-06-09T{i:02d}:00:00Z"}
                                       for i, d in enumerate(_deliveries(*oks))]}}, state)
    assert rules(report).get("webhook.deliveries_failing") == expected


def test_fail_on_raises_exit_5_and_every_format_renders():
    report = assess({"balance": {"balance_usd": 0}})
    with pytest.raises(StatusAboveThreshold) as caught:
        check_status_fail_on(report, "danger")
    assert caught.value.exit_code == 4 and "wallet.empty" not in str(caught.value) and "wallet:" in str(caught.value)
    assert status_document(report)["worst"] == "danger"
    assert "| **danger** | `wallet` |" in render_status_markdown(report)
