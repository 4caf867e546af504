"""InfraiClient retries: which failures, how many times, how long it sleeps, and which
requests are never repeated because repeating them could act twice."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Callable

import httpx
import pytest

from reconcile.client import InfraiClient, RetryPolicy
from reconcile.errors import Conflict, RateLimited, ServerError, TransportError

from client_fakes import Server, error, ok  # type: ignore[import-not-found]


def test_get_retried_on_500_then_succeeds(client: InfraiClient, server: Server, sleeps: list[float]) -> None:
    server.answer(error(500, "INTERNAL"), error(502, "HTTP_502"), ok({"id": "proj_1"}))
    response = client.request("GET", "/v1/account/projects/proj_1")
    assert response.data == {"id": "proj_1"}
    assert response.attempts == 3
    assert client.request_count == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.2 and 0 <= sleeps[1] <= 0.4


def test_retry_after_seconds_honoured_on_503_and_429(client: InfraiClient, server: Server,
                                                       sleeps: list[float]) -> None:
    server.answer(
        error(503, "UNAVAILABLE", headers={"Retry-After": "3"}),
        error(429, "RATE_LIMITED", headers={"Retry-After": "7"}),
        ok({"ok": True}),
    )
    assert client.request("GET", "/v1/account/projects").attempts == 3
    assert sleeps == [3.0, 7.0]


def test_retry_after_http_date_honoured(client: InfraiClient, server: Server, sleeps: list[float]) -> None:
    when = datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() + 30, timezone.utc)
    server.answer(error(429, "RATE_LIMITED", headers={"Retry-After": format_datetime(when, usegmt=True)}), ok())
    client.request("GET", "/v1/account/projects")
    assert len(sleeps) == 1 and 27 <= sleeps[0] <= 30


def test_retry_after_beyond_the_cap_gives_up_at_once(client: InfraiClient, server: Server, sleeps: list[float],
                                                    raises: Callable[..., Any]) -> None:
    server.answer(error(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "3600"}), ok())
    exc = raises(RateLimited, client.request, "GET", "/v1/account/projects")
    assert sleeps == [] and len(server.requests) == 1
    assert "the API asks to wait 3600 s (until " in str(exc)
    assert "longer than the 60 s this client waits" in str(exc)
    assert str(exc).endswith("Rate limited; lower --parallelism or try again later")


def test_429_without_retry_after_backs_off(client: InfraiClient, server: Server, sleeps: list[float]) -> None:
    server.answer(error(429, "RATE_LIMITED"), ok())
    client.request("GET", "/v1/account/projects")
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.2


def test_max_attempts_then_server_error_with_jittered_sleeps(client: InfraiClient, server: Server,
                                                             sleeps: list[float],
                                                             raises: Callable[..., Any]) -> None:
    server.answer(error(500, "INTERNAL", "injected fault"))
    exc = raises(ServerError, client.request, "GET", "/v1/account/projects")
    assert (exc.status, exc.code, exc.api_message) == (500, "INTERNAL", "injected fault (after 6 attempts)")
    assert len(server.requests) == 6 and client.request_count == 6
    assert len(sleeps) == 5
    for n, delay in enumerate(sleeps):
        assert 0 <= delay <= min(10.0, 0.2 * 2**n)


def test_last_429_reports_retry_after(make_client: Callable[..., InfraiClient], server: Server,
                                      sleeps: list[float], raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2))
    server.answer(error(429, "RATE_LIMITED", "over 60 rpm", headers={"Retry-After": "5"}))
    exc = raises(RateLimited, client.request, "GET", "/v1/account/projects")
    assert sleeps == [5.0]
    assert exc.api_message.startswith("over 60 rpm; the API asks to wait 5 s (until ")
    assert exc.api_message.endswith("(after 2 attempts)")


def test_post_without_key_not_retried_on_500(client: InfraiClient, server: Server, sleeps: list[float],
                                             raises: Callable[..., Any]) -> None:
    server.answer(error(500, "INTERNAL"), ok())
    raises(ServerError, client.request, "POST", "/v1/account/projects/create", json={"name": "a"})
    assert len(server.requests) == 1 and sleeps == []


def test_post_without_key_not_retried_on_read_error(client: InfraiClient, server: Server, sleeps: list[float],
                                                    raises: Callable[..., Any]) -> None:
    server.answer(httpx.ReadError("connection reset by peer"), ok())
    exc = raises(TransportError, client.request, "POST", "/v1/account/projects/create", json={"name": "a"})
    assert len(server.requests) == 1 and sleeps == []
    assert str(exc) == (
        "POST https://api.example.test/v1/account/projects/create: the connection dropped "
        "(connection reset by peer). The request may or may not have taken effect; run plan again "
        "to see. Check --endpoint / INFRAI_BASE_URL and the network"
    )


@pytest.mark.parametrize("failure", [httpx.ConnectError("[Errno 111] Connection refused"),
                                     httpx.ConnectTimeout("timed out"), httpx.PoolTimeout("pool")])
def test_post_without_key_retried_when_nothing_was_sent(client: InfraiClient, server: Server,
                                                        sleeps: list[float], failure: Exception) -> None:
    server.answer(failure, ok({"id": "proj_1"}, status=201))
    response = client.request("POST", "/v1/account/projects/create", json={"name": "a"})
    assert (response.status, response.attempts, len(sleeps)) == (201, 2, 1)


@pytest.mark.parametrize("first", [error(500, "INTERNAL"), error(503, "UNAVAILABLE"),
                                   httpx.ReadError("reset"), httpx.RemoteProtocolError("closed"),
                                   httpx.ReadTimeout("timed out")])
def test_post_with_key_retried_with_identical_header_and_body(client: InfraiClient, server: Server,
                                                              first: Any) -> None:
    server.answer(first, first, ok({"id": "proj_1"}, status=201))
    body = {"name": "web", "scopes": ["account:read"]}
    response = client.request("POST", "/v1/account/projects/create", json=body, idempotency_key="idem-42")
    assert response.attempts == 3
    assert [r.headers["idempotency-key"] for r in server.requests] == ["idem-42"] * 3
    # The key travels in the header only: the body is sent as given, every time.
    assert server.bodies() == [body] * 3
    assert body == {"name": "web", "scopes": ["account:read"]}


def test_get_retried_on_every_transport_error(client: InfraiClient, server: Server) -> None:
    server.answer(httpx.ReadTimeout("t"), httpx.RemoteProtocolError("p"), httpx.WriteError("w"),
                  httpx.ReadError("r"), ok([1, 2]))
    assert client.request("GET", "/v1/account/keys").data == [1, 2]
    assert client.request_count == 5


def test_idempotency_in_progress_is_retried(client: InfraiClient, server: Server, sleeps: list[float]) -> None:
    server.answer(error(409, "IDEMPOTENCY_IN_PROGRESS"), ok({"id": "proj_1"}, status=201,
                                                            headers={"Idempotent-Replayed": "true"}))
    response = client.request("POST", "/v1/account/projects/create", json={"name": "a"}, idempotency_key="k1")
    assert response.replayed and response.attempts == 2 and len(sleeps) == 1


def test_plain_conflict_is_not_retried(client: InfraiClient, server: Server, raises: Callable[..., Any]) -> None:
    server.answer(error(409, "CONFLICT", "name taken", "name"), ok())
    exc = raises(Conflict, client.request, "POST", "/v1/account/projects/create", json={"name": "a"},
                 idempotency_key="k1")
    assert (exc.code, exc.field, len(server.requests)) == ("CONFLICT", "name", 1)


def test_transport_error_after_all_attempts(client: InfraiClient, server: Server, sleeps: list[float],
                                            raises: Callable[..., Any]) -> None:
    server.answer(httpx.ConnectError("[Errno 111] Connection refused"))
    exc = raises(TransportError, client.request, "GET", "/v1/account/projects")
    assert str(exc) == ("could not reach https://api.example.test/v1/account/projects: connection refused "
                        "(after 6 attempts). Check --endpoint / INFRAI_BASE_URL")
    assert (exc.method, exc.url, len(sleeps)) == ("GET", "https://api.example.test/v1/account/projects", 5)


def test_single_attempt_policy_never_sleeps(make_client: Callable[..., InfraiClient], server: Server,
                                            sleeps: list[float], raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(error(503, "UNAVAILABLE", headers={"Retry-After": "1"}))
    raises(ServerError, client.request, "GET", "/v1/account/projects")
    assert sleeps == [] and client.request_count == 1
