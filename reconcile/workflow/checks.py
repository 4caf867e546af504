"""Run the config's checks (docs/checks.md) against the API: the calls, concurrently and
bounded; what the answers mean is reconcile/plan/checks.py.

- `plan_checks`: in every plan (and so in drift runs) — routing as the API resolves it
  (`routing.test`), previewed with the declared chain (`chain_override`) when the plan
  changes routing, for each declared capability and each one in use this period
  (`account.usage`); the recent deliveries of each `reachable: true` webhook
  (`webhooks.deliveries`); and what apply will test afterwards, as pending.
- `apply_checks`: after apply — routing asserted live, `webhooks.test` for each reachable
  webhook created or changed (its delivery read back from `webhooks.deliveries`), and the
  opt-in auto-recharge test charge (a real $1 authorisation) when auto-recharge changed.

A check's failed call is an `error` result, never a failed plan: checks read behaviour.
Nothing runs, and no request is sent, when the config declares no check.
Imports: errors, plan, resources, live.pool, apply.events (and a client, duck-typed).
"""

from __future__ import annotations

import dataclasses
from secrets import token_hex
from typing import Any, Callable, Mapping, Sequence

from ..apply.events import ApplyReport, StepStatus
from ..errors import ApiError
from ..live.pool import reading_pool
from ..live.tolerant import tolerant
from ..plan.model import Plan
from ..plan import checks as C
from ..resources import DesiredState, LiveState
from .options import DEFAULT_PARALLELISM

ROUTING_TEST = "/v1/account/routing/test"
USAGE = "/v1/account/usage"
WEBHOOK_TEST = "/v1/account/webhooks/test/{id}"
DELIVERIES = "/v1/account/webhooks/deliveries/{id}"
TEST_CHARGE = "/v1/account/autorecharge/test_charge"


def _call(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    """(answer, None), or (None, why) when the API refused or could not be reached."""
    answer = tolerant(fn)
    if isinstance(answer, ApiError):
        return None, str(answer).splitlines()[0]
    return answer, None


def _post(client: Any, path: str, body: Mapping[str, Any], *, once: bool = False) -> Any:
    # A test that sends something (an event, a charge) carries an idempotency key, so a
    # retried request is not a second event or a second charge.
    key = f"reconcile-check-{token_hex(12)}" if once else None
    return client.request("POST", path, json=dict(body), idempotency_key=key).data


def _declared(config: C.ChecksConfig) -> dict[str, C.RoutingCheck]:
    return {c.capability: c for c in config.routing}


def _pins(values: Mapping[str, Any] | None) -> list[str]:
    return list((values or {}).get("pinned_vendors") or [])


def _routing(client: Any, plan: Plan, live: LiveState | None, config: C.ChecksConfig,
             capabilities: Sequence[str], *, planned: bool, parallelism: int) -> list[C.CheckResult]:
    """One routing result per capability: live resolution, and the preview of the plan's change."""
    declared = _declared(config)
    change = C.routing_change(plan) if planned else None
    sent = C.preview_override(change)
    live_routing = live.resources.get("routing") if live is not None else None
    live_values = live_routing.values if live_routing is not None else {}
    unpreviewable = change is not None and sent is None and live_values.get("chain_override")

    def one(capability: str) -> C.CheckResult:
        now, error = _call(lambda: _post(client, ROUTING_TEST, {"capability": capability}))
        if error is not None:
            return C.routing_result(capability, declared.get(capability), None, None, planned=planned, error=error)
        now_chain = [str(v) for v in now.get("resolved_chain") or []]
        if change is None or unpreviewable:
            result = C.routing_result(capability, declared.get(capability), now_chain, None, planned=planned)
            if unpreviewable:
                result = dataclasses.replace(result, message=result.message + "; the change returns routing to "
                                             "the default chain, which routing.test cannot preview while an "
                                             "override is set (asserted after apply)")
            return result
        preview = now  # no override sent: the same question as above, so the same answer
        if sent is not None:
            preview, error = _call(lambda: _post(client, ROUTING_TEST, {"capability": capability,
                                                                        "chain_override": sent}))
            if error is not None:
                return C.routing_result(capability, declared.get(capability), None, None, planned=planned,
                                        error=error)
        desired_pins = (change.after or {}).get("pinned_vendors")
        new_chain = C.predicted_chain(preview, sent, _pins(live_values), desired_pins)
        return C.routing_result(capability, declared.get(capability), now_chain, new_chain, planned=planned)

    with reading_pool(min(parallelism, max(1, len(capabilities))), "check") as pool:
        return list(pool.map(one, capabilities))


def _capabilities(client: Any, plan: Plan, config: C.ChecksConfig, settings: Mapping[str, Any]) -> list[str]:
    """Declared capabilities; with a routing change, also those in use this period."""
    declared = [c.capability for c in config.routing]
    if C.routing_change(plan) is None or "routing" not in (settings.get("checks") or {}):
        return declared
    usage, _ = _call(lambda: client.get(USAGE))
    return declared + C.touched_capabilities(usage if isinstance(usage, Mapping) else None, declared)


def _reachable_live(desired: DesiredState | None, live: LiveState) -> list[tuple[str, str]]:
    """(address, id) of live webhooks the config declares `reachable: true`."""
    if desired is None:
        return []
    out = []
    for r in desired.of_kind("webhook"):
        found = live.resources.get(r.address)
        if r.meta.get("reachable") and found is not None and found.id:
            out.append((r.address, found.id))
    return out


def plan_checks(client: Any, plan: Plan, desired: DesiredState | None, live: LiveState, *,
                parallelism: int = DEFAULT_PARALLELISM) -> Plan:
    """The plan with its check results (the plan itself when no check is declared)."""
    settings = desired.settings if desired is not None else {}
    config = C.checks_config(settings)
    hooks = _reachable_live(desired, live)
    if config.empty and not hooks and not C.reachable_changes(plan) and "checks" not in settings:
        return plan
    results = _routing(client, plan, live, config, _capabilities(client, plan, config, settings),
                       planned=True, parallelism=parallelism)

    def health(item: tuple[str, str]) -> C.CheckResult:
        address, id_ = item
        items, error = _call(lambda: client.list_all(DELIVERIES.replace("{id}", id_)))
        return C.delivery_health(address, items or [], severity=config.webhook_severity, window=config.window,
                                 max_failure_rate=config.max_failure_rate, error=error)

    with reading_pool(min(parallelism, max(1, len(hooks))), "check") as pool:
        results += list(pool.map(health, hooks))
    results += C.pending_results(plan, config)
    return dataclasses.replace(plan, checks=tuple(results))


def apply_checks(client: Any, plan: Plan, report: ApplyReport, settings: Mapping[str, Any] | None, *,
                 parallelism: int = DEFAULT_PARALLELISM) -> tuple[C.CheckResult, ...]:
    """After apply: the checks that prove what was just applied (module docstring)."""
    settings = settings or {}
    config = C.checks_config(settings)
    done = {r.change.address: r for r in report.results if r.status is StepStatus.SUCCEEDED}
    results = _routing(client, plan, None, config, [c.capability for c in config.routing],
                       planned=False, parallelism=parallelism)
    for change in C.reachable_changes(plan):
        step = done.get(change.address)
        id_ = (step.new_id or change.live_id) if step is not None else None
        if id_ is None:
            continue  # not applied: nothing new to test
        results.append(_test_webhook(client, change.address, id_, config.webhook_severity))
    if C.test_charge_due(plan, config) and "autorecharge" in done:
        answer, error = _call(lambda: _post(client, TEST_CHARGE, {}, once=True))
        results.append(C.test_charge_result(answer, config.test_charge_severity, error))
    return tuple(results)


def _test_webhook(client: Any, address: str, id_: str, severity: str) -> C.CheckResult:
    sent, error = _call(lambda: _post(client, WEBHOOK_TEST.replace("{id}", id_), {}, once=True))
    if error is not None or not isinstance(sent, Mapping):
        return C.test_delivery_result(address, None, severity, error)
    # The delivery as the API recorded it (listed oldest first: the test is among the last).
    items, _ = _call(lambda: client.list_all(DELIVERIES.replace("{id}", id_)))
    recorded = next((d for d in reversed(items or []) if d.get("delivery_id") == sent.get("delivery_id")), sent)
    return C.test_delivery_result(address, recorded, severity)
