"""InfraiClient.list_all: cursors followed to the end with the largest page, a repeated
cursor stops the walk, and unpaginated lists take one GET."""

from __future__ import annotations

from typing import Any, Callable

import httpx
import pytest

from client_fakes import Server, error, ok  # type: ignore[import-not-found]
from reconcile.client import InfraiClient
from reconcile.errors import ApiError, ServerError


def pages(*contents: tuple[list[Any], str | None]) -> list[httpx.Response]:
    return [ok({"items": items, "next_cursor": cursor}) for items, cursor in contents]


def test_follows_next_cursor_to_the_last_page(client: InfraiClient, server: Server) -> None:
    server.answer(*pages(([{"id": 1}, {"id": 2}], "c1"), ([{"id": 3}], "c2"), ([{"id": 4}], None)))
    items = client.list_all("/v1/account/projects", params={"include_revoked": True})
    assert items == [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]
    assert [dict(r.url.params) for r in server.requests] == [
        {"include_revoked": "true", "limit": "1000"},
        {"include_revoked": "true", "limit": "1000", "cursor": "c1"},
        {"include_revoked": "true", "limit": "1000", "cursor": "c2"},
    ]
    assert client.request_count == 3


def test_last_page_without_next_cursor_field(client: InfraiClient, server: Server) -> None:
    server.answer(ok({"items": []}))
    assert client.list_all("/v1/account/members", page_size=10) == []
    assert server.requests[0].url.params["limit"] == "10"


def test_repeated_cursor_raises(client: InfraiClient, server: Server, raises: Callable[..., Any]) -> None:
    server.answer(*pages(([{"id": 1}], "a"), ([{"id": 2}], "b"), ([{"id": 3}], "a")),
                  ok({"items": [{"id": 4}], "next_cursor": None}))
    exc = raises(ApiError, client.list_all, "/v1/account/webhooks")
    assert str(exc) == ("GET https://api.example.test/v1/account/webhooks: page 3 repeats the cursor 'a' of an "
                        "earlier page; stopped rather than list forever (the API is misbehaving)")
    assert len(server.requests) == 3


def test_same_cursor_twice_in_a_row_raises(client: InfraiClient, server: Server,
                                           raises: Callable[..., Any]) -> None:
    server.answer(ok({"items": [{"id": 1}], "next_cursor": "stuck"}))
    raises(ApiError, client.list_all, "/v1/account/projects")
    assert len(server.requests) == 2


def test_unpaginated_list_is_one_get(client: InfraiClient, server: Server) -> None:
    server.answer(ok({"items": [{"key_id": "key_1"}], "next_cursor": "ignored"}))
    assert client.list_all("/v1/account/keys", params={"project_id": "proj_1"}, paginated=False) == [
        {"key_id": "key_1"}
    ]
    assert len(server.requests) == 1
    assert dict(server.requests[0].url.params) == {"project_id": "proj_1"}


def test_page_that_is_not_a_list_page(client: InfraiClient, server: Server, raises: Callable[..., Any]) -> None:
    server.answer(ok({"id": "proj_1"}))
    exc = raises(ApiError, client.list_all, "/v1/account/projects")
    assert str(exc) == ("GET https://api.example.test/v1/account/projects: page 1 is not a list page "
                        "{items, next_cursor} (got an object without items; the API is misbehaving)")


def test_page_errors_propagate_after_retries(client: InfraiClient, server: Server, sleeps: list[float],
                                             raises: Callable[..., Any]) -> None:
    server.answer(*pages(([{"id": 1}], "c1")), error(500, "INTERNAL"), *pages(([{"id": 2}], None)))
    assert client.list_all("/v1/account/projects") == [{"id": 1}, {"id": 2}]
    assert len(sleeps) == 1
    server.script[:] = [error(500, "INTERNAL")]
    raises(ServerError, client.list_all, "/v1/account/projects")


@pytest.mark.parametrize("size", [0, 1001])
def test_page_size_within_the_api_limit(client: InfraiClient, size: int) -> None:
    with pytest.raises(ValueError, match=r"page_size must be within 1\.\.1000"):
        client.list_all("/v1/account/projects", page_size=size)
