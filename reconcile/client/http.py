"""`InfraiClient`: one thread-safe, synchronous httpx client for the Infrai account API.

Must: send every request to an absolute URL built from our `base_url`, with
`Authorization: Bearer <key>`; retry per `RetryPolicy`; turn every failure into an
`ApiError` from `reconcile.errors` (no httpx exception escapes); never put the API key in
an exception, log line or repr; never log bodies (they may hold webhook secrets).

Why sync: the measurements in /work/shared/PERFORMANCE.md show one `httpx.Client` shared by
a thread pool sustaining 32 concurrent requests at 1.10x ideal, where the stock
`AsyncClient` is CPU-bound above ~16. The caller bounds concurrency (its worker count); the
connection pool is sized to match (`max_connections`).

The connections are split among small `httpx.Client`s of about `connections_per_client`
each, a thread always using the same one: one client shared by 32-64 threads spends its
CPU on its pool's lock and scans (httpcore rescans every connection and queued request on
each event). Measured side by side (1,000-create apply, 20 ms latency, 2 cores): one
shared client 0.57 ms CPU a request at 32 threads and 0.92 ms at 64; clients of 8
connections 0.47 ms and 0.48 ms.

Imports: `reconcile.errors`, `reconcile.__version__` and this package only.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Callable, Mapping

import httpx

from reconcile import __version__
from reconcile.client.retry import (
    RETRY_AFTER_STATUSES,
    SAFE_METHODS,
    RetryPolicy,
    parse_retry_after,
)
from reconcile.errors import ApiError, TransportError, status_error_class

logger = logging.getLogger(__name__)

#: The largest `limit` the API accepts on a list (docs/emulator.md, Pagination).
MAX_PAGE_SIZE = 1000

ENDPOINT_HINT = "Check --endpoint / INFRAI_BASE_URL"

#: Failures raised before the request left this process: the server never saw it, so any
#: method may be retried.
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: httpx failures that are not transport errors (bad URL, undecodable body...): not retried.
_OTHER_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)


@dataclass(frozen=True)
class ApiResponse:
    """A successful (2xx) answer."""

    status: int
    data: Any
    """Parsed JSON (dict or list), or None for an empty body."""
    headers: Mapping[str, str]
    """Case-insensitive (an `httpx.Headers`)."""
    replayed: bool
    """The API answered from its idempotency store (`Idempotent-Replayed: true`)."""
    attempts: int


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP attempt, for progress displays and benchmarks.

    `status` is None when no answer came; `error` is then the httpx failure's class name,
    else the API error code of a 4xx/5xx (None on success).
    """

    method: str
    path: str
    status: int | None
    attempt: int
    elapsed_ms: float
    error: str | None = None


class InfraiClient:
    """Thread-safe: one instance is shared by the executor's worker threads.

    `http`: an `httpx.Client` to send through (a `starlette.testclient.TestClient`, or one
    with an `httpx.MockTransport`), used as is: its own timeout and limits apply, and
    closing it stays with its owner. Requests always go to absolute URLs built from
    `base_url`, so any `base_url` of `http` is ignored. Without `http` the client builds
    (and owns) one with `timeout` and a pool of `max_connections`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        user_agent: str = f"infrai-reconcile/{__version__}",
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = 64,
        connections_per_client: int = 8,
        on_event: Callable[[RequestEvent], None] | None = None,
    ) -> None:
        self._base, self._display_base = _check_base_url(base_url)
        self._secret = api_key
        self._retry = retry
        self._sleep = sleep
        self._on_event = on_event
        self._count = 0
        self._count_lock = threading.Lock()
        headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        if http is None:
            # ceil(max / per) clients of ceil(max / clients) connections; threads are dealt
            # to them round robin, so up to `max_connections` threads spread evenly (a thread
            # finding its client's connections all busy waits for one, as with one client).
            count = max(1, -(-max_connections // max(1, connections_per_client)))
            per_client = max(1, -(-max_connections // count))
            self._clients = tuple(
                httpx.Client(
                    timeout=timeout,
                    limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
                    headers=headers,
                )
                for _ in range(count)
            )
            self._owns_http = True
            # Our own clients carry the headers already: nothing to merge per request.
            self._headers: dict[str, str] = {}
        else:
            self._clients = (http,)
            self._owns_http = False
            self._headers = headers
        self._http = self._clients[0]
        self._thread_client = threading.local()
        self._next_client = 0
        self._timeout = timeout

    # -- public API ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._display_base

    @property
    def request_count(self) -> int:
        """HTTP attempts sent so far, retries included."""
        return self._count

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> ApiResponse:
        """Send one API call, retrying per the policy; return its 2xx answer.

        Must raise the `status_error_class` of a final 3xx/4xx/5xx, `TransportError` when
        no answer came, `ApiError` for anything else httpx refuses. `json` is sent as is:
        the idempotency key travels only in the `Idempotency-Key` header.
        """
        method = method.upper()
        if not path.startswith("/"):
            raise ApiError(f"API path must start with '/', not {path!r}", method, path)
        url = self._base + path
        display = self._display_base + path
        has_key = idempotency_key is not None
        headers: dict[str, str] | None = self._headers or None
        if idempotency_key is not None:
            headers = {**self._headers, "Idempotency-Key": idempotency_key}
        policy = self._retry
        attempt = 0
        while True:
            attempt += 1
            with self._count_lock:
                self._count += 1
            started = time.perf_counter()
            failure: ApiError | None = None
            try:
                http = self._http if len(self._clients) == 1 else self._client_of_this_thread()
                response = http.request(method, url, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                self._note(method, path, None, attempt, started, type(exc).__name__)
                nothing_sent = isinstance(exc, _NOTHING_SENT)
                if attempt < policy.max_attempts and policy.may_retry_transport(method, has_key, nothing_sent):
                    self._sleep(policy.backoff(attempt - 1))
                    continue
                failure = self._transport_error(exc, method, display, attempt, nothing_sent, has_key)
            except _OTHER_HTTPX_ERRORS as exc:
                self._note(method, path, None, attempt, started, type(exc).__name__)
                message = f"{method} {display} failed: {type(exc).__name__}: {exc}"
                failure = ApiError(self._scrub(message), method, display)
            if failure is not None:
                # Raised outside the except block so httpx's exception does not ride along
                # as __context__: its text is unscrubbed and it holds the request, whose
                # headers carry the key. Our message already names what happened.
                raise failure

            status = response.status_code
            if status < 300:
                self._note(method, path, status, attempt, started, None)
                return ApiResponse(
                    status=status,
                    data=self._decode(response, method, display),
                    headers=response.headers,
                    replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
                    attempts=attempt,
                )

            body, code, message, field = _error_parts(response)
            self._note(method, path, status, attempt, started, code)
            wait = parse_retry_after(response.headers.get("retry-after")) if status in RETRY_AFTER_STATUSES else None
            if attempt < policy.max_attempts and policy.may_retry_status(status, method, has_key, code):
                if wait is None:
                    self._sleep(policy.backoff(attempt - 1))
                    continue
                if wait <= policy.max_retry_after:
                    self._sleep(wait)
                    continue
                # Waiting that long would stall the whole run: give up and say when to retry.
                message += f"; the API asks to wait {_when(wait)}, longer than the {policy.max_retry_after:g} s this client waits"
            elif wait is not None:
                message += f"; the API asks to wait {_when(wait)}"
            if attempt > 1:
                message += f" (after {attempt} attempts)"
            if 300 <= status < 400:
                location = response.headers.get("location")
                message += f"; redirected to {location}" if location else "; redirected"
                message += f". {ENDPOINT_HINT}: it must name the API itself"
            raise status_error_class(status)(
                status, code, self._scrub(message), method, display, body, field
            )

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` with `params` as the query string; its parsed JSON."""
        return self.request("GET", path, params=params or None).data

    def list_all(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        paginated: bool = True,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[dict]:
        """Every item of a list endpoint, following `next_cursor` to the last page.

        `paginated=False`: one GET, its `items` (lists documented without pagination).
        Must raise `ApiError` if the API hands back a cursor it gave before, rather than
        loop forever.
        """
        display = self._display_base + path
        if not paginated:
            return _page_items(self.request("GET", path, params=params).data, display)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, not {page_size}")
        query: dict[str, Any] = dict(params or {})
        query["limit"] = page_size
        items: list[dict] = []
        seen: set[str] = set()
        pages = 0
        while True:
            page = self.request("GET", path, params=query).data
            pages += 1
            items.extend(_page_items(page, display))
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            if cursor in seen:
                raise ApiError(
                    f"GET {display}: page {pages} repeats the cursor {cursor!r} of an earlier "
                    f"page; stopped rather than list forever (the API is misbehaving)",
                    "GET",
                    display,
                )
            seen.add(cursor)
            query["cursor"] = cursor

    def close(self) -> None:
        """Close the connection pools if this client built them; a given `http` stays open."""
        if self._owns_http:
            for http in self._clients:
                http.close()

    def __enter__(self) -> InfraiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InfraiClient({self._display_base!r})"

    # -- internals ----------------------------------------------------------------------

    def _client_of_this_thread(self) -> httpx.Client:
        """The `httpx.Client` this thread sends through: dealt round robin on first use."""
        try:
            return self._thread_client.http  # type: ignore[no-any-return]
        except AttributeError:
            with self._count_lock:
                http = self._clients[self._next_client % len(self._clients)]
                self._next_client += 1
            self._thread_client.http = http
            return http

    def _note(self, method: str, path: str, status: int | None, attempt: int, started: float,
              error: str | None) -> None:
        """Log and report one attempt (path only: query strings and bodies stay out)."""
        on_event = self._on_event
        debug = logger.isEnabledFor(logging.DEBUG)
        if on_event is None and not debug:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if debug:
            outcome = status if error is None or status is not None else error
            logger.debug("request: %s %s -> %s (attempt %d, %.1f ms)", method, path, outcome, attempt, elapsed_ms)
        if on_event is not None:
            on_event(RequestEvent(method, path, status, attempt, elapsed_ms, error))

    def _decode(self, response: httpx.Response, method: str, display: str) -> Any:
        content = response.content
        if not content:
            return None
        try:
            return jsonlib.loads(content)
        except ValueError:
            snippet = response.text[:200]
            raise ApiError(
                self._scrub(
                    f"{method} {display} answered HTTP {response.status_code} with a body that is "
                    f"not JSON: {snippet!r}. {ENDPOINT_HINT}: it must name the Infrai API"
                ),
                method,
                display,
            ) from None

    def _transport_error(self, exc: httpx.TransportError, method: str, display: str, attempts: int,
                         nothing_sent: bool, has_key: bool) -> TransportError:
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        reason = self._describe(exc)
        if nothing_sent:
            message = f"could not reach {display}: {reason}{tries}. {ENDPOINT_HINT}"
        else:
            message = f"{method} {display}: {reason}{tries}."
            if method not in SAFE_METHODS and not has_key:
                message += " The request may or may not have taken effect; run plan again to see."
            message += f" {ENDPOINT_HINT} and the network"
        return TransportError(self._scrub(message), method, display)

    def _describe(self, exc: httpx.TransportError) -> str:
        detail = str(exc)
        lowered = detail.lower()
        if isinstance(exc, httpx.ConnectTimeout):
            return "connection timed out"
        if isinstance(exc, httpx.PoolTimeout):
            return "timed out waiting for a free pooled connection (too many concurrent requests)"
        if isinstance(exc, httpx.ReadTimeout):
            return f"no answer within the read timeout ({self._timeout:g} s)" if self._owns_http else "no answer within the read timeout"
        if isinstance(exc, httpx.WriteTimeout):
            return "timed out sending the request"
        if isinstance(exc, httpx.ConnectError):
            if "refused" in lowered:
                return "connection refused"
            if any(s in lowered for s in ("name or service", "nodename nor servname", "name resolution", "getaddrinfo")):
                return "host name not found"
            if "certificate" in lowered or "ssl" in lowered:
                return f"TLS handshake failed ({detail})"
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"the server closed the connection without a valid answer ({detail or 'no detail'})"
        if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
            return f"the connection dropped ({detail or type(exc).__name__})"
        return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__

    def _scrub(self, text: str) -> str:
        """Blank the API key should anything (a server echo, an httpx detail) carry it."""
        return text.replace(self._secret, "***") if self._secret else text


def _check_base_url(base_url: str) -> tuple[str, str]:
    """(URL prefix to send to, the same without credentials for messages); ApiError if bad."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        # The raw value may hold credentials (user:pass@host): never quote it whole.
        shown = re.sub(r"//[^/@]*@", "//", base_url) if isinstance(base_url, str) else type(base_url).__name__
        raise ApiError(
            f"invalid API endpoint {shown!r}: it must be an http:// or https:// URL such as "
            f"https://api.infrai.cc. {ENDPOINT_HINT}"
        )
    prefix = str(url.copy_with(query=None, fragment=None)).rstrip("/")
    display = f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}".rstrip("/")
    return prefix, display


def _error_parts(response: httpx.Response) -> tuple[Any, str, str, str | None]:
    """(body, code, message, field) of an error answer, from the API's JSON error shape.

    A body that is not that shape (a proxy's HTML page, plain text) gets code `HTTP_<status>`
    and its first 200 characters as the message.
    """
    body: Any = None
    content = response.content
    if content:
        try:
            body = jsonlib.loads(content)
        except ValueError:
            body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        field = error.get("field")
        return body, error["code"], str(error.get("message") or ""), field if isinstance(field, str) else None
    text = response.text[:200].strip() if content else ""
    return (body if body is not None else text), f"HTTP_{response.status_code}", text or response.reason_phrase, None


def _page_items(page: Any, display: str) -> list[dict]:
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise ApiError(f"GET {display}: expected a list page {{items, next_cursor}}, got {type(page).__name__}",
                       "GET", display)
    return items


def _when(seconds: float) -> str:
    """'120 s (until 14:02:00 UTC)': how long and until when, for a Retry-After."""
    until = datetime.fromtimestamp(time.time() + seconds, timezone.utc).strftime("%H:%M:%S UTC")
    return f"{seconds:.0f} s (until {until})"
