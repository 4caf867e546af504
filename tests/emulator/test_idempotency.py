"""Idempotency keys: replay, mismatch, in-flight, retention (contract: "Idempotency")."""

from __future__ import annotations

import asyncio

import httpx

from reconcile.emulator import create_app
from reconcile.emulator import routes_webhooks
from reconcile.emulator.delivery import DeliveryResult

from .conftest import API, auth, error_of


def _projects(client) -> list[dict]:
    return client.get(f"{API}/projects/list").json()["items"]


def test_replay_returns_the_same_object_without_a_second_effect(client):
    body = {"name": "svc", "idempotency_key": "k-1"}
    first = client.post(f"{API}/projects/create", json=body)
    second = client.post(f"{API}/projects/create", json=body)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [p["name"] for p in _projects(client)].count("svc") == 1


def test_header_key_and_key_secret_replayed(client):
    headers = {"Idempotency-Key": "key-create-1"}
    first = client.post(f"{API}/keys/create", json={"name": "ci"}, headers=headers).json()
    again = client.post(f"{API}/keys/create", json={"name": "ci"}, headers=headers)
    assert again.json()["key_id"] == first["key_id"] and again.json()["key_secret"] == first["key_secret"]
    assert len([k for k in client.get(f"{API}/keys/list").json()["items"] if k["name"] == "ci"]) == 1


def test_errors_4xx_are_stored_too(client):
    client.post(f"{API}/projects/create", json={"name": "taken"})
    first = client.post(f"{API}/projects/create", json={"name": "taken", "idempotency_key": "c"})
    client.delete(f"{API}/projects/delete/{_projects(client)[1]['id']}")
    again = client.post(f"{API}/projects/create", json={"name": "taken", "idempotency_key": "c"})
    assert first.status_code == again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"


def test_reuse_with_another_body_or_endpoint_is_422(client):
    client.post(f"{API}/projects/create", json={"name": "a", "idempotency_key": "same"})
    response = client.post(f"{API}/projects/create", json={"name": "b", "idempotency_key": "same"})
    assert response.status_code == 422 and error_of(response)["code"] == "IDEMPOTENCY_KEY_REUSED"
    response = client.post(f"{API}/keys/create", json={"name": "a", "idempotency_key": "same"})
    assert response.status_code == 422


def test_header_and_body_keys_must_agree(client):
    response = client.post(f"{API}/projects/create", json={"name": "a", "idempotency_key": "x"},
                           headers={"Idempotency-Key": "y"})
    assert response.status_code == 400 and error_of(response)["field"] == "idempotency_key"


def test_delete_takes_the_key_in_the_query_string(client):
    project = client.post(f"{API}/projects/create", json={"name": "gone"}).json()
    url = f"{API}/projects/delete/{project['id']}?idempotency_key=del-1"
    assert client.delete(url).status_code == 200
    again = client.delete(url)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert client.delete(f"{API}/projects/delete/{project['id']}").status_code == 404


def test_keys_expire_after_24_hours_of_emulator_time(client, emu):
    first = client.post(f"{API}/keys/create", json={"idempotency_key": "day"}).json()
    emu.advance(23 * 3600)
    assert client.post(f"{API}/keys/create", json={"idempotency_key": "day"}).json()["key_id"] == first["key_id"]
    emu.advance(3600 + 1)
    assert client.post(f"{API}/keys/create", json={"idempotency_key": "day"}).json()["key_id"] != first["key_id"]


def test_concurrent_duplicate_is_409_in_progress(monkeypatch):
    release = asyncio.Event()

    async def slow_deliver(*args, **kwargs):
        await release.wait()
        return DeliveryResult(status_code=204, ok=True, error=None, duration_ms=1)

    monkeypatch.setattr(routes_webhooks, "deliver", slow_deliver)
    app = create_app(":memory:", webhook_delivery=True, allow_webhook_hosts=["hooks.example.com"])
    headers = auth(app.state.emulator.bootstrap_secret)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu", headers=headers) as c:
            webhook = (await c.post(f"{API}/webhooks/register",
                                    json={"url": "https://hooks.example.com/in", "events": ["key.created"]})).json()
            url = f"{API}/webhooks/test/{webhook['id']}"
            first = asyncio.create_task(c.post(url, json={}, headers={"Idempotency-Key": "t1"}))
            await asyncio.sleep(0.01)
            duplicate = await c.post(url, json={}, headers={"Idempotency-Key": "t1"})
            release.set()
            done = await first
            replay = await c.post(url, json={}, headers={"Idempotency-Key": "t1"})
            return duplicate, done, replay

    duplicate, done, replay = asyncio.run(scenario())
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert done.status_code == 200 and done.json()["status_code"] == 204
    assert replay.json()["delivery_id"] == done.json()["delivery_id"]
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_effect_and_stored_answer_are_committed_together(app, client):
    """One commit per mutating request: a crash leaves the effect with its stored answer, or
    neither (then the retry runs afresh)."""
    statements: list[str] = []
    app.state.emulator.store.conn.set_trace_callback(statements.append)
    try:
        response = client.post(f"{API}/keys/create", json={"name": "once"}, headers={"Idempotency-Key": "one-tx"})
    finally:
        app.state.emulator.store.conn.set_trace_callback(None)
    assert response.status_code == 200
    assert [s for s in statements if s.split()[0] in ("BEGIN", "COMMIT", "ROLLBACK")] == ["BEGIN IMMEDIATE", "COMMIT"]


def test_unexpected_error_leaves_no_effect_and_the_retry_runs(app, client, monkeypatch):
    from reconcile.emulator import routes_projects_keys

    async def broken(*args, **kwargs):
        raise RuntimeError("bug after the key was written")

    monkeypatch.setattr(routes_projects_keys, "emit_event", broken)
    body, headers = {"name": "half"}, {"Idempotency-Key": "boom"}
    assert client.post(f"{API}/keys/create", json=body, headers=headers).status_code == 500
    assert [k for k in client.get(f"{API}/keys/list").json()["items"] if k["name"] == "half"] == []
    monkeypatch.undo()
    again = client.post(f"{API}/keys/create", json=body, headers=headers)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert len([k for k in client.get(f"{API}/keys/list").json()["items"] if k["name"] == "half"]) == 1


def test_a_null_or_empty_idempotency_key_is_malformed_not_absent(client):
    """The contract types the field as a string: `null` is a 400, never "no key" (else a
    client sending null would silently lose its retry protection)."""
    for value in (None, "", 7):
        response = client.put(f"{API}/budget/set", json={"period": "daily", "idempotency_key": value})
        assert response.status_code == 400, (value, response.text)
        assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert client.put(f"{API}/budget/set", json={"period": "daily"}).status_code == 200
