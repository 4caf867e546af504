"""`reconcile doctor` over real HTTP (uvicorn on a free loopback port): every point passes
against the emulator; against the emulator behind a middleware that renames a field, ignores
`limit` and renames the cursor, doctor names each divergence and what it would break."""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from e2e_support import Emulator, live_server

ACCOUNT = """
projects:
  - name: web
    keys: [{name: ci}]
  - name: api
webhooks:
  - {url: "https://hooks.example.com/a", events: [budget.alert]}
  - {url: "https://hooks.example.com/b", events: [key.rotated]}
members:
  - {email: a@example.com, role: viewer}
  - {email: b@example.com, role: developer}
bandwidth_alerts:
  - threshold: 1GiB
"""

Rewrite = Callable[[str, dict[str, str], Any], Any]


def rewriting(app: Any, rewrite: Rewrite) -> Any:
    """The ASGI app with each JSON answer to a GET passed through `rewrite(path, query, body)`."""

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await app(scope, receive, send)
            return
        query = dict(p.split("=", 1) for p in scope.get("query_string", b"").decode().split("&") if "=" in p)
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                body = json.dumps(rewrite(scope["path"], query, json.loads(body))).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


def diverging(path: str, query: dict[str, str], body: Any) -> Any:
    """Two of the divergences, one per list (the third, an ignored `limit`, is in the test)."""
    if path == "/v1/account/webhooks/list":  # a renamed field
        body["items"] = [{("event_types" if k == "events" else k): v for k, v in i.items()} for i in body["items"]]
    if path == "/v1/account/members/list":  # the cursor under another name
        body["cursor"] = body.pop("next_cursor")
    return body


@dataclass
class Served:
    emulator: Emulator
    serve: Callable[[Callable[[Any], Any] | None], dict[str, str]]


@pytest.fixture
def served(tmp_path, run_cli) -> Iterator[Served]:
    """The populated emulator; `serve(wrap)` serves `wrap(app)` (the app as is with None) and returns the env."""
    emu = Emulator(tmp_path / "doctor.db")
    (tmp_path / "account.yaml").write_text(ACCOUNT)
    assert run_cli("apply", "account.yaml", "--local", str(emu.db), "--auto-approve").exit_code == 0
    with ExitStack() as servers:
        def serve(wrap: Callable[[Any], Any] | None) -> dict[str, str]:
            url = servers.enter_context(live_server(emu.app if wrap is None else wrap(emu.app)))
            return {"INFRAI_API_KEY": emu.key, "INFRAI_BASE_URL": url}

        yield Served(emu, serve)
    emu.close()


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_every_point_passes_against_the_emulator(served, run_cli):
    methods: list[str] = []

    def recording(app: Any) -> Any:
        async def recorded(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                methods.append(scope["method"])
            await app(scope, receive, send)

        return recorded

    env = served.serve(recording)
    text = run_cli("doctor", env=env)
    assert text.exit_code == 0, text.output
    assert methods and set(methods) == {"GET"}  # read-only: nothing is written to the account
    assert "0 warning(s), 0 failed." in text.stdout
    report = json.loads(run_cli("doctor", "--format", "json", env=env).stdout)
    checks = by_name(report)
    assert report["ok"] and {c["status"] for c in report["checks"]} == {"pass"}
    expected = {"auth", "scopes", "errors", "rate limits", "clock", "list tier", "list keys", "pages projects",
                "pages members", "pages webhooks", "pages keys", "list bandwidth_alerts"}
    assert expected <= set(checks)
    assert checks["auth"]["detail"].startswith("account acct_") and "tier standard, status active" in checks["auth"]["detail"]
    # Over HTTP the clock point reads uvicorn's Date header.
    assert checks["clock"]["detail"].startswith("Date is ")


def test_doctor_names_each_divergence_of_a_fake_server_and_what_it_breaks(served, run_cli):
    every_project = served.emulator.items("/v1/account/projects/list")
    assert len(every_project) == 3

    def fake(path: str, query: dict[str, str], body: Any) -> Any:
        body = diverging(path, query, body)
        if path == "/v1/account/projects/list" and query.get("limit") == "1":
            # `limit` ignored: every project in one page, no cursor.
            body.update(items=every_project, next_cursor=None)
        return body

    env = served.serve(lambda app: rewriting(app, fake))
    result = run_cli("doctor", "--format", "json", env=env)
    assert result.exit_code == 1, result.output
    checks = by_name(json.loads(result.stdout))
    failed = {name for name, c in checks.items() if c["status"] == "fail"}
    assert failed == {"list webhooks", "pages projects", "pages members"}, checks
    hooks = checks["list webhooks"]
    assert hooks["detail"] == "items lack `events`"
    assert "plan an update on every run" in hooks["breaks"]
    projects = checks["pages projects"]
    assert projects["detail"] == "`limit` ignored: asked for 1 item, got 3"
    assert "limit=1000" in projects["breaks"]
    members = checks["pages members"]
    assert members["detail"] == "no `next_cursor` although more items follow; the cursor seems to come as `cursor`"
    assert "only the first page of members" in members["breaks"]
    text = run_cli("doctor", env=env)
    # One list check per kind: the count follows the registry (text and JSON agree on it).
    assert text.exit_code == 1 and f"{len(checks) - 3} passed, 0 warning(s), 3 failed." in text.stdout
    assert "FAIL  list webhooks" in text.stdout and "would break: plan would see `events` as unset" in text.stdout


def test_a_key_without_read_scope_fails_auth_naming_the_scope(served, run_cli):
    env = served.serve(None)
    writer = served.emulator.post("/v1/account/keys/create", {"name": "writer", "scopes": ["projects:write"]})
    reader = served.emulator.post("/v1/account/keys/create", {"name": "reader", "scopes": ["account:read"]})
    denied = run_cli("doctor", "--format", "json", env={**env, "INFRAI_API_KEY": writer["key_secret"]})
    assert denied.exit_code == 1
    auth = by_name(json.loads(denied.stdout))["auth"]
    assert auth["status"] == "fail" and "INSUFFICIENT_SCOPE" in auth["detail"] and "'account:read'" in auth["detail"]
    # Reading works; what the key cannot change is a warning naming the kinds apply would fail on.
    limited = run_cli("doctor", "--format", "json", env={**env, "INFRAI_API_KEY": reader["key_secret"]})
    assert limited.exit_code == 0, limited.output
    scopes = by_name(json.loads(limited.stdout))["scopes"]
    assert scopes["status"] == "warn" and "lacks bandwidth:write, billing:write" in scopes["detail"]
    assert "apply fails with 403 on changes to autorecharge, bandwidth_alerts, budget" in scopes["breaks"]


def test_an_unreachable_endpoint_is_an_error_not_a_traceback(run_cli):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    result = run_cli("doctor", "--endpoint", "http://127.0.0.1:1", "--retries", "0",
                     env={"INFRAI_API_KEY": "ifr_pk_proj_doctor"})
    assert result.exit_code == 1
    assert "could not reach http://127.0.0.1:1/v1/account/whoami: connection refused" in result.stderr
    assert "Traceback" not in result.output
