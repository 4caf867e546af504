"""Fault injection (reconcile/emulator/faults.py): config parsing, determinism, rules, drops."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reconcile.emulator.faults import FaultConfig, FaultMiddleware, FaultRule, InjectedConnectionDrop

with warnings.catch_warnings():
    # starlette 1.10 deprecates httpx in its TestClient (in favour of httpx2, not installed).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

try:
    from .live_server import live_server
except ImportError:  # tests/emulator is not a package: pytest put its folder on sys.path
    from live_server import live_server


def make_app(config: FaultConfig | None = None) -> tuple[FaultMiddleware, list[str]]:
    """A tiny stand-in for the emulator: every handled request is recorded as an effect."""
    effects: list[str] = []

    async def handler(request: Request) -> JSONResponse:
        effects.append(f"{request.method} {request.url.path}")
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/v1/account/keys/create", handler, methods=["POST"]),
            Route("/v1/account/keys/rotate/{id}", handler, methods=["POST"]),
            Route("/v1/account/whoami", handler),
            Route("/_emulator/clock", handler),
            Route("/v1x", handler),
        ]
    )
    return FaultMiddleware(app, config), effects


async def _call(app: FaultMiddleware, method: str, path: str) -> tuple[int | str, dict[str, str], bytes]:
    """One request straight through ASGI; a drop is reported as status "drop"."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [], "http_version": "1.1", "scheme": "http", "root_path": "",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234)}
    try:
        await app(scope, receive, send)
    except InjectedConnectionDrop:
        return "drop", {}, b""
    headers = {k.decode(): v.decode() for k, v in messages[0].get("headers", [])}
    return messages[0]["status"], headers, b"".join(m.get("body", b"") for m in messages[1:])


def statuses(app: FaultMiddleware, n: int, method: str = "GET", path: str = "/v1/account/whoami") -> list[int | str]:
    async def run() -> list[int | str]:
        return [(await _call(app, method, path))[0] for _ in range(n)]

    return asyncio.run(run())


# --- configuration -----------------------------------------------------------------------


def test_from_env_string() -> None:
    config = FaultConfig.from_env_string("latency_ms=20,error_500=0.1,error_503=0.05,error_429=0.05,drop=0.02,seed=7")
    assert config == FaultConfig(latency_ms=20, error_500=0.1, error_503=0.05, error_429=0.05, drop=0.02, seed=7)
    assert FaultConfig.from_env_string("") == FaultConfig()
    assert FaultConfig.from_env_string(" seed = 3 , ") == FaultConfig(seed=3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latency=20", "unknown fault setting 'latency'"),
        ("error_500", "is not name=value"),
        ("error_500=", "is not name=value"),
        ("error_500=lots", "error_500='lots' is not a number"),
        ("latency_ms=1.5", "latency_ms='1.5' is not an integer"),
        ("error_500=1.5", "must be a fraction between 0 and 1"),
        ("drop=-0.1", "must be a fraction between 0 and 1"),
        ("error_500=0.6,error_503=0.6", "sum to 1.2, more than 1"),
        ("latency_ms=-5", "must be an integer >= 0"),
        ("seed=1,seed=2", "given twice"),
        ("rules=x", "unknown fault setting 'rules'"),
    ],
)
def test_from_env_string_rejects_bad_strings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        FaultConfig.from_env_string(text)


def test_dict_round_trip() -> None:
    data = {
        "latency_ms": 5, "error_500": 0.25, "error_503": 0.0, "error_429": 0.0, "drop": 0.0, "seed": 9,
        "rules": [{"method": "post", "path": "/v1/account/keys/create", "status": 500, "nth": 3,
                   "after_commit": True, "retry_after": None}],
    }
    config = FaultConfig.from_dict(data)
    assert config.rules == [FaultRule("POST", "/v1/account/keys/create", 500, nth=3, after_commit=True)]
    assert config.to_dict() == {**data, "rules": [{**data["rules"][0], "method": "POST"}]}  # type: ignore[dict-item]
    assert FaultConfig.from_dict(config.to_dict()) == config
    assert FaultConfig.from_dict({}) == FaultConfig()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({"speed": 1}, "unknown fault config field"),
        ({"error_500": "0.1"}, "must be a fraction"),
        ({"error_500": True}, "must be a fraction"),
        ({"latency_ms": 2.5}, "must be an integer"),
        ({"rules": {}}, "rules must be a list"),
        ({"rules": [{"method": "POST", "path": "/v1/x"}]}, "missing 'status'"),
        ({"rules": [{"method": "POST", "path": "/v1/x", "status": 418}]}, "must be 429, 500, 503 or 'drop'"),
        ({"rules": [{"method": "FETCH", "path": "/v1/x", "status": 500}]}, "not an HTTP method"),
        ({"rules": [{"method": "GET", "path": "/health", "status": 500}]}, "must start with /v1"),
        ({"rules": [{"method": "GET", "path": "/v1/x", "status": 500, "nth": 0}]}, "nth=0 must be an integer >= 1"),
        ({"rules": [{"method": "GET", "path": "/v1/x", "status": 500, "after_commit": "yes"}]}, "must be a boolean"),
        ({"rules": [{"method": "GET", "path": "/v1/x", "status": 500, "when": 1}]}, "unknown fault rule field"),
        ({"rules": ["GET /v1/x"]}, "must be an object"),
    ],
)
def test_from_dict_rejects_bad_config(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultConfig.from_dict(data)


# --- behaviour ---------------------------------------------------------------------------


def test_no_config_injects_nothing() -> None:
    app, effects = make_app()
    assert statuses(app, 20) == [200] * 20
    assert len(effects) == 20


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    config = dict(error_500=0.2, error_503=0.1, error_429=0.1, drop=0.05)
    first = statuses(make_app(FaultConfig(seed=7, **config))[0], 200)
    again = statuses(make_app(FaultConfig(seed=7, **config))[0], 200)
    other = statuses(make_app(FaultConfig(seed=8, **config))[0], 200)
    assert first == again
    assert first != other
    assert set(first) == {200, 500, 503, 429, "drop"}


def test_replacing_the_config_restarts_the_sequence() -> None:
    app, _ = make_app(FaultConfig(seed=7, error_500=0.5))
    first = statuses(app, 50)
    app.config = FaultConfig(seed=7, error_500=0.5)
    assert statuses(app, 50) == first
    app.config = FaultConfig()
    assert statuses(app, 10) == [200] * 10


def test_rates_are_roughly_honoured() -> None:
    n = 4000
    app, effects = make_app(FaultConfig(seed=1, error_500=0.1, error_503=0.05, error_429=0.05, drop=0.02))
    counts = Counter(statuses(app, n))
    for status, rate in ((500, 0.1), (503, 0.05), (429, 0.05), ("drop", 0.02)):
        # Within 5 standard deviations of the binomial: deterministic anyway, but not fragile.
        tolerance = 5 * (n * rate * (1 - rate)) ** 0.5
        assert abs(counts[status] - n * rate) < tolerance, (status, counts)
    assert counts[200] == len(effects)  # faulted calls never reach the app


def test_injected_errors_have_the_contract_shape() -> None:
    async def run() -> list[tuple[int | str, dict[str, str], bytes]]:
        results = []
        for status in (500, 503, 429):
            app, _ = make_app(FaultConfig(rules=[FaultRule("GET", "/v1/account/whoami", status)]))
            results.append(await _call(app, "GET", "/v1/account/whoami"))
        return results

    codes = {500: "INTERNAL", 503: "UNAVAILABLE", 429: "RATE_LIMITED"}
    for status, headers, body in asyncio.run(run()):
        assert isinstance(status, int)
        assert headers["content-type"] == "application/json"
        assert httpx.Response(200, content=body).json() == {"error": {"code": codes[status], "message": "injected fault"}}
        assert headers.get("retry-after") == ("1" if status == 429 else None)


def test_rule_retry_after() -> None:
    app, _ = make_app(FaultConfig(rules=[FaultRule("*", "/v1/account/whoami", 429, retry_after=30)]))
    _, headers, _ = asyncio.run(_call(app, "GET", "/v1/account/whoami"))
    assert headers["retry-after"] == "30"


def test_rule_fails_only_the_nth_matching_call() -> None:
    rule = FaultRule("POST", "/v1/account/keys/create", 500, nth=3)
    app, effects = make_app(FaultConfig(rules=[rule]))
    assert statuses(app, 2, "GET") == [200, 200]  # not matching: not counted
    assert statuses(app, 5, "POST", "/v1/account/keys/create") == [200, 200, 500, 200, 200]
    assert effects.count("POST /v1/account/keys/create") == 4


def test_rule_without_nth_fails_every_matching_call_and_templates_match_one_segment() -> None:
    app, effects = make_app(FaultConfig(rules=[FaultRule("POST", "/v1/account/keys/rotate/{id}", 503)]))
    assert statuses(app, 3, "POST", "/v1/account/keys/rotate/key_1") == [503] * 3
    assert statuses(app, 1, "POST", "/v1/account/keys/rotate/key_1/x") == [404]
    assert statuses(app, 1, "POST", "/v1/account/keys/create") == [200]
    assert effects == ["POST /v1/account/keys/create"]


def test_after_commit_performs_the_call_then_fails_it() -> None:
    rule = FaultRule("POST", "/v1/account/keys/create", 500, nth=1, after_commit=True)
    app, effects = make_app(FaultConfig(rules=[rule]))
    assert statuses(app, 2, "POST", "/v1/account/keys/create") == [500, 200]
    assert effects == ["POST /v1/account/keys/create"] * 2


def test_only_v1_paths_are_affected() -> None:
    app, effects = make_app(FaultConfig(error_500=1.0))
    assert statuses(app, 3, "GET", "/_emulator/clock") == [200] * 3
    assert statuses(app, 1, "GET", "/v1x") == [200]
    assert statuses(app, 1, "GET", "/v1/account/whoami") == [500]


def test_latency_is_added_to_v1_requests() -> None:
    app, _ = make_app(FaultConfig(latency_ms=60))
    started = time.monotonic()
    statuses(app, 2)
    assert time.monotonic() - started >= 0.12
    started = time.monotonic()
    statuses(app, 2, "GET", "/_emulator/clock")
    assert time.monotonic() - started < 0.06


# --- drops, as each client sees them ------------------------------------------------------

DROP_ALL = FaultConfig(drop=1.0)


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_drop_is_a_transport_error_over_uvicorn(http: str) -> None:
    app, effects = make_app(FaultConfig(rules=[FaultRule("POST", "/v1/account/keys/create", "drop", nth=2, after_commit=True)]))
    with live_server(app, http=http) as base, httpx.Client(base_url=base, trust_env=False) as client:
        assert client.post("/v1/account/keys/create").status_code == 200
        with pytest.raises(httpx.TransportError) as info:
            client.post("/v1/account/keys/create")
        assert type(info.value) is httpx.RemoteProtocolError  # the real one, from the socket
        assert client.post("/v1/account/keys/create").status_code == 200  # the client recovers
        app.config = DROP_ALL
        with pytest.raises(httpx.TransportError):
            client.get("/v1/account/whoami")
    assert effects == ["POST /v1/account/keys/create"] * 3  # the dropped call was committed


def test_drop_is_a_transport_error_in_process() -> None:
    app, _ = make_app(DROP_ALL)
    with TestClient(app) as client, pytest.raises(httpx.TransportError, match="connection dropped"):
        client.get("/v1/account/whoami")

    async def via_asgi_transport() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://emulator") as client:
            await client.get("/v1/account/whoami")

    with pytest.raises(httpx.TransportError, match="connection dropped"):
        asyncio.run(via_asgi_transport())


def test_drop_without_raising_server_exceptions_is_an_empty_503() -> None:
    # Documented: a transport that swallows app exceptions cannot express a lost connection.
    app, _ = make_app(DROP_ALL)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/account/whoami")
    assert (response.status_code, response.content) == (503, b"")
