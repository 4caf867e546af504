"""Checks (docs/checks.md): behaviour the config declares, proven by the API's own test
endpoints, like Terraform's `check` blocks. Pure: the API's answers come in as arguments
(reconcile/workflow/checks.py makes the calls), results go out as `CheckResult`s.

Three sources of checks:
- `checks.routing`: each `{capability, expect_vendor | expect_chain, severity}` is asserted
  against `routing.test`; when the plan changes routing, the test is run with the declared
  chain as `chain_override`, so the plan shows what the change will select before it is made;
- `reachable: true` on a webhook: after apply, `webhooks.test` for a webhook created or
  changed; in plans (drift runs), the failure rate and last success of its recent deliveries;
- `checks.autorecharge.test_charge: true`: after apply, a $1 test charge validates the
  payment method when the auto-recharge config changed.

A check's severity is `warn` (the default) or `fail`; `--fail-on warning` fails on any
failing check, `--fail-on danger` on failing `fail` checks (the impact gate's ranks).
Imports: plan.model, errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import ImpactAboveThreshold
from .deliveries import delivery_stats
from .fail_on import Hit, fail_on_message
from .model import Action, Plan

WARN, FAIL = "warn", "fail"
SEVERITIES = (WARN, FAIL)
# Outcomes: `pending` runs after apply; `error`: the check could not be run (counts as failing).
PASSED, FAILED, ERROR, PENDING, INFO = "pass", "fail", "error", "pending", "info"
# `--fail-on` level → the check severities it fails on.
FAIL_ON = {"warning": SEVERITIES, "danger": (FAIL,)}
DEFAULT_WINDOW = 20  # recent deliveries looked at in drift runs
DEFAULT_MAX_FAILURE_RATE = 0.5
MAX_TOUCHED = 20  # capabilities in use previewed on a routing change
TEST_CHARGE_USD = 1


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. `address` is the resource it is about (`routing`,
    `webhooks["https://…"]`, `autorecharge`); `details` the figures, for JSON."""

    check: str
    address: str
    severity: str
    status: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        return self.status in (FAILED, ERROR)

    def to_data(self) -> dict[str, Any]:
        return {"check": self.check, "address": self.address, "severity": self.severity,
                "status": self.status, "message": self.message, "details": dict(self.details)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CheckResult:
        """The inverse of `to_data`: a result read back from a JSON plan or apply report."""
        return cls(str(data["check"]), str(data["address"]), str(data["severity"]), str(data["status"]),
                   str(data["message"]), dict(data.get("details") or {}))


# -- what the config declares -----------------------------------------------------------
@dataclass(frozen=True)
class RoutingCheck:
    capability: str
    expect_vendor: str | None = None
    expect_chain: tuple[str, ...] | None = None
    severity: str = WARN


@dataclass(frozen=True)
class ChecksConfig:
    routing: tuple[RoutingCheck, ...] = ()
    webhook_severity: str = WARN
    window: int = DEFAULT_WINDOW
    max_failure_rate: float = DEFAULT_MAX_FAILURE_RATE
    test_charge: bool = False
    test_charge_severity: str = FAIL

    @property
    def empty(self) -> bool:
        return not self.routing and not self.test_charge


def checks_config(settings: Mapping[str, Any] | None) -> ChecksConfig:
    """The `checks:` section (already validated by the config schema) as data."""
    raw = (settings or {}).get("checks") or {}
    routing = tuple(RoutingCheck(str(r["capability"]), r.get("expect_vendor"),
                                 tuple(r["expect_chain"]) if r.get("expect_chain") is not None else None,
                                 r.get("severity", WARN))
                    for r in raw.get("routing") or ())
    hooks = raw.get("webhooks") or {}
    charge = raw.get("autorecharge") or {}
    return ChecksConfig(routing, hooks.get("severity", WARN), int(hooks.get("window", DEFAULT_WINDOW)),
                        float(hooks.get("max_failure_rate", DEFAULT_MAX_FAILURE_RATE)),
                        bool(charge.get("test_charge", False)), charge.get("severity", FAIL))


# -- routing ----------------------------------------------------------------------------
def routing_change(plan: Plan) -> Any:
    """The plan's routing change, if any."""
    return next((c for c in plan.changes if c.kind == "routing" and c.action is not Action.DELETE), None)


def touched_capabilities(usage: Mapping[str, Any] | None, declared: Sequence[str]) -> list[str]:
    """Capabilities in use this period (`account.usage` `by_capability`, busiest first, at most
    MAX_TOUCHED) that no routing check declares: a routing change affects them too."""
    by = (usage or {}).get("by_capability") or {}
    used = sorted((name for name, row in by.items() if isinstance(row, Mapping) and (row.get("requests") or 0) > 0),
                  key=lambda name: (-int(by[name].get("requests") or 0), name))
    return [name for name in used if name not in declared][:MAX_TOUCHED]


def preview_override(change: Any) -> list[str] | None:
    """The `chain_override` a preview sends: the declared chain, or None (the API's own)."""
    after = (change.after or {}) if change is not None else {}
    chain = after.get("chain_override")
    return list(chain) if chain else None


def predicted_chain(answer: Mapping[str, Any], sent: Sequence[str] | None, live_pins: Sequence[str],
                    desired_pins: Sequence[str] | None) -> list[str]:
    """The chain the change will resolve: the API's answer, with the declared pinned vendors
    put first as the API does (`routing.test` applies the live pins; the change may change them)."""
    resolved = [str(v) for v in answer.get("resolved_chain") or []]
    if desired_pins is None or list(desired_pins) == list(live_pins):
        return resolved
    base = list(sent) if sent is not None else resolved[len(live_pins):]
    return list(desired_pins) + [v for v in base if v not in desired_pins]


def _expectation(check: RoutingCheck | None, chain: Sequence[str]) -> tuple[str, str]:
    """(status, why) of `chain` against the check's expectation."""
    if check is None or (check.expect_vendor is None and check.expect_chain is None):
        return INFO, ""
    if check.expect_vendor is not None and (chain[0] if chain else None) != check.expect_vendor:
        return FAILED, f"expected vendor {check.expect_vendor}"
    if check.expect_chain is not None and list(chain) != list(check.expect_chain):
        return FAILED, f"resolved chain {', '.join(chain) or 'empty'}, expected {', '.join(check.expect_chain)}"
    return PASSED, ""


def routing_result(capability: str, check: RoutingCheck | None, now_chain: Sequence[str] | None,
                   new_chain: Sequence[str] | None, *, planned: bool, error: str | None = None) -> CheckResult:
    """One capability's routing: `now_chain` as the API resolves it today, `new_chain` as it
    will after the plan's routing change (None: no change, or not previewable)."""
    severity = check.severity if check is not None else WARN
    name = "routing"
    if error is not None:
        return CheckResult(name, "routing", severity, ERROR, f"{capability}: routing.test failed: {error}",
                           {"capability": capability})
    chain = list(new_chain if new_chain is not None else now_chain or [])
    vendor = chain[0] if chain else None
    was = now_chain[0] if now_chain else None
    details: dict[str, Any] = {"capability": capability, "selected_vendor": vendor, "resolved_chain": chain}
    if new_chain is not None:
        details["was"] = {"selected_vendor": was, "resolved_chain": list(now_chain or [])}
        verb = "would select" if planned else "selects"
        text = f"{capability} {verb} vendor {vendor} (was {was})" if vendor != was else \
            f"{capability} {verb} vendor {vendor} (unchanged)"
    else:
        text = f"{capability} selects vendor {vendor}"
    if check is not None:
        details.update({k: v for k, v in (("expect_vendor", check.expect_vendor),
                                          ("expect_chain", list(check.expect_chain) if check.expect_chain else None))
                        if v is not None})
    status, why = _expectation(check, chain)
    return CheckResult(name, "routing", severity, status, text + (f"; {why}" if why else ""), details)


# -- webhooks ---------------------------------------------------------------------------
def reachable_changes(plan: Plan) -> list[Any]:
    """Webhook changes with `reachable: true` a post-apply test covers (created or changed)."""
    return [c for c in plan.changes if c.kind == "webhook" and c.meta.get("reachable")
            and c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE)]


def test_delivery_result(address: str, delivery: Mapping[str, Any] | None, severity: str,
                         error: str | None = None) -> CheckResult:
    """After apply: the `webhook.test` delivery's outcome (as `webhooks.deliveries` lists it)."""
    if error is not None or delivery is None:
        return CheckResult("webhook reachable", address, severity, ERROR,
                           f"webhooks.test could not be run: {error or 'no delivery recorded'}")
    details = {k: delivery.get(k) for k in ("delivery_id", "status_code", "ok", "error", "simulated", "duration_ms")}
    status_code = delivery.get("status_code")
    shown = f"HTTP {status_code}" if status_code is not None else "no answer"
    if delivery.get("ok"):
        return CheckResult("webhook reachable", address, severity, PASSED,
                           f"test event delivered ({shown})", details)
    why = delivery.get("error") or shown
    return CheckResult("webhook reachable", address, severity, FAILED,
                       f"test event not delivered: {why}", details)


def delivery_health(address: str, deliveries: Sequence[Mapping[str, Any]], *, severity: str,
                    window: int = DEFAULT_WINDOW, max_failure_rate: float = DEFAULT_MAX_FAILURE_RATE,
                    error: str | None = None) -> CheckResult:
    """Drift runs: the last `window` deliveries (the API lists them oldest first) fail at
    more than `max_failure_rate`, or the latest failed and none succeeded in the window."""
    if error is not None:
        return CheckResult("webhook deliveries", address, severity, ERROR,
                           f"webhooks.deliveries could not be read: {error}")
    stats = delivery_stats(list(deliveries)[-window:] if window > 0 else [])
    if not stats.recent:
        return CheckResult("webhook deliveries", address, severity, INFO, "no deliveries yet",
                           {"deliveries": 0})
    failed, rate, last_ok = stats.failed, stats.failure_rate, stats.last_success
    details = {"deliveries": len(stats.recent), "failed": len(failed), "failure_rate": round(rate, 3),
               "last_success": last_ok, "last_error": failed[-1].get("error") if failed else None}
    n = len(stats.recent)
    plural = "y" if n == 1 else "ies"
    summary = (f"{len(failed)} of the last {n} deliver{plural} failed ({rate:.0%})" if failed
               else f"{n} recent deliver{plural}, none failed") + f"; last success: {last_ok or 'none in them'}"
    if failed and (rate > max_failure_rate or last_ok is None):
        return CheckResult("webhook deliveries", address, severity, FAILED,
                           summary + (f"; latest error: {details['last_error']}" if details["last_error"] else ""),
                           details)
    return CheckResult("webhook deliveries", address, severity, PASSED, summary, details)


# -- auto-recharge ----------------------------------------------------------------------
def test_charge_due(plan: Plan, config: ChecksConfig) -> bool:
    return config.test_charge and any(c.kind == "autorecharge" and c.action is not Action.DELETE
                                      for c in plan.changes)


def test_charge_result(answer: Mapping[str, Any] | None, severity: str, error: str | None = None) -> CheckResult:
    if error is not None or answer is None:
        return CheckResult("autorecharge test charge", "autorecharge", severity, ERROR,
                           f"the test charge could not be made: {error or 'no answer'}")
    details = {k: answer.get(k) for k in ("ok", "charged_usd", "failure_reason", "payment_method_id")}
    method = answer.get("payment_method_id") or "the default payment method"
    if answer.get("ok"):
        return CheckResult("autorecharge test charge", "autorecharge", severity, PASSED,
                           f"a ${TEST_CHARGE_USD} test authorisation on {method} succeeded (voided)", details)
    return CheckResult("autorecharge test charge", "autorecharge", severity, FAILED,
                       f"the ${TEST_CHARGE_USD} test authorisation on {method} failed: "
                       f"{answer.get('failure_reason') or 'declined'}; auto-recharge would fail too", details)


def pending_results(plan: Plan, config: ChecksConfig) -> list[CheckResult]:
    """What apply will test afterwards, shown in the plan."""
    out = [CheckResult("webhook reachable", c.address, config.webhook_severity, PENDING,
                       "after apply: webhooks.test sends a webhook.test event and reads its delivery")
           for c in reachable_changes(plan)]
    if test_charge_due(plan, config):
        out.append(CheckResult("autorecharge test charge", "autorecharge", config.test_charge_severity, PENDING,
                               f"after apply: a real ${TEST_CHARGE_USD} test authorisation validates the payment method"))
    return out


# -- the gate ---------------------------------------------------------------------------
def failing(results: Sequence[CheckResult], fail_on: str | None) -> list[CheckResult]:
    if not fail_on:
        return []
    severities = FAIL_ON.get(fail_on, SEVERITIES)
    return [r for r in results if r.failing and r.severity in severities]


def fail_on_hits(results: Sequence[CheckResult], fail_on: str | None) -> list[Hit]:
    """The failing checks at or above `--fail-on` (plan/fail_on.py)."""
    return [Hit(r.severity, r.address, r.message) for r in failing(results, fail_on)]


def check_fail_on(results: Sequence[CheckResult], fail_on: str | None, *, applied: bool = False) -> None:
    """`--fail-on`: raise ImpactAboveThreshold (exit 4) for failing checks at that level."""
    outcome = "the changes were applied" if applied else "nothing was applied"
    message = fail_on_message([("failing check", fail_on_hits(results, fail_on))], fail_on or "", outcome)
    if message:
        raise ImpactAboveThreshold(message)

