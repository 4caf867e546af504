"""InfraiClient requests: URLs, headers, idempotency header, replayed flag, events and log
lines, request counting under threads, and ownership of the httpx client."""

from __future__ import annotations

import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import httpx
import pytest

from client_fakes import BASE, SECRET, Server, error, ok  # type: ignore[import-not-found]
from reconcile import __version__
from reconcile.client import ClientLimits, InfraiClient, RequestEvent, RetryPolicy


def test_absolute_url_from_our_base_and_headers(server: Server) -> None:
    server.answer(ok({"id": "proj_1"}))
    # The http client's own base_url is ignored: requests go to URLs built from ours.
    with httpx.Client(transport=httpx.MockTransport(server), base_url="http://elsewhere") as http:
        client = InfraiClient(BASE + "/", SECRET, http=http)
        response = client.request("get", "/v1/account/projects/proj_1", params={"include_revoked": True})
    sent = server.requests[0]
    assert str(sent.url) == f"{BASE}/v1/account/projects/proj_1?include_revoked=true"
    assert sent.method == "GET" and sent.content == b""
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"] == f"infrai-reconcile/{__version__}"
    assert "idempotency-key" not in sent.headers
    assert (response.status, response.data, response.replayed, response.attempts) == (200, {"id": "proj_1"}, False, 1)


def test_base_url_with_a_path_prefix(server: Server) -> None:
    server.answer(ok())
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        InfraiClient("http://127.0.0.1:8080/api/", SECRET, http=http).get("/v1/account/tier")
    assert str(server.requests[0].url) == "http://127.0.0.1:8080/api/v1/account/tier"


def test_idempotency_key_as_header_body_untouched(client: InfraiClient, server: Server) -> None:
    server.answer(ok({"key_id": "key_1"}, status=201, headers={"Idempotent-Replayed": "true"}))
    body = {"name": "ci", "scopes": []}
    response = client.request("POST", "/v1/account/keys/create", json=body, idempotency_key="apply-7-key-ci")
    assert server.requests[0].headers["idempotency-key"] == "apply-7-key-ci"
    assert server.bodies() == [body]
    assert response.replayed and response.status == 201
    assert response.headers["idempotent-replayed"] == "true"


def test_empty_success_body_is_none(client: InfraiClient, server: Server) -> None:
    server.answer(httpx.Response(204))
    assert client.request("DELETE", "/v1/account/webhooks/wh_1", idempotency_key="k").data is None


def test_get_shortcut_passes_params(client: InfraiClient, server: Server) -> None:
    server.answer(ok({"period": "monthly"}))
    assert client.get("/v1/account/budget", start="2026-01-01", limit=5) == {"period": "monthly"}
    assert server.requests[0].url.params == httpx.QueryParams({"start": "2026-01-01", "limit": "5"})
    client.get("/v1/account/budget")
    assert server.requests[1].url.query == b""


def test_events_and_debug_log_lines_without_bodies(make_client: Callable[..., InfraiClient], server: Server,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    events: list[RequestEvent] = []
    client = make_client(on_event=events.append)
    server.answer(httpx.ReadError("reset"), error(503, "UNAVAILABLE"), ok({"secret": "whsec_TOPSECRET"}))
    with caplog.at_level(logging.DEBUG, logger="reconcile.client.http"):
        client.request("POST", "/v1/account/webhooks/register", json={"secret": "whsec_TOPSECRET"},
                       idempotency_key="k")
    assert [(e.method, e.path, e.status, e.attempt, e.error) for e in events] == [
        ("POST", "/v1/account/webhooks/register", None, 1, "ReadError"),
        ("POST", "/v1/account/webhooks/register", 503, 2, "UNAVAILABLE"),
        ("POST", "/v1/account/webhooks/register", 200, 3, None),
    ]
    assert all(e.elapsed_ms >= 0 for e in events)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.rsplit(", ", 1)[0] for line in lines] == [
        "request: POST /v1/account/webhooks/register -> ReadError (attempt 1",
        "request: POST /v1/account/webhooks/register -> 503 (attempt 2",
        "request: POST /v1/account/webhooks/register -> 200 (attempt 3",
    ]
    assert all(line.endswith(" ms)") for line in lines)
    assert not any("TOPSECRET" in line or SECRET in line for line in caplog.text.splitlines())


def test_request_count_is_exact_under_32_threads(make_client: Callable[..., InfraiClient], server: Server,
                                                 sleeps: list[float]) -> None:
    lock = threading.Lock()
    seen = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        # Every third request overall fails once, so retries are counted too.
        nonlocal seen
        with lock:
            seen += 1
            n = seen
        return error(503, "UNAVAILABLE") if n % 3 == 0 else ok({"n": n})

    server.answer(flaky)
    client = make_client()
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda i: client.request("GET", f"/v1/account/projects/p{i}"), range(640)))
    assert len(responses) == 640
    assert client.request_count == seen == sum(r.attempts for r in responses)
    assert client.request_count == 640 + len(sleeps)


def test_given_http_client_is_not_closed(server: Server) -> None:
    http = httpx.Client(transport=httpx.MockTransport(server))
    with InfraiClient(BASE, SECRET, http=http):
        pass
    assert not http.is_closed
    http.close()


def test_own_http_client_built_with_limits_and_closed() -> None:
    with InfraiClient(BASE, SECRET, limits=ClientLimits(timeout=5.0, connect_timeout=2.0), max_connections=17) as client:
        clients = client._clients
        # Split into clients of at most 8 connections (one shared by many threads is CPU-bound).
        assert len(clients) == 3
        for http in clients:
            assert http.timeout == httpx.Timeout(5.0, connect=2.0)
            assert http.headers["authorization"] == f"Bearer {SECRET}"
            pool = http._transport._pool  # type: ignore[attr-defined]
            assert (pool._max_connections, pool._max_keepalive_connections) == (6, 6)
    assert all(http.is_closed for http in clients)


def _tls_of(http: httpx.Client) -> Any:
    return http._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_own_clients_share_one_tls_context_that_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trust store is loaded once, not once per httpx.Client (~60 ms each); every
    context still verifies certificates and host names."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for base, loads_trust_store in (("https://api.example.test", True), ("http://127.0.0.1:9", False)):
        with InfraiClient(base, SECRET, max_connections=32) as client:
            contexts = {id(_tls_of(http)): _tls_of(http) for http in client._clients}
        assert len(client._clients) == 4 and len(contexts) == 1
        (context,) = contexts.values()
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        # Plain http opens no TLS connection: its context trusts nothing (fails closed).
        assert bool(context.cert_store_stats()["x509_ca"]) is loads_trust_store
    # A proxy may be https: then plain http gets the trust store too.
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example.test:3128")
    with InfraiClient("http://127.0.0.1:9", SECRET) as client:
        assert _tls_of(client._clients[0]).cert_store_stats()["x509_ca"] > 0


def test_each_thread_keeps_one_http_client_and_threads_spread_evenly() -> None:
    with InfraiClient(BASE, SECRET, max_connections=32) as client:
        barrier = threading.Barrier(8)

        def pick(_: int) -> tuple[int, int]:
            barrier.wait()  # eight distinct threads
            first = client._client_of_this_thread()
            assert client._client_of_this_thread() is first
            return threading.get_ident(), id(first)

        with ThreadPoolExecutor(8) as pool:
            picks = dict(pool.map(pick, range(8)))
        assert len(client._clients) == 4
        assert sorted(list(picks.values()).count(id(h)) for h in client._clients) == [2, 2, 2, 2]


def test_key_not_in_repr(client: InfraiClient) -> None:
    assert repr(client) == f"InfraiClient({BASE!r})"
    assert SECRET not in repr(client) and SECRET not in str(vars(client).get("_http"))


def test_read_timeout_message_names_our_timeout(raises: Callable[..., Any]) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = InfraiClient(BASE, SECRET, limits=ClientLimits(timeout=2.5), retry=RetryPolicy(max_attempts=1))
    for http in client._clients:
        http._transport = httpx.MockTransport(timeout)  # our own clients, but no sockets
    exc = raises(Exception, client.request, "GET", "/v1/account/tier")
    assert "no answer within the read timeout (2.5 s)" in str(exc)
    client.close()


def test_own_clients_send_what_httpx_would(server: Server) -> None:
    # Our own clients skip httpx's per-call merging (`_send_direct`): the same request must
    # go out as through `http.send(http.build_request(...))`.
    server.answer(ok({"key_id": "key_1"}))
    body = {"name": "ci", "scopes": ["account:read"], "note": "é"}
    with InfraiClient(BASE, SECRET) as client:
        for http in client._clients:
            http._transport = httpx.MockTransport(server)  # type: ignore[attr-defined]
        client.request("POST", "/v1/account/keys/create", json=body, idempotency_key="k-1")
        client.request("GET", "/v1/account/keys/list")
        reference = client._clients[0].build_request("POST", f"{BASE}/v1/account/keys/create", json=body,
                                                     headers={"Idempotency-Key": "k-1"})
    direct, get = server.requests
    assert sorted(direct.headers.multi_items()) == sorted(reference.headers.multi_items())
    assert direct.content == reference.read() and direct.url == reference.url and direct.method == "POST"
    assert "content-type" not in get.headers and get.headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(("method", "path", "body", "key"), [
    ("POST", "/v1/account/keys/create", {"name": "ci", "note": "é"}, "k-1"),
    ("POST", "/v1/account/keys/create", {"name": "ci"}, None),
    ("POST", "/v1/account/keys/delete/key_1", None, "k-2"),  # bodiless: httpx adds Content-Length: 0
    ("GET", "/v1/account/keys/get/key_1", None, None),
    ("DELETE", "/v1/account/keys/key_1", None, "k-3"),
])
def test_own_clients_send_httpx_headers_for_every_shape(server: Server, method: str, path: str, body: Any,
                                                        key: str | None) -> None:
    # `_send_direct` builds the header bytes itself: every header httpx would send (its
    # Content-Length: 0 of a bodiless POST included) and no other, the body byte for byte.
    server.answer(ok({}))
    with InfraiClient(BASE, SECRET) as client:
        for http in client._clients:
            http._transport = httpx.MockTransport(server)  # type: ignore[attr-defined]
        client.request(method, path, json=body, idempotency_key=key)
        reference = client._clients[0].build_request(method, f"{BASE}{path}", json=body,
                                                     headers={"Idempotency-Key": key} if key else None)
    (sent,) = server.requests
    assert sorted(sent.headers.multi_items()) == sorted(reference.headers.multi_items())
    assert sent.read() == reference.read() and sent.url == reference.url and sent.method == method
