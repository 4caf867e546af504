"""Walk all 56 capabilities over real HTTP and check every answer against the OpenAPI document.

The emulator runs under uvicorn on a free 127.0.0.1 port. The walk creates what later calls
need (project -> key -> webhook -> member -> alert -> billing...) and deletes last; each
response's status must be documented for its operation and its body must match that
status's schema. Problems are collected so one failure does not hide the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from reconcile.emulator import create_app
from reconcile.emulator.openapi import load_openapi

from .live_server import live_server

DOCUMENT = load_openapi()
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    op["operationId"]: (method.upper(), path, op)
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
    if method in METHODS
}


def response_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for one response schema whose `#/components/...` refs resolve in DOCUMENT."""
    return jsonschema.Draft202012Validator(
        {"allOf": [schema], "components": DOCUMENT["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def response_schema(op: dict[str, Any], status: int) -> dict[str, Any] | None:
    response = op["responses"].get(str(status))
    if response is None:
        return None
    if "$ref" in response:
        response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


class Walker:
    """Calls capabilities by name and records every way an answer breaks the document."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.seen: dict[str, int] = {}
        self.problems: list[str] = []

    def call(self, name: str, id: str | None = None, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None) -> dict[str, Any]:
        method, template, op = OPERATIONS[name]
        path = template.replace("{id}", id) if id is not None else template
        response = self.client.request(method, path, params=query, json=body if method != "GET" else None)
        self.seen[name] = response.status_code
        where = f"{name} ({method} {path} {body or query or ''})"
        if not 200 <= response.status_code < 300:
            self.problems.append(f"{where}: expected 2xx, got {response.status_code} {response.text[:300]}")
        if not response.headers.get("content-type", "").startswith("application/json"):
            self.problems.append(f"{where}: content-type {response.headers.get('content-type')!r}")
        try:
            data = response.json()
        except ValueError:
            self.problems.append(f"{where}: body is not JSON: {response.text[:200]!r}")
            return {}
        schema = response_schema(op, response.status_code)
        if schema is None:
            self.problems.append(f"{where}: status {response.status_code} is not documented")
            return data if isinstance(data, dict) else {}
        for error in response_validator(schema).iter_errors(data):
            path_in_body = "/".join(map(str, error.absolute_path)) or "(root)"
            self.problems.append(f"{where}: {path_in_body}: {error.message[:300]}")
        return data if isinstance(data, dict) else {}

    def emulator(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One emulator for the module: the walk's state is what the error samples run against."""
    app = create_app(":memory:")
    secret = app.state.emulator.bootstrap_secret
    with live_server(app) as base, httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {secret}"}, trust_env=False, timeout=10
    ) as client:
        yield client


@pytest.fixture
def walker(client: httpx.Client) -> Walker:
    return Walker(client)


def test_document_has_all_capabilities() -> None:
    assert len(OPERATIONS) == 56


def test_every_capability_conforms(walker: Walker) -> None:
    w = walker
    # Reads of the fresh account.
    for name in ("account.whoami", "account.balance", "account.tier", "account.subscription.get",
                 "account.usage", "account.usage.forecast", "account.bandwidth.quota",
                 "account.bandwidth.usage", "account.budget.get", "account.routing.get",
                 "account.autorecharge.get", "account.payment_method.list", "account.transactions.list",
                 "account.autorecharge.payment_failures.list", "account.members.list",
                 "account.projects.list", "account.keys.list", "account.webhooks.list",
                 "account.bandwidth.alerts.list"):
        w.call(name)
    w.call("account.usage.timeseries", query={"start": "2026-01-01", "end": "2026-12-31T00:00:00Z",
                                              "granularity": "month"})
    invoices = w.call("account.invoices.list", query={"limit": 10}).get("items") or [{"id": "inv_missing"}]
    w.call("account.invoices.get", invoices[0]["id"])

    # Project -> key.
    project = w.call("account.projects.create", body={"name": "conformance", "scopes": ["account:read", "keys:write"],
                                                      "metadata": {"team": "platform"}})
    pid = project.get("id", "proj_missing")
    w.call("account.projects.get", pid)
    w.call("account.projects.update", pid, body={"rate_limit_rpm": 1000, "metadata": {"team": "infra"}})
    key = w.call("account.keys.create", body={"project_id": pid, "name": "ci", "scopes": ["account:read"]})
    kid = key.get("key_id", "key_missing")
    w.call("account.keys.update", kid, body={"name": "ci-renamed"})
    w.call("account.keys.rotate", kid, body={"grace_hours": 1})
    w.call("account.keys.suspected_compromise", kid, body={"confirmed_leak": False, "auto_rotate": True})

    # Webhook and its deliveries (simulated: the emulator sends no traffic by default).
    webhook = w.call("account.webhooks.register", body={"url": "https://hooks.example.com/infrai",
                                                        "events": ["key.rotated", "webhook.test"],
                                                        "description": "ci", "headers": {"X-Team": "platform"}})
    wid = webhook.get("id", "wh_missing")
    w.call("account.webhooks.get", wid)
    w.call("account.webhooks.update", wid, body={"description": "ci hook", "retry_policy": "aggressive"})
    w.call("account.webhooks.test", wid, body={})
    w.emulator(f"/_emulator/webhooks/{wid}/receiver", {"status_code": 500})
    failed = w.call("account.webhooks.test", wid, body={})
    w.emulator(f"/_emulator/webhooks/{wid}/receiver", {"status_code": 200})
    w.call("account.webhooks.retry", wid, body={"delivery_id": failed.get("delivery_id", "dlv_missing")})
    w.call("account.webhooks.replay", wid, body={})
    w.call("account.webhooks.deliveries", wid, query={"limit": 2})

    # Members, bandwidth, budget, routing.
    member = w.call("account.members.invite", body={"email": "Dev@Example.com", "role": "developer"})
    alert = w.call("account.bandwidth.alerts.configure", body={"threshold_bytes": 10**9})
    w.call("account.budget.set", body={"period": "monthly", "hard_cap_usd": 100, "alert_threshold_usd": 80})
    w.call("account.routing.set", body={"chain_override": ["anthropic", "openai"], "pinned_vendors": ["anthropic"]})
    w.call("account.routing.test", body={"capability": "ai.chat"})

    # Billing.
    method = w.emulator("/_emulator/payment_methods", {"brand": "mastercard", "last4": "4444"})
    w.call("account.payment_method.set_default", body={"payment_method_id": method["id"]})
    w.call("account.autorecharge.configure", body={"trigger_balance": 5, "recharge_amount": 20})
    w.call("account.autorecharge.test_charge", body={})
    w.call("account.topup", body={"amount_usd": 50, "return_url": "https://example.com/done"})
    w.call("account.usage.export", body={"format": "json", "start": "2026-01-01", "end": "2026-12-31"})
    w.call("account.tier.upgrade", body={"target_tier": "pro"})
    w.call("account.tier.downgrade", body={"target": "standard", "reason": "ci"})
    w.call("account.subscription.cancel", body={"at_period_end": True, "reason": "ci"})
    w.emulator("/_emulator/subscription", {"status": "past_due"})
    w.call("account.subscription.retry_payment", body={})
    w.call("account.wallet.restore", body={})

    # Deletes last, children before parents.
    w.call("account.bandwidth.alerts.delete", alert.get("id", "bwa_missing"))
    w.call("account.members.remove", member.get("member_id", "mem_missing"))
    w.call("account.webhooks.delete", wid)
    w.call("account.keys.revoke", kid)
    w.call("account.projects.delete", pid)

    assert sorted(w.seen) == sorted(OPERATIONS), "the walk must call every capability"
    assert not w.problems, "\n".join(w.problems)


def test_errors_conform(walker: Walker) -> None:
    """A sample of documented error answers, each with the shared Error schema."""
    w = walker
    for name, id, body in (
        ("account.projects.get", "proj_nope", None),
        ("account.projects.create", None, {"name": ""}),
        ("account.webhooks.register", None, {"url": "https://127.0.0.1/x", "events": ["key.rotated"]}),
        ("account.tier.downgrade", None, {"target": "enterprise"}),
    ):
        w.call(name, id, body)
    assert all("expected 2xx" in p for p in w.problems), "\n".join(w.problems)
    assert len(w.problems) == 4
    anonymous = w.client.get("/v1/account/whoami", headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
    response_validator(response_schema(OPERATIONS["account.whoami"][2], 401) or {}).validate(anonymous.json())
