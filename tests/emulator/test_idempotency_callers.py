"""Idempotency records belong to the calling key, and malformed requests are not stored
(contract: "Idempotency"). Over HTTP, with two keys of one account."""

from __future__ import annotations

import httpx
import pytest

from reconcile.emulator import create_app

from .conftest import API, auth
from .live_server import live_server


@pytest.fixture
def two_keys(tmp_path):
    """(owner client, second whole-module key's client, the second key) over real HTTP."""
    app = create_app(str(tmp_path / "emu.db"))
    with live_server(app, http="httptools") as base:
        with httpx.Client(base_url=base, headers=auth(app.state.emulator.bootstrap_secret)) as owner:
            other = owner.post(f"{API}/keys/create", json={"name": "other"}).json()
            with httpx.Client(base_url=base, headers=auth(other["key_secret"])) as second:
                yield owner, second, other


def test_another_key_never_gets_a_stored_key_secret(two_keys):
    owner, second, _ = two_keys
    request = {"name": "deploy", "idempotency_key": "shared-1"}
    first = owner.post(f"{API}/keys/create", json=request)
    assert first.status_code == 200 and first.json()["key_secret"]
    theirs = second.post(f"{API}/keys/create", json=request)
    # Its own attempt: the name is taken in the project, and nothing of the owner's answer.
    assert theirs.status_code == 409 and "Idempotent-Replayed" not in theirs.headers
    assert first.json()["key_secret"] not in theirs.text and first.json()["key_id"] not in theirs.text
    again = owner.post(f"{API}/keys/create", json=request)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_another_key_never_gets_a_generated_webhook_secret(two_keys):
    owner, second, _ = two_keys
    request = {"url": "https://hooks.example.com/a", "events": ["key.created"], "idempotency_key": "wh-1"}
    first = owner.post(f"{API}/webhooks/register", json=request).json()
    assert first["secret"].startswith("whsec_")
    theirs = second.post(f"{API}/webhooks/register", json=request)
    assert theirs.status_code == 409 and "Idempotent-Replayed" not in theirs.headers
    assert first["secret"] not in theirs.text


def test_a_refusal_of_one_caller_is_not_replayed_to_another(two_keys):
    owner, second, other = two_keys
    url = f"{API}/keys/revoke/{other['key_id']}?idempotency_key=rv-1"
    refused = second.delete(url)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "CONFLICT"
    done = owner.delete(url)
    assert done.status_code == 200 and done.json() == {"revoked": True}
    assert "Idempotent-Replayed" not in done.headers
    assert second.get(f"{API}/whoami").status_code == 401


def test_records_follow_the_key_across_its_rotation(two_keys):
    owner, second, other = two_keys
    created = second.post(f"{API}/projects/create", json={"name": "p", "idempotency_key": "mine"}).json()
    rotated = owner.post(f"{API}/keys/rotate/{other['key_id']}", json={"grace_hours": 0}).json()
    with httpx.Client(base_url=str(owner.base_url), headers=auth(rotated["key_secret"])) as renewed:
        again = renewed.post(f"{API}/projects/create", json={"name": "p", "idempotency_key": "mine"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == created


def test_a_400_is_not_stored_so_the_fixed_body_runs_with_the_same_key(two_keys):
    owner, _, _ = two_keys
    bad = owner.post(f"{API}/projects/create", json={"name": "", "idempotency_key": "fix-me"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    unsafe = owner.post(f"{API}/webhooks/register", json={"url": "https://127.0.0.1/x", "events": ["key.created"]},
                        headers={"Idempotency-Key": "fix-url"})
    assert unsafe.status_code == 400 and unsafe.json()["error"]["code"] == "UNSAFE_URL"
    fixed = owner.post(f"{API}/projects/create", json={"name": "fixed", "idempotency_key": "fix-me"})
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers
    fixed_url = owner.post(f"{API}/webhooks/register",
                           json={"url": "https://hooks.example.com/fixed", "events": ["key.created"]},
                           headers={"Idempotency-Key": "fix-url"})
    assert fixed_url.status_code == 200 and "Idempotent-Replayed" not in fixed_url.headers
    # A request that ran and was refused (409) is stored: the retry gets the same answer.
    taken = owner.post(f"{API}/projects/create", json={"name": "fixed", "idempotency_key": "dup"})
    assert taken.status_code == 409
    assert owner.post(f"{API}/projects/create",
                      json={"name": "fixed", "idempotency_key": "dup"}).headers["Idempotent-Replayed"] == "true"
