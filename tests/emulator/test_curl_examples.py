"""Run each of the seed's 56 curl examples against the emulator, in process.

The examples come from `data/curl_examples.json` (extracted by `data/extract_curl_examples.py`
from `../shared`, committed so tests do not need it). `ID` in a path becomes a real id of the
right type. An example must succeed, or, where its body is a placeholder the contract says is
invalid (`"..."`, `events: []`, a missing required field, auto-recharge `0`/`0`), fail with
the documented 4xx; never a 5xx.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from reconcile.emulator import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)  # starlette 1.x prefers httpx2
    from starlette.testclient import TestClient

EXAMPLES_FILE = Path(__file__).parent / "data" / "curl_examples.json"
EXAMPLES: list[dict[str, Any]] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "infrai-account-api.json"

# Examples whose body the contract rejects: (status, error code, field).
EXPECTED_ERRORS: dict[str, tuple[int, str, str | None]] = {
    "account.autorecharge.configure": (400, "VALIDATION_ERROR", "recharge_amount"),  # 0/0 (seed-notes 10)
    "account.bandwidth.alerts.configure": (400, "VALIDATION_ERROR", "threshold_bytes"),  # {} (seed-notes 1)
    "account.members.invite": (400, "VALIDATION_ERROR", "email"),  # "..." is not an email
    "account.payment_method.set_default": (404, "NOT_FOUND", None),  # "..." is no payment method
    "account.routing.set": (200, "", None),  # `capability` is ignored: a valid PUT of defaults
    "account.routing.test": (400, "VALIDATION_ERROR", "capability"),  # {} lacks capability
    "account.webhooks.register": (400, "UNSAFE_URL", "url"),  # "..." is no https URL
}


def test_the_copy_has_all_56_examples() -> None:
    assert len(EXAMPLES) == 56
    assert len({e["name"] for e in EXAMPLES}) == 56


def test_the_copy_is_current() -> None:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not beside the repository")
    capabilities = json.loads(SHARED.read_text(encoding="utf-8"))["capabilities"]
    assert {c["name"]: c["example"] for c in capabilities} == {e["name"]: e["example"] for e in EXAMPLES}


@pytest.fixture
def client() -> TestClient:
    app = create_app(":memory:")
    return TestClient(app, headers={"Authorization": f"Bearer {app.state.emulator.bootstrap_secret}"})


def _created(client: TestClient, path: str, body: dict[str, Any], field: str = "id") -> Callable[[], str]:
    def make() -> str:
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        value: str = response.json()[field]
        return value

    return make


def id_for(client: TestClient, path: str) -> str:
    """A real id of the kind the path's `ID` stands for (created on demand)."""
    api = "/v1/account"
    makers: dict[str, Callable[[], str]] = {
        "/bandwidth/alerts/": _created(client, f"{api}/bandwidth/alerts/configure", {"threshold_bytes": 1000}),
        "/invoices/": lambda: client.get(f"{api}/invoices/list").json()["items"][0]["id"],
        "/keys/": _created(client, f"{api}/keys/create", {"name": "example"}, "key_id"),
        "/members/": _created(client, f"{api}/members/invite", {"email": "a@example.com", "role": "viewer"},
                              "member_id"),
        "/projects/": _created(client, f"{api}/projects/create", {"name": "example"}),
        "/webhooks/": _created(client, f"{api}/webhooks/register",
                               {"url": "https://hooks.example.com/x", "events": ["webhook.test"]}),
    }
    for fragment, make in makers.items():
        if fragment in path:
            return make()
    raise AssertionError(f"no id maker for {path}")


def prepare(client: TestClient, name: str) -> None:
    """State some examples need to succeed: a failed delivery to retry or replay, a paid
    subscription to cancel or downgrade, a past-due one to retry."""
    if name in ("account.webhooks.retry", "account.webhooks.replay"):
        webhook_id = client.get("/v1/account/webhooks/list").json()["items"][0]["id"]
        client.post(f"/_emulator/webhooks/{webhook_id}/receiver", json={"status_code": 500})
        assert client.post(f"/v1/account/webhooks/test/{webhook_id}", json={}).status_code == 200
    if name == "account.subscription.retry_payment":
        assert client.post("/_emulator/subscription", json={"status": "past_due"}).status_code == 200
    if name in ("account.subscription.cancel", "account.tier.downgrade"):
        assert client.post("/v1/account/tier/upgrade", json={"target_tier": "pro"}).status_code == 200


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_example(client: TestClient, example: dict[str, Any]) -> None:
    path: str = example["path"]
    if "/ID" in path or "{id}" in path:
        real_id = id_for(client, path)
        path = path.replace("/ID", "/" + real_id).replace("{id}", real_id)
    prepare(client, example["name"])
    response = client.request(example["method"], path, json=example["body"])
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    status, code, field = EXPECTED_ERRORS.get(example["name"], (200, "", None))
    assert response.status_code == status, response.text
    if status >= 400:
        error = response.json()["error"]
        assert error["code"] == code, error
        if field is not None:
            assert error.get("field") == field, error
