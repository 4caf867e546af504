"""Every failure becomes one of our errors, with the API's code, message and field, and with
the API key nowhere in it (the `raises` fixture checks str/repr of each and its causes)."""

from __future__ import annotations

from typing import Any, Callable

import httpx
import pytest

from client_fakes import BASE, SECRET, Server, error, ok  # type: ignore[import-not-found]
from reconcile.client import InfraiClient, RetryPolicy
from reconcile.errors import (
    ApiError,
    ApiStatusError,
    Conflict,
    Forbidden,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    TransportError,
    Unauthenticated,
    Unprocessable,
)

URL = f"{BASE}/v1/account/projects/create"


@pytest.mark.parametrize(
    "status, code, field, cls",
    [
        (400, "VALIDATION_ERROR", "scopes[2]", ApiStatusError),
        (401, "UNAUTHENTICATED", None, Unauthenticated),
        (402, "BUDGET_EXCEEDED", None, PaymentRequired),
        (403, "INSUFFICIENT_SCOPE", None, Forbidden),
        (404, "NOT_FOUND", None, NotFound),
        (405, "METHOD_NOT_ALLOWED", None, ApiStatusError),
        (409, "CONFLICT", "name", Conflict),
        (422, "IDEMPOTENCY_KEY_REUSED", None, Unprocessable),
        (429, "RATE_LIMITED", None, RateLimited),
        (500, "INTERNAL", None, ServerError),
        (503, "UNAVAILABLE", None, ServerError),
    ],
)
def test_status_maps_to_error_class(make_client: Callable[..., InfraiClient], server: Server,
                                    raises: Callable[..., Any], status: int, code: str,
                                    field: str | None, cls: type[ApiStatusError]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(error(status, code, f"what went wrong with {code}", field))
    exc = raises(cls, client.request, "POST", "/v1/account/projects/create", json={"name": "a"})
    assert type(exc) is cls
    assert (exc.status, exc.code, exc.api_message, exc.field) == (status, code, f"what went wrong with {code}", field)
    assert (exc.method, exc.url) == ("POST", URL)
    assert exc.body == {"error": {"code": code, "message": f"what went wrong with {code}",
                                  **({"field": field} if field else {})}}
    expected = f"POST {URL} failed: HTTP {status} {code}: what went wrong with {code}"
    assert str(exc).startswith(expected + (f" (field {field})" if field else ""))
    assert str(exc).endswith(cls.hint)


def test_insufficient_credit_ends_with_the_top_up_hint(client: InfraiClient, server: Server,
                                                       raises: Callable[..., Any]) -> None:
    server.answer(error(402, "INSUFFICIENT_CREDIT", "wallet balance 0.00 USD"))
    exc = raises(PaymentRequired, client.request, "POST", "/v1/account/projects/create", json={})
    assert str(exc) == (
        f"POST {URL} failed: HTTP 402 INSUFFICIENT_CREDIT: wallet balance 0.00 USD. "
        "Top up the wallet (POST /v1/account/topup) or raise the budget's hard cap"
    )


def test_non_json_error_body(client: InfraiClient, server: Server, raises: Callable[..., Any]) -> None:
    page = "<html><body>" + "Bad gateway. " * 40 + "</body></html>"
    server.answer(httpx.Response(418, text=page, headers={"content-type": "text/html"}))
    exc = raises(ApiStatusError, client.request, "GET", "/v1/account/projects")
    assert (exc.status, exc.code, exc.field) == (418, "HTTP_418", None)
    assert exc.api_message == page[:200]
    assert str(exc).startswith(f"GET {BASE}/v1/account/projects failed: HTTP 418 HTTP_418: <html><body>Bad")


def test_json_body_not_in_error_shape_and_empty_body(make_client: Callable[..., InfraiClient], server: Server,
                                                     raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(httpx.Response(502, json={"detail": "upstream"}))
    exc = raises(ServerError, client.request, "GET", "/v1/account/projects")
    assert (exc.code, exc.api_message, exc.body) == ("HTTP_502", '{"detail":"upstream"}', {"detail": "upstream"})
    server.script[:] = [httpx.Response(404)]
    exc = raises(NotFound, client.request, "GET", "/v1/account/projects")
    assert (exc.code, exc.api_message) == ("HTTP_404", "Not Found")


def test_redirect_is_an_error_naming_the_endpoint_flag(client: InfraiClient, server: Server,
                                                       raises: Callable[..., Any]) -> None:
    server.answer(httpx.Response(301, headers={"location": "https://www.example.test/"}))
    exc = raises(ApiStatusError, client.request, "GET", "/v1/account/projects")
    assert "redirected to https://www.example.test/. Check --endpoint / INFRAI_BASE_URL" in str(exc)


REACH = f"could not reach {BASE}/v1/account/projects: {{}}. Check --endpoint / INFRAI_BASE_URL"
SENT = (f"GET {BASE}/v1/account/projects: {{}}. Nothing was changed: a read is safe to retry. "
        "Check --endpoint / INFRAI_BASE_URL and the network")


@pytest.mark.parametrize(
    "failure, template, reason",
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), REACH, "connection refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), REACH, "host name not found"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), REACH,
         "TLS handshake failed ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed)"),
        (httpx.ConnectError("weird"), REACH, "ConnectError: weird"),
        (httpx.ConnectTimeout(""), REACH, "connection timed out"),
        (httpx.PoolTimeout(""), REACH, "timed out waiting for a free pooled connection (too many concurrent requests)"),
        (httpx.ReadTimeout("timed out"), SENT, "no answer within the read timeout"),
        (httpx.WriteTimeout("timed out"), SENT, "timed out sending the request"),
        (httpx.RemoteProtocolError(""), SENT, "the server closed the connection without a valid answer (no detail)"),
        (httpx.WriteError(""), SENT, "the connection dropped (WriteError)"),
        (httpx.ProxyError("proxy said no"), SENT, "ProxyError: proxy said no"),
    ],
)
def test_transport_failures_name_host_and_hint(make_client: Callable[..., InfraiClient], server: Server,
                                               raises: Callable[..., Any], failure: Exception, template: str,
                                               reason: str) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(failure)
    exc = raises(TransportError, client.request, "GET", "/v1/account/projects")
    assert str(exc) == template.format(reason)
    assert exc.__cause__ is None and exc.__context__ is None  # no httpx exception escapes


def test_other_httpx_errors_become_api_errors(client: InfraiClient, server: Server,
                                              raises: Callable[..., Any]) -> None:
    server.answer(httpx.DecodingError("bad gzip"))
    exc = raises(ApiError, client.request, "GET", "/v1/account/projects")
    assert str(exc) == f"GET {BASE}/v1/account/projects failed: DecodingError: bad gzip"
    assert len(server.requests) == 1


def test_key_echoed_by_the_server_or_httpx_is_blanked(make_client: Callable[..., InfraiClient], server: Server,
                                                      raises: Callable[..., Any]) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    server.answer(error(401, "UNAUTHENTICATED", f"unknown key {SECRET}"))
    exc = raises(Unauthenticated, client.request, "GET", "/v1/account/projects")
    assert "unknown key ***" in str(exc)
    server.script[:] = [httpx.ReadError(f"dropped for Bearer {SECRET}")]
    exc = raises(TransportError, client.request, "GET", "/v1/account/projects")
    assert "the connection dropped (dropped for Bearer ***)" in str(exc)
    # httpx's own exception (unscrubbed, holding the request) is not chained.
    assert exc.__cause__ is None and exc.__context__ is None


def test_non_json_success_body_is_an_error(client: InfraiClient, server: Server,
                                           raises: Callable[..., Any]) -> None:
    server.answer(httpx.Response(200, text="<html>login</html>"))
    exc = raises(ApiError, client.request, "GET", "/v1/account/projects")
    assert str(exc) == (f"GET {BASE}/v1/account/projects answered HTTP 200 with a body that is not JSON: "
                        "'<html>login</html>'. Check --endpoint / INFRAI_BASE_URL: it must name the Infrai API")


@pytest.mark.parametrize("base", ["api.infrai.cc", "ftp://api.infrai.cc", "https://", "", "http://[::1"])
def test_base_url_must_be_http(base: str, raises: Callable[..., Any]) -> None:
    exc = raises(ApiError, InfraiClient, base, SECRET)
    assert "must be an http:// or https:// URL" in str(exc)
    assert "Check --endpoint / INFRAI_BASE_URL" in str(exc)


def test_base_url_credentials_never_quoted(raises: Callable[..., Any]) -> None:
    exc = raises(ApiError, InfraiClient, "ftp://user:hunter2@host", SECRET)
    assert "hunter2" not in str(exc) and "'ftp://host'" in str(exc)
    client = InfraiClient("https://user:hunter2@api.example.test/", SECRET, http=httpx.Client())
    assert client.base_url == "https://api.example.test" and "hunter2" not in repr(client)


def test_no_json_path_outside_the_api(client: InfraiClient, raises: Callable[..., Any], server: Server) -> None:
    server.answer(ok())
    raises(ApiError, client.request, "GET", "v1/account/projects")
    assert server.requests == []
