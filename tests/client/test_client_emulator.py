"""The client against the real emulator app, in process (no sockets), through both
in-process transports: Starlette's TestClient and `reconcile.client.asgi.SyncASGITransport`
(what `--local` uses), when it exists.

Skipped entirely while `reconcile.emulator.app.create_app` does not exist.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from typing import Any, Callable

import httpx
import pytest

emulator_app = pytest.importorskip("reconcile.emulator.app", reason="the emulator app is not written yet")
if not hasattr(emulator_app, "create_app"):  # pragma: no cover - only while it is being written
    pytest.skip("reconcile.emulator.app has no create_app yet", allow_module_level=True)

from starlette.exceptions import StarletteDeprecationWarning  # noqa: E402

with warnings.catch_warnings():
    # starlette 1.x warns at import that it prefers httpx2; its TestClient works with httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient  # noqa: E402

from reconcile.client import InfraiClient  # noqa: E402
from reconcile.errors import Conflict, NotFound, Unauthenticated, ApiStatusError  # noqa: E402

BASE = "http://emulator"
P = "/v1/account/projects"


HAS_ASGI = importlib.util.find_spec("reconcile.client.asgi") is not None


@pytest.fixture
def app(tmp_path: Any) -> Any:
    return emulator_app.create_app(str(tmp_path / "emulator.db"))


@pytest.fixture(params=["testclient", pytest.param("sync-asgi", marks=pytest.mark.skipif(
    not HAS_ASGI, reason="reconcile.client.asgi not written"))])
def emulator(request: pytest.FixtureRequest, app: Any) -> Iterator[httpx.Client]:
    if request.param == "testclient":
        with TestClient(app, base_url=BASE, raise_server_exceptions=False) as http:
            yield http
    else:
        from reconcile.client.asgi import SyncASGITransport

        with httpx.Client(transport=SyncASGITransport(app)) as http:
            yield http


@pytest.fixture
def api(app: Any, emulator: httpx.Client, sleeps: list[float]) -> InfraiClient:
    return InfraiClient(BASE, app.state.emulator.bootstrap_secret, http=emulator, sleep=sleeps.append)


def test_create_list_and_replay(api: InfraiClient) -> None:
    for n in range(5):
        created = api.request("POST", f"{P}/create", json={"name": f"proj-{n}"}, idempotency_key=f"create-{n}")
        assert created.data["name"] == f"proj-{n}" and not created.replayed
    again = api.request("POST", f"{P}/create", json={"name": "proj-0"}, idempotency_key="create-0")
    assert again.replayed
    before = api.request_count
    names = [p["name"] for p in api.list_all(f"{P}/list", page_size=2)]
    assert [n for n in names if n.startswith("proj-")] == [f"proj-{n}" for n in range(5)]
    # The bootstrap project plus five, two a page: ceil(6 / 2) = 3 pages.
    assert api.request_count - before == -(-len(names) // 2)


def test_errors_map_to_our_classes(api: InfraiClient, emulator: httpx.Client, raises: Callable[..., Any]) -> None:
    api.request("POST", f"{P}/create", json={"name": "dup"})
    exc = raises(Conflict, api.request, "POST", f"{P}/create", json={"name": "dup"})
    assert exc.code == "CONFLICT"
    exc = raises(NotFound, api.request, "GET", f"{P}/get/proj_nope")
    assert exc.code == "NOT_FOUND"
    exc = raises(ApiStatusError, api.request, "POST", f"{P}/create", json={"name": ""})
    assert (exc.status, exc.code, exc.field) == (400, "VALIDATION_ERROR", "name")
    stranger = InfraiClient(BASE, "ifr_pk_proj_" + "0" * 40, http=emulator)
    exc = raises(Unauthenticated, stranger.request, "GET", f"{P}/list")
    assert exc.code == "UNAUTHENTICATED"


def test_lost_response_is_retried_and_replayed(api: InfraiClient, emulator: httpx.Client, sleeps: list[float]) -> None:
    rule = {"method": "POST", "path": f"{P}/create", "status": 500, "nth": 1, "after_commit": True}
    assert emulator.post(f"{BASE}/_emulator/faults", json={"rules": [rule]}).status_code == 200
    response = api.request("POST", f"{P}/create", json={"name": "once"}, idempotency_key="lost-1")
    assert (response.attempts, response.replayed, len(sleeps)) == (2, True, 1)
    names = [p["name"] for p in api.list_all(f"{P}/list")]
    assert names.count("once") == 1
