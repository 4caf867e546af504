"""Fixtures for the emulator's own tests, reusable by anyone driving the emulator in-process.

`app` is a fresh in-memory emulator; `client` is a TestClient authenticated with its
bootstrap key; `emu` drives the emulator-only routes (clock, usage, checkout, ...);
`new_key` creates a key (with scopes, in a project) and returns a client using it.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import pytest

with warnings.catch_warnings():
    # starlette 1.x warns at import that it prefers httpx2; the test client works with httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from reconcile.emulator import create_app

API = "/v1/account"


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def app():
    return create_app(":memory:")


@pytest.fixture
def secret(app) -> str:
    return app.state.emulator.bootstrap_secret


@pytest.fixture
def client(app, secret) -> TestClient:
    return TestClient(app, headers=auth(secret))


@pytest.fixture
def anon(app) -> TestClient:
    """No credentials: for `/_emulator/*` and for 401 tests."""
    return TestClient(app)


class Emu:
    """The emulator-only routes, as a test sees them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def advance(self, seconds: float) -> None:
        assert self.client.post("/_emulator/clock", json={"advance_seconds": seconds}).status_code == 200

    def set_now(self, iso: str) -> None:
        assert self.client.post("/_emulator/clock", json={"now": iso}).status_code == 200

    def usage(self, **body: Any):
        return self.client.post("/_emulator/usage", json={"capability": "ai.chat", **body})


@pytest.fixture
def emu(anon) -> Emu:
    return Emu(anon)


@pytest.fixture
def new_key(app, client) -> Callable[..., tuple[dict, TestClient]]:
    """new_key(scopes=[...], project_id=...) -> (key object with key_secret, client using it)."""

    def make(**body: Any) -> tuple[dict, TestClient]:
        response = client.post(f"{API}/keys/create", json=body)
        assert response.status_code == 200, response.text
        key = response.json()
        return key, TestClient(app, headers=auth(key["key_secret"]))

    return make


def error_of(response) -> dict:
    """The `error` object of an error response, after checking the shape."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]
