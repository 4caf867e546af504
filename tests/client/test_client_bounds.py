"""InfraiClient's bounds against any server (ClientLimits, RetryPolicy.retry_budget): list
caps, answer size (decoded), malformed pages, the retry budget on a fake clock, retry
notices, and what a failed read says. No sockets (the hostile-server e2e suite has them)."""

from __future__ import annotations

import gzip
from typing import Any, Callable

import httpx
import pytest

from client_fakes import BASE, Server, error, ok  # type: ignore[import-not-found]
from reconcile.client import ClientLimits, InfraiClient, RetryNotice, RetryPolicy
from reconcile.errors import ListTooLong, MalformedResponse, RateLimited, ResponseTooLarge, ServerError, TransportError

PROJECTS = "/v1/account/projects/list"


class FakeClock:
    """A monotonic clock that only moves when the client sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def endless(request: httpx.Request) -> httpx.Response:
    n = int(request.url.params.get("cursor", "0"))
    return ok({"items": [{"id": f"p{n}-{i}"} for i in range(10)], "next_cursor": str(n + 1)})


def test_page_cap_names_the_endpoint_and_the_option(make_client: Callable[..., InfraiClient], server: Server,
                                                    raises: Callable[..., Any]) -> None:
    server.answer(endless)
    client = make_client(limits=ClientLimits(max_list_pages=7))
    exc = raises(ListTooLong, client.list_all, PROJECTS)
    assert str(exc) == (f"GET {BASE}{PROJECTS}: more pages after 7 (70 items so far); stopped at the limit of 7 "
                        "pages a list (raise it with --max-list-pages or INFRAI_MAX_LIST_PAGES if the account "
                        "really is that large)")
    assert len(server.requests) == 7


def test_a_list_exactly_at_the_page_cap_is_fine(make_client: Callable[..., InfraiClient], server: Server) -> None:
    server.answer(ok({"items": [{"id": 1}], "next_cursor": "a"}), ok({"items": [{"id": 2}], "next_cursor": None}))
    client = make_client(limits=ClientLimits(max_list_pages=2))
    assert client.list_all(PROJECTS) == [{"id": 1}, {"id": 2}]


def test_item_cap_on_paginated_and_unpaginated_lists(make_client: Callable[..., InfraiClient], server: Server,
                                                     raises: Callable[..., Any]) -> None:
    server.answer(endless)
    client = make_client(limits=ClientLimits(max_list_items=25))
    exc = raises(ListTooLong, client.list_all, PROJECTS)
    assert "more than 25 items (30 in 3 pages)" in str(exc) and "--max-list-items" in str(exc)
    assert len(server.requests) == 3
    server.script[:] = [ok({"items": [{"key_id": str(i)} for i in range(26)]})]
    exc = raises(ListTooLong, client.list_all, "/v1/account/keys/list", paginated=False)
    assert "more than 25 items (26 in 1 page)" in str(exc)


@pytest.mark.parametrize("page, named", [
    ({"items": [{"id": 1}, None]}, "item 2 of page 1 is null, not an object"),
    ({"items": [[1]]}, "item 1 of page 1 is an array, not an object"),
    ({"items": "all"}, "page 1 is not a list page {items, next_cursor} (got items that are a string"),
    ([{"id": 1}], "page 1 is not a list page {items, next_cursor} (got an array"),
    ({"items": [], "next_cursor": {"a": 1}}, "page 1 has a next_cursor that is an object, not a string"),
])
def test_malformed_pages_name_the_page_and_item(client: InfraiClient, server: Server, raises: Callable[..., Any],
                                                page: Any, named: str) -> None:
    server.answer(ok(page))
    exc = raises(MalformedResponse, client.list_all, PROJECTS)
    assert str(exc).startswith(f"GET {BASE}{PROJECTS}: {named}")


def test_body_past_the_cap_is_refused(make_client: Callable[..., InfraiClient], server: Server,
                                      raises: Callable[..., Any]) -> None:
    client = make_client(limits=ClientLimits(max_response_bytes=1000))
    server.answer(ok({"items": [{"id": "x" * 2000}]}))
    exc = raises(ResponseTooLarge, client.request, "GET", PROJECTS)
    assert str(exc).startswith(f"GET {BASE}{PROJECTS}: the answer (HTTP 200) announces ")
    assert "more than the 1,000 bytes this client accepts" in str(exc) and "--max-response-mib" in str(exc)
    assert len(server.requests) == 1  # not retried: the same answer would come back


def test_gzip_is_capped_on_the_decoded_size(make_client: Callable[..., InfraiClient], server: Server,
                                            raises: Callable[..., Any]) -> None:
    client = make_client(limits=ClientLimits(max_response_bytes=100_000))
    bomb = gzip.compress(b'{"items": [' + b" " * 5_000_000 + b"]}")
    assert len(bomb) < 100_000  # small on the wire: only the decoded size can catch it
    server.answer(httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"}))
    exc = raises(ResponseTooLarge, client.request, "GET", PROJECTS)
    assert "the answer (HTTP 200) is larger than the 100,000 bytes" in str(exc)


def test_small_gzip_answer_still_decodes(client: InfraiClient, server: Server) -> None:
    server.answer(httpx.Response(200, content=gzip.compress(b'{"ok": true}'), headers={"content-encoding": "gzip"}))
    assert client.get("/v1/account/tier") == {"ok": True}


def test_deeply_nested_json_is_malformed_not_a_crash(client: InfraiClient, server: Server,
                                                     raises: Callable[..., Any]) -> None:
    server.answer(httpx.Response(200, content=b"[" * 200_000))
    exc = raises(MalformedResponse, client.request, "GET", PROJECTS)
    assert "with a body that is not JSON" in str(exc) or "nested too deeply" in str(exc)


def test_retry_budget_stops_retrying(server: Server, clock: FakeClock, raises: Callable[..., Any]) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        clock.now += 4.0  # each attempt takes 4 s before the server gives up
        return error(503, "UNAVAILABLE")

    server.answer(slow_failure)
    with httpx.Client(transport=httpx.MockTransport(server)) as http:
        client = InfraiClient(BASE, "k" * 20, http=http, sleep=clock.sleep, clock=clock,
                              retry=RetryPolicy(max_attempts=20, base_delay=1.0, max_delay=1.0, retry_budget=10.0))
        exc = raises(ServerError, client.request, "GET", PROJECTS)
    # Attempts end at 4, 9 and 14 s at the most (4 s each plus waits of at most 1 s): no
    # retry starts once it would pass 10 s.
    assert len(server.requests) == 3
    assert clock.now - 1000.0 <= 10.0 + 4.0
    assert "retrying would pass the 10 s a call may take with its retries (--retry-budget)" in str(exc)
    assert str(exc).endswith("(after 3 attempts). The API failed; the request only reads, so it is safe to retry: "
                             "run the command again")


def test_retry_after_beyond_the_budget_gives_up_and_says_when(make_client: Callable[..., InfraiClient],
                                                              server: Server, clock: FakeClock,
                                                              raises: Callable[..., Any]) -> None:
    client = make_client(clock=clock, sleep=clock.sleep, retry=RetryPolicy(max_retry_after=60, retry_budget=20))
    server.answer(error(429, "RATE_LIMITED", headers={"Retry-After": "15"}))
    exc = raises(RateLimited, client.request, "GET", PROJECTS)
    assert clock.sleeps == [15.0]  # the first wait fits; 15 + 15 does not
    assert "the API asks to wait 15 s (until " in str(exc) and "the 20 s a call may take" in str(exc)


def test_each_retry_is_announced_before_its_wait(make_client: Callable[..., InfraiClient], server: Server,
                                                 sleeps: list[float]) -> None:
    notices: list[RetryNotice] = []
    client = make_client(on_retry=notices.append)
    server.answer(error(503, "UNAVAILABLE", headers={"Retry-After": "3"}), httpx.ReadError("reset"), ok({}))
    client.request("GET", PROJECTS)
    assert [(n.attempt, n.max_attempts, n.wait, n.reason) for n in notices] == [
        (1, 6, 3.0, "HTTP 503 UNAVAILABLE, Retry-After: 3 s"),
        (2, 6, sleeps[1], "the connection dropped (reset)"),
    ]
    assert str(notices[0]) == (f"GET {BASE}{PROJECTS}: HTTP 503 UNAVAILABLE, Retry-After: 3 s; waiting 3.0 s "
                               "before attempt 2 of 6")
    assert notices[0].worth_telling and not notices[1].worth_telling  # 3 s wait vs a quick sub-second one


def test_a_failed_read_says_safe_to_retry_a_write_names_its_key(make_client: Callable[..., InfraiClient],
                                                                server: Server, raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(error(500, "INTERNAL"))
    read = raises(ServerError, client.request, "GET", PROJECTS)
    assert "safe to retry" in str(read) and "idempotency key" not in str(read)
    write = raises(ServerError, client.request, "POST", "/v1/account/projects/create", json={}, idempotency_key="k")
    assert str(write).endswith("safe to retry with the same idempotency key")
    server.script[:] = [httpx.ReadTimeout("slow")]
    timeout = raises(TransportError, client.request, "GET", PROJECTS)
    assert "a read is safe to retry" in str(timeout) and "idempotency" not in str(timeout)


def test_server_text_is_one_line_and_short(make_client: Callable[..., InfraiClient], server: Server,
                                           raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(error(400, "VALIDATION_ERROR", "line one\nline two\x1b[2J" + "x" * 5000))
    exc = raises(Exception, client.request, "GET", PROJECTS)
    assert "\n" not in str(exc) and "\x1b" not in str(exc)
    assert "line one line two" in str(exc) and len(str(exc)) < 1000
