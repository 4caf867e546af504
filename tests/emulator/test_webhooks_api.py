"""Webhooks API: shapes, validation, simulated deliveries, retry and replay."""

from __future__ import annotations

from starlette.testclient import TestClient

from reconcile.emulator import create_app

from .conftest import API, auth, error_of

HOOK = {"url": "https://hooks.example.com/infrai", "events": ["key.created", "budget.alert", "key.created"]}


def _register(client, **overrides) -> dict:
    response = client.post(f"{API}/webhooks/register", json={**HOOK, **overrides})
    assert response.status_code == 200, response.text
    return response.json()


def test_register_returns_secret_once_and_one_shape(client):
    webhook = _register(client, description="ops")
    assert webhook["secret"].startswith("whsec_") and len(webhook["secret"]) == 6 + 32
    assert webhook["events"] == ["budget.alert", "key.created"] and webhook["retry_policy"] == "default"
    fetched = client.get(f"{API}/webhooks/get/{webhook['id']}").json()
    assert "secret" not in fetched
    assert fetched == {k: v for k, v in webhook.items() if k != "secret"}
    assert client.get(f"{API}/webhooks/list").json()["items"] == [fetched]


def test_register_validation(client):
    cases = [
        ({"events": []}, "events"),
        ({"events": ["key.created", "nope"]}, "events[1]"),
        ({"description": "x" * 257}, "description"),
        ({"retry_policy": "never"}, "retry_policy"),
        ({"headers": {"Webhook-Id": "x"}}, "headers.Webhook-Id"),
        ({"secret": "short"}, "secret"),
    ]
    for overrides, field in cases:
        response = client.post(f"{API}/webhooks/register", json={**HOOK, **overrides})
        assert response.status_code == 400 and error_of(response)["field"] == field, (overrides, response.text)
    response = client.post(f"{API}/webhooks/register", json={**HOOK, "url": "http://127.0.0.1/hook"})
    assert response.status_code == 400 and error_of(response) | {"message": ""} == {
        "code": "UNSAFE_URL", "field": "url", "message": ""}


def test_url_unique_and_update_semantics(client):
    webhook = _register(client)
    assert client.post(f"{API}/webhooks/register", json=HOOK).status_code == 409
    url = f"{API}/webhooks/update/{webhook['id']}"
    assert client.patch(url, json={}).json()["events"] == webhook["events"]
    updated = client.patch(url, json={"active": False, "events": ["tier.changed"]}).json()
    assert (updated["active"], updated["events"], updated["url"]) == (False, ["tier.changed"], HOOK["url"])
    assert error_of(client.patch(url, json={"url": "https://10.0.0.1/x"}))["code"] == "UNSAFE_URL"
    assert client.delete(f"{API}/webhooks/delete/{webhook['id']}").json() == {"deleted": True}
    assert client.get(f"{API}/webhooks/get/{webhook['id']}").status_code == 404


def test_events_are_recorded_as_simulated_deliveries(client):
    webhook = _register(client)
    client.post(f"{API}/keys/create", json={})
    deliveries = client.get(f"{API}/webhooks/deliveries/{webhook['id']}").json()
    assert [d["event_type"] for d in deliveries["items"]] == ["key.created"]
    delivery = deliveries["items"][0]
    assert (delivery["status_code"], delivery["ok"], delivery["simulated"]) == (200, True, True)


def test_failing_receiver_then_retry_and_replay(client, anon):
    webhook = _register(client)
    anon.post(f"/_emulator/webhooks/{webhook['id']}/receiver", json={"status_code": 500})
    failed = client.post(f"{API}/webhooks/test/{webhook['id']}", json={}).json()
    assert (failed["status_code"], failed["ok"], failed["event_type"]) == (500, False, "webhook.test")
    anon.post(f"/_emulator/webhooks/{webhook['id']}/receiver", json={"status_code": 204})
    retried = client.post(f"{API}/webhooks/retry/{webhook['id']}", json={}).json()
    assert retried["ok"] is True and retried["attempt"] == 2 and retried["delivery_id"] != failed["delivery_id"]
    response = client.post(f"{API}/webhooks/retry/{webhook['id']}", json={"delivery_id": retried["delivery_id"]})
    assert response.status_code == 409
    replayed = client.post(f"{API}/webhooks/replay/{webhook['id']}", json={}).json()
    assert replayed["replay_of"] == retried["delivery_id"] and replayed["ok"] is True
    items = client.get(f"{API}/webhooks/deliveries/{webhook['id']}", params={"limit": 2}).json()
    assert len(items["items"]) == 2 and items["next_cursor"]


def test_retry_without_failures_is_404(client):
    webhook = _register(client)
    assert error_of(client.post(f"{API}/webhooks/retry/{webhook['id']}", json={}))["code"] == "NOT_FOUND"
    assert client.post(f"{API}/webhooks/replay/{webhook['id']}", json={}).status_code == 404


def test_real_delivery_only_to_allowed_hosts():
    app = create_app(":memory:", webhook_delivery=True, allow_webhook_hosts=["allowed.example.com"])
    client = TestClient(app, headers=auth(app.state.emulator.bootstrap_secret))
    webhook = _register(client)
    result = client.post(f"{API}/webhooks/test/{webhook['id']}", json={}).json()
    assert (result["ok"], result["error"], result["simulated"]) == (False, "delivery not allowed", False)
