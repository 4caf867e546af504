"""What the API's test answers mean (reconcile/plan/checks.py): pure, no API."""

from __future__ import annotations

import pytest

from reconcile.errors import ImpactAboveThreshold
from reconcile.plan import checks as C
from reconcile.plan.model import Action, Change, Plan


def _d(ok: bool, at: str, error: str | None = None) -> dict:
    return {"ok": ok, "created_at": at, "error": error, "status_code": 200 if ok else 500}


def test_delivery_health_looks_at_the_most_recent_window_only():
    # Listed oldest first: ten old failures, then five successes.
    deliveries = [_d(False, f"2030-01-01T00:00:{i:02d}Z", "endpoint answered HTTP 500") for i in range(10)]
    deliveries += [_d(True, f"2030-01-02T00:00:{i:02d}Z") for i in range(5)]
    assert C.delivery_health("w", deliveries, severity="warn", window=5).status == C.PASSED
    wide = C.delivery_health("w", deliveries, severity="warn", window=15)
    assert wide.status == C.FAILED
    assert wide.details["failure_rate"] == round(10 / 15, 3)
    assert wide.details["last_success"] == "2030-01-02T00:00:04Z"


def test_a_latest_failure_with_no_success_in_the_window_fails_even_below_the_rate():
    result = C.delivery_health("w", [_d(False, "t1", "timed out")], severity="fail", max_failure_rate=1.0)
    assert result.status == C.FAILED and "last success: none in them; latest error: timed out" in result.message


def test_occasional_failures_below_the_rate_pass():
    deliveries = [_d(True, "t1"), _d(False, "t2", "x"), _d(True, "t3"), _d(True, "t4")]
    result = C.delivery_health("w", deliveries, severity="warn", max_failure_rate=0.5)
    assert result.status == C.PASSED and result.message.startswith("1 of the last 4 deliveries failed (25%)")


def test_no_deliveries_is_not_a_failure():
    assert C.delivery_health("w", [], severity="fail").status == C.INFO


def test_predicted_chain_applies_the_declared_pins_as_the_api_does():
    answer = {"resolved_chain": ["groq", "anthropic", "openai"]}  # live pin groq before the sent chain
    assert C.predicted_chain(answer, ["anthropic", "openai"], ["groq"], ["groq"]) == ["groq", "anthropic", "openai"]
    assert C.predicted_chain(answer, ["anthropic", "openai"], ["groq"], []) == ["anthropic", "openai"]
    assert C.predicted_chain(answer, ["anthropic", "openai"], ["groq"], ["openai"]) == ["openai", "anthropic"]
    assert C.predicted_chain(answer, None, ["groq"], None) == ["groq", "anthropic", "openai"]


def test_routing_expectations():
    check = C.RoutingCheck("ai.chat", expect_vendor="anthropic", severity="fail")
    now, new = ["openai", "anthropic"], ["anthropic", "openai"]
    passed = C.routing_result("ai.chat", check, now, new, planned=True)
    assert (passed.status, passed.message) == (C.PASSED, "ai.chat would select vendor anthropic (was openai)")
    failed = C.routing_result("ai.chat", check, now, None, planned=False)
    assert (failed.status, failed.message) == (C.FAILED, "ai.chat selects vendor openai; expected vendor anthropic")
    chain = C.RoutingCheck("ai.chat", expect_chain=("anthropic", "openai"))
    assert C.routing_result("ai.chat", chain, now, new, planned=True).status == C.PASSED
    assert C.routing_result("ai.chat", chain, now, ["anthropic"], planned=True).status == C.FAILED
    assert C.routing_result("ai.chat", None, now, new, planned=True).status == C.INFO
    error = C.routing_result("ai.chat", check, None, None, planned=True, error="HTTP 403")
    assert error.status == C.ERROR and error.failing


def test_touched_capabilities_are_the_busiest_undeclared_ones():
    usage = {"by_capability": {"ai.chat": {"requests": 9}, "ai.image": {"requests": 3}, "ai.audio": {"requests": 0},
                               "ai.embed": {"requests": 5}}}
    assert C.touched_capabilities(usage, ["ai.chat"]) == ["ai.embed", "ai.image"]
    assert C.touched_capabilities(None, []) == []


def test_test_charge_result():
    declined = C.test_charge_result({"ok": False, "failure_reason": "card_declined", "payment_method_id": "pm_1"}, "fail")
    assert declined.status == C.FAILED and "pm_1 failed: card_declined" in declined.message
    assert C.test_charge_result({"ok": True, "charged_usd": 1}, "fail").status == C.PASSED
    assert C.test_charge_result(None, "fail", "HTTP 404").status == C.ERROR


def _plan(*changes: Change) -> Plan:
    return Plan(changes=changes)


def test_pending_checks_follow_the_changes():
    hook = Change('webhooks["https://h.example.com/a"]', "webhook", ("https://h.example.com/a",), Action.CREATE,
                  None, {"url": "https://h.example.com/a"}, meta={"reachable": True})
    quiet = Change('webhooks["https://h.example.com/b"]', "webhook", ("https://h.example.com/b",), Action.CREATE,
                   None, {"url": "https://h.example.com/b"})
    charge = Change("autorecharge", "autorecharge", (), Action.UPDATE, {}, {"enabled": True})
    config = C.checks_config({"checks": {"autorecharge": {"test_charge": True}}})
    pending = C.pending_results(_plan(hook, quiet, charge), config)
    assert [(p.address, p.severity) for p in pending] == [(hook.address, "warn"), ("autorecharge", "fail")]
    assert C.pending_results(_plan(quiet), config) == []
    assert not C.test_charge_due(_plan(charge), C.checks_config({}))


def test_the_gate_ranks_warn_as_warning_and_fail_as_danger():
    warn = C.CheckResult("routing", "routing", "warn", C.FAILED, "a")
    fail = C.CheckResult("routing", "routing", "fail", C.ERROR, "b")
    passed = C.CheckResult("routing", "routing", "fail", C.PASSED, "c")
    assert C.failing([warn, fail, passed], "warning") == [warn, fail]
    assert C.failing([warn, fail, passed], "danger") == [fail]
    assert C.failing([warn, fail], None) == []
    C.check_fail_on([warn, passed], "danger")  # a warn check does not fail --fail-on danger
    with pytest.raises(ImpactAboveThreshold, match="1 failing check at or above --fail-on danger; the changes were applied"):
        C.check_fail_on([fail], "danger", applied=True)
