"""`InfraiClient`: one thread-safe, synchronous httpx client for the Infrai account API.

Must: send every request to an absolute URL built from our `base_url`, with
`Authorization: Bearer <key>`; retry per `RetryPolicy`; turn every failure into an
`ApiError` from `reconcile.errors` (no httpx exception escapes); never put the API key or
any other secret it has seen in an exception, log line or repr; never log bodies (they may
hold webhook secrets).

Bounded against any server (`ClientLimits`, docs/network.md): each attempt has a deadline
for the whole exchange (enforced at the socket, `deadline.py`), answers are streamed and cut
off past `max_response_bytes` decoded, list walks stop past `max_list_pages` or
`max_list_items`, and a call stops retrying once its `RetryPolicy.retry_budget` is spent.
Every retry is announced through `on_retry` (the CLI prints the long ones).

Why sync: the measurements in docs/network.md ("Why a synchronous client") show one
`httpx.Client` shared by a thread pool sustaining 32 concurrent requests at 1.10x ideal,
where the stock `AsyncClient` is CPU-bound above ~16. The caller bounds concurrency (its worker count); the
connection pool is sized to match (`max_connections`).

The connections are split among small `httpx.Client`s of about `connections_per_client`
each, a thread always using the same one: one client shared by 32-64 threads spends its
CPU on its pool's lock and scans (httpcore rescans every connection and queued request on
each event). Measured side by side (1,000-create apply, 20 ms latency, 2 cores): one
shared client 0.57 ms CPU a request at 32 threads and 0.92 ms at 64; clients of 8
connections 0.47 ms and 0.48 ms.

Our own clients send through their transport directly (`_send_direct`): one request
template per client (headers built once, URLs of repeated paths parsed once) instead of
httpx's per-call merging, auth/redirect layers and cookie extraction (docs/network.md,
"Cost per request", has the figures).

Imports: errors, redact, `reconcile.__version__` and this package.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Callable, Mapping

import httpx

from reconcile import __version__
from reconcile.client import deadline
from reconcile.client.limits import MAX_PAGE_SIZE, MIB, ClientLimits
from reconcile.client.retry import (
    RETRY_AFTER_STATUSES,
    SAFE_METHODS,
    RetryPolicy,
    parse_retry_after,
)
from reconcile.errors import (
    ApiError,
    ListTooLong,
    MalformedResponse,
    ResponseTooLarge,
    TransportError,
    status_error_class,
)
from reconcile.redact import Redactor

logger = logging.getLogger(__name__)

ENDPOINT_HINT = "Check --endpoint / INFRAI_BASE_URL"

#: Field names whose values are secrets wherever they appear in a request or an answer
#: (a key's `key_secret`, a webhook's signing `secret`). The CLI passes the registry's.
SENSITIVE_FIELDS = frozenset({"key_secret", "secret"})

#: Failures raised before the request left this process: the server never saw it, so any
#: method may be retried.
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: httpx failures that are not transport errors (bad URL, undecodable body...): not retried.
_OTHER_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)

#: How much of a server's own text (an error message, a non-JSON body) a message quotes.
QUOTE_CHARS = 200

#: What httpx adds to a bodiless request of these methods (`_send_direct` sends the same).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NO_BODY = (b"Content-Length", b"0")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


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


#: A retry is worth a line on a terminal when the wait, or the attempt that failed, took
#: at least this long: shorter ones are invisible to a user anyway.
NOTICE_AFTER_S = 2.0


@dataclass(frozen=True)
class RetryNotice:
    """The client is about to wait `wait` seconds, then send attempt `attempt + 1`."""

    method: str
    url: str
    attempt: int
    max_attempts: int
    wait: float
    reason: str
    """Why the attempt failed, e.g. `HTTP 429 RATE_LIMITED, Retry-After: 60 s`."""
    attempt_seconds: float
    """How long the failed attempt took."""

    @property
    def worth_telling(self) -> bool:
        return self.wait >= NOTICE_AFTER_S or self.attempt_seconds >= NOTICE_AFTER_S

    def __str__(self) -> str:
        return (f"{self.method} {self.url}: {self.reason}; waiting {self.wait:.1f} s before attempt "
                f"{self.attempt + 1} of {self.max_attempts}")


class InfraiClient:
    """Thread-safe: one instance is shared by the executor's worker threads.

    `http`: an `httpx.Client` to send through (a `starlette.testclient.TestClient`, or one
    with an `httpx.MockTransport`), used as is: its own timeouts and pool apply, and
    closing it stays with its owner (`limits` still bound the answer's size, the lists,
    and the attempt's time between body chunks). Requests always go to absolute URLs built
    from `base_url`, so any `base_url` of `http` is ignored. Without `http` the client
    builds (and owns) clients with `limits`' timeouts and a pool of `max_connections`.

    `redactor` collects every secret seen (the API key, `sensitive_fields` values sent or
    received) and blanks them in every message; its own one by default.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        limits: ClientLimits = ClientLimits(),
        retry: RetryPolicy = RetryPolicy(),
        user_agent: str = f"infrai-reconcile/{__version__}",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int = 64,
        connections_per_client: int = 8,
        on_event: Callable[[RequestEvent], None] | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        redactor: Redactor | None = None,
        sensitive_fields: frozenset[str] = SENSITIVE_FIELDS,
    ) -> None:
        self._base, self._display_base = _check_base_url(base_url)
        self._redactor = redactor if redactor is not None else Redactor()
        self._redactor.add(api_key)
        self._sensitive = sensitive_fields
        self._limits = limits
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._on_event = on_event
        self._on_retry = on_retry
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
            timeout = httpx.Timeout(limits.timeout, connect=limits.connect_timeout)
            tls = _tls_context(self._base)
            self._clients = tuple(
                httpx.Client(
                    timeout=timeout,
                    limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
                    headers=headers,
                    verify=tls,
                )
                for _ in range(count)
            )
            for client in self._clients:
                if not deadline.install(client):
                    logger.debug("httpx internals changed: attempt deadlines are checked between chunks only")
            # Request templates for `_send_direct`: the headers every client sends, built once.
            self._plain_headers = list(self._clients[0].headers.multi_items())
            self._json_headers = [*self._plain_headers, ("Content-Type", "application/json")]
            self._timeout_extension = timeout.as_dict()
            self._raw_plain_headers, self._raw_json_headers = _encoded(self._plain_headers), _encoded(self._json_headers)
            self._urls: dict[str, tuple[httpx.URL, tuple[bytes, bytes]]] = {}
            self._direct = hasattr(httpx.Client, "_transport_for_url")
            self._owns_http = True
            # Our own clients carry the headers already: nothing to merge per request.
            self._headers: dict[str, str] = {}
        else:
            self._clients = (http,)
            self._owns_http = self._direct = False
            self._headers = headers
        self._http = self._clients[0]
        self._thread_client = threading.local()
        self._next_client = 0

    # -- public API ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._display_base

    @property
    def request_count(self) -> int:
        """HTTP attempts sent so far, retries included."""
        return self._count

    @property
    def limits(self) -> ClientLimits:
        return self._limits

    def redact(self, text: str) -> str:
        """`text` with every secret this client has seen blanked."""
        return self._redactor.redact(text)

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
        no answer came, `ResponseTooLarge` / `MalformedResponse` for an answer it cannot
        use, `ApiError` for anything else httpx refuses. `json` is sent as is: the
        idempotency key travels only in the `Idempotency-Key` header.
        """
        method = method.upper()
        if not path.startswith("/"):
            raise ApiError(f"API path must start with '/', not {path!r}", method, path)
        if json is not None:
            # Before sending: a server echoing the body in its error must not leak these.
            self._redactor.add_fields(json, self._sensitive)
        url = self._base + path
        display = self._display_base + path
        has_key = idempotency_key is not None
        headers: dict[str, str] | None = self._headers or None
        if idempotency_key is not None:
            headers = {**self._headers, "Idempotency-Key": idempotency_key}
        policy = self._retry
        call_started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            with self._count_lock:
                self._count += 1
            started = time.perf_counter()
            failure: ApiError | None = None
            try:
                http = self._http if len(self._clients) == 1 else self._client_of_this_thread()
                response, content = self._attempt(http, method, url, params, json, headers, display)
            except httpx.TransportError as exc:
                self._note(method, path, None, attempt, started, type(exc).__name__)
                nothing_sent = isinstance(exc, _NOTHING_SENT)
                reason = self._describe(exc)
                refusal = None
                if attempt < policy.max_attempts and policy.may_retry_transport(method, has_key, nothing_sent):
                    wait = policy.backoff(attempt - 1)
                    refusal = self._refusal(wait, call_started, asked=False)
                    if refusal is None:
                        self._wait(method, display, attempt, wait, reason, started)
                        continue
                failure = self._transport_error(reason, method, display, attempt, nothing_sent, has_key, refusal)
            except _OTHER_HTTPX_ERRORS as exc:
                self._note(method, path, None, attempt, started, type(exc).__name__)
                failure = ApiError(self._clean(f"{method} {display} failed: {type(exc).__name__}: {exc}", None),
                                   method, display)
            except ApiError as exc:  # an answer too large to read
                self._note(method, path, None, attempt, started, type(exc).__name__)
                failure = exc
            if failure is not None:
                # Raised outside the except block so httpx's exception does not ride along
                # as __context__: its text is unscrubbed and it holds the request, whose
                # headers carry the key. Our message already names what happened.
                raise failure

            status = response.status_code
            if status < 300:
                self._note(method, path, status, attempt, started, None)
                data = self._decode(content, status, method, display)
                if data is not None:
                    self._redactor.add_fields(data, self._sensitive)
                return ApiResponse(
                    status=status,
                    data=data,
                    headers=response.headers,
                    replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
                    attempts=attempt,
                )

            body, code, message, field = _error_parts(status, content, response.reason_phrase)
            self._note(method, path, status, attempt, started, code)
            asked = parse_retry_after(response.headers.get("retry-after")) if status in RETRY_AFTER_STATUSES else None
            if attempt < policy.max_attempts and policy.may_retry_status(status, method, has_key, code):
                wait = policy.backoff(attempt - 1) if asked is None else asked
                refusal = self._refusal(wait, call_started, asked=asked is not None)
                if refusal is None:
                    why = f"HTTP {status} {code}" + (f", Retry-After: {asked:g} s" if asked is not None else "")
                    self._wait(method, display, attempt, wait, why, started)
                    continue
                message += f"; {refusal}"
            elif asked is not None:
                message += f"; the API asks to wait {_when(asked)}"
            if attempt > 1:
                message += f" (after {attempt} attempts)"
            if 300 <= status < 400:
                location = response.headers.get("location")
                message += f"; redirected to {self._clean(location, QUOTE_CHARS)}" if location else "; redirected"
                message += f". {ENDPOINT_HINT}: it must name the API itself"
            raise status_error_class(status)(
                status, code, self._clean(message, None), method, display, self._redactor.redact_data(body), field
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
    ) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following `next_cursor` to the last page.

        `paginated=False`: one GET, its `items` (lists documented without pagination).
        Must raise `MalformedResponse` for a page not in the documented shape (an item that
        is not an object, a cursor that is not a string) or a cursor handed back twice, and
        `ListTooLong` past `max_list_items` or `max_list_pages`, rather than loop or grow
        forever.
        """
        display = self._display_base + path
        limits = self._limits
        if not paginated:
            items = _page_items(self.request("GET", path, params=params).data, display, None)
            if len(items) > limits.max_list_items:
                raise ListTooLong(self._too_many_items(display, len(items), 1), "GET", display)
            return items
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, not {page_size}")
        query: dict[str, Any] = dict(params or {})
        query["limit"] = page_size
        items = []
        seen: set[str] = set()
        pages = 0
        while True:
            page = self.request("GET", path, params=query).data
            pages += 1
            items.extend(_page_items(page, display, pages))
            if len(items) > limits.max_list_items:
                raise ListTooLong(self._too_many_items(display, len(items), pages), "GET", display)
            cursor = page.get("next_cursor")
            if cursor is None or cursor == "":
                return items
            if not isinstance(cursor, str):
                raise MalformedResponse(
                    f"GET {display}: page {pages} has a next_cursor that is {_kind_of(cursor)}, not a string "
                    "(the API is misbehaving)", "GET", display)
            if cursor in seen:
                raise MalformedResponse(
                    self._clean(f"GET {display}: page {pages} repeats the cursor {cursor[:QUOTE_CHARS]!r} of an "
                                f"earlier page; stopped rather than list forever (the API is misbehaving)", None),
                    "GET",
                    display,
                )
            if pages >= limits.max_list_pages:
                raise ListTooLong(
                    f"GET {display}: more pages after {pages:,} ({len(items):,} items so far); stopped at "
                    f"the limit of {limits.max_list_pages:,} pages a list (raise it with --max-list-pages "
                    "or INFRAI_MAX_LIST_PAGES if the account really is that large)", "GET", display)
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

    def _attempt(self, http: httpx.Client, method: str, url: str, params: Mapping[str, Any] | None, json: Any,
                 headers: Mapping[str, str] | None, display: str) -> tuple[httpx.Response, bytes]:
        """One exchange within the attempt deadline: the answer and its decoded body."""
        ends = time.monotonic() + self._limits.timeout
        with deadline.attempt_deadline(ends):
            if self._direct and params is None:
                response = self._send_direct(http, method, url, json, headers)
            else:
                response = http.send(http.build_request(method, url, params=params, json=json, headers=headers),
                                     stream=True)
            try:
                content = self._read_body(response, method, display, ends)
            finally:
                response.close()
        return response, content

    def _send_direct(self, http: httpx.Client, method: str, url: str, json: Any,
                     headers: Mapping[str, str] | None) -> httpx.Response:
        """What `http.send(http.build_request(...), stream=True)` does for our own clients,
        without the per-call work they never need: merging the client's headers, URL and
        cookies into each request, re-parsing the same URL, the auth and redirect layers and
        cookie extraction (a third of the client's CPU a request at 32 threads). The same
        headers and JSON encoding go out; the transport (and its proxy mount) is the one
        `http` would pick."""
        cached = self._urls.get(url)
        if cached is None:
            target = httpx.URL(url)
            cached = (target, (b"Host", target.netloc))
            if len(self._urls) < 4096:  # create paths repeat; paths with ids need not stay
                self._urls[url] = cached
        target, host = cached
        content = None if json is None else jsonlib.dumps(
            json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        template = self._raw_json_headers if json is not None else self._raw_plain_headers
        if template is None:
            fields = self._json_headers if json is not None else self._plain_headers
            if headers:
                fields = [*fields, *headers.items()]
            request = httpx.Request(method, target, headers=fields, content=content,
                                    extensions={"timeout": self._timeout_extension})
        else:
            # The headers httpx.Request(content=...) would send, in its order (Host first,
            # Content-Length last), from bytes encoded once: its per-call normalisation of
            # every header and its body encoding were ~60 us of each request.
            # A bodiless POST gets httpx's automatic `Content-Length: 0`, right after Host.
            raw = [host, _NO_BODY, *template] if content is None and method in _BODY_METHODS else [host, *template]
            if headers:
                raw.extend((k.encode("ascii"), v.encode("ascii")) for k, v in headers.items())
            if content is not None:
                raw.append((b"Content-Length", str(len(content)).encode("ascii")))
            request = httpx.Request(method, target, headers=raw, stream=httpx.ByteStream(content or b""),
                                    extensions={"timeout": self._timeout_extension})
        response = http._transport_for_url(target).handle_request(request)
        response.request = request
        return response

    def _read_body(self, response: httpx.Response, method: str, display: str, ends: float) -> bytes:
        """The decoded body, read chunk by chunk: never more than `max_response_bytes`."""
        cap = self._limits.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(method, display, response.status_code, f"announces {int(declared):,} bytes, more")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise self._too_large(method, display, response.status_code, "is larger")
                chunks.append(chunk)
                if time.monotonic() > ends:
                    # A transport that is not ours (no socket deadline) still stops here.
                    raise deadline.AttemptDeadline("the attempt's deadline passed", request=response.request)
            return b"".join(chunks)
        except MemoryError:
            chunks.clear()
            raise self._out_of_memory(method, display, response.status_code) from None

    def _too_large(self, method: str, display: str, status: int, what: str) -> ResponseTooLarge:
        cap = self._limits.max_response_bytes
        size = f"{cap / MIB:g} MiB" if cap >= MIB else f"{cap:,} bytes"
        return ResponseTooLarge(
            f"{method} {display}: the answer (HTTP {status}) {what} than the {size} this client accepts; "
            "stopped reading it. Raise --max-response-mib (INFRAI_MAX_RESPONSE_MIB) if the account really is "
            f"that large; otherwise the server is misbehaving. {ENDPOINT_HINT}", method, display)

    def _too_many_items(self, display: str, count: int, pages: int) -> str:
        return (f"GET {display}: more than {self._limits.max_list_items:,} items ({count:,} in {pages:,} "
                f"page{'s' if pages != 1 else ''}); stopped at the limit of items a list (raise it with "
                "--max-list-items or INFRAI_MAX_LIST_ITEMS if the account really is that large)")

    def _refusal(self, wait: float, call_started: float, *, asked: bool) -> str | None:
        """Why the call must not wait `wait` seconds and retry (None: it may)."""
        policy = self._retry
        if asked and wait > policy.max_retry_after:
            return (f"the API asks to wait {_when(wait)}, longer than the {policy.max_retry_after:g} s "
                    "this client waits (--max-retry-wait)")
        spent = self._clock() - call_started
        if spent + wait > policy.retry_budget:
            asks = f"the API asks to wait {_when(wait)}; " if asked else ""
            return (f"{asks}{spent:.0f} s spent, and retrying would pass the {policy.retry_budget:g} s a call "
                    "may take with its retries (--retry-budget)")
        return None

    def _wait(self, method: str, display: str, attempt: int, wait: float, reason: str, started: float) -> None:
        if self._on_retry is not None:
            self._on_retry(RetryNotice(method, display, attempt, self._retry.max_attempts, wait,
                                       self._clean(reason, None), time.perf_counter() - started))
        self._sleep(wait)

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

    def _decode(self, content: bytes, status: int, method: str, display: str) -> Any:
        if not content:
            return None
        try:
            return jsonlib.loads(content)
        except (ValueError, RecursionError) as exc:
            why = "JSON nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
            snippet = content[:QUOTE_CHARS].decode("utf-8", "replace")
            raise MalformedResponse(
                self._clean(
                    f"{method} {display} answered HTTP {status} with a body that is {why}: {snippet!r}. "
                    f"{ENDPOINT_HINT}: it must name the Infrai API", None),
                method,
                display,
            ) from None
        except MemoryError:
            raise self._out_of_memory(method, display, status) from None

    def _out_of_memory(self, method: str, display: str, status: int) -> ResponseTooLarge:
        return ResponseTooLarge(f"{method} {display}: the answer (HTTP {status}) did not fit in memory; stopped "
                                "reading it. Lower --max-response-mib (INFRAI_MAX_RESPONSE_MIB)", method, display)

    def _transport_error(self, reason: str, method: str, display: str, attempts: int, nothing_sent: bool,
                         has_key: bool, refusal: str | None) -> TransportError:
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        if refusal:
            tries += f"; {refusal}"
        if nothing_sent:
            message = f"could not reach {display}: {reason}{tries}. {ENDPOINT_HINT}"
        else:
            message = f"{method} {display}: {reason}{tries}."
            if method not in SAFE_METHODS and not has_key:
                message += " The request may or may not have taken effect; run plan again to see."
            elif method in SAFE_METHODS:
                message += " Nothing was changed: a read is safe to retry."
            message += f" {ENDPOINT_HINT} and the network"
        return TransportError(self._clean(message, None), method, display)

    def _describe(self, exc: httpx.TransportError) -> str:
        detail = self._clean(str(exc), QUOTE_CHARS)
        lowered = detail.lower()
        limits = self._limits
        if isinstance(exc, deadline.AttemptDeadline) or (
                isinstance(exc, httpx.TimeoutException) and deadline.deadline_expired()):
            return f"no complete answer within the {limits.timeout:g} s an attempt may take (--timeout)"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connection timed out ({limits.connect_timeout:g} s)" if self._owns_http else "connection timed out"
        if isinstance(exc, httpx.PoolTimeout):
            return "timed out waiting for a free pooled connection (too many concurrent requests)"
        if isinstance(exc, httpx.ReadTimeout):
            return f"no answer within the read timeout ({limits.timeout:g} s)" if self._owns_http else "no answer within the read timeout"
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

    def _clean(self, text: str, limit: int | None) -> str:
        """Secrets blanked, control characters (newlines, terminal escapes) made spaces,
        and cut to `limit` characters: server text is quoted on one line."""
        text = _CONTROL.sub(" ", self._redactor.redact(text))
        return text if limit is None or len(text) <= limit else text[:limit] + "…"


#: Environment variables that can send plain-http requests through a proxy (httpx reads
#: them, lowercase or uppercase, when `trust_env`): the proxy may be https.
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})


def _tls_context(base: str) -> ssl.SSLContext:
    """One TLS context for all of a client's `httpx.Client`s, instead of one each.

    Loading the trust store costs ~60 ms of CPU per `httpx.Client` (httpx's default, certifi
    or `SSL_CERT_FILE`/`SSL_CERT_DIR`): 3 clients for a plan, 8 for an apply at parallelism
    32. An https endpoint, or any proxy variable (a proxy may be https), gets httpx's own
    default context, built once and shared. A plain-http endpoint without a proxy never
    opens a TLS connection; it gets a context that verifies certificates and host names
    and trusts nothing, so any TLS connection it were to open would fail closed.
    """
    if base.startswith("https:") or any(name.lower() in _PROXY_VARIABLES for name in os.environ):
        return httpx.create_ssl_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _encoded(fields: list[tuple[str, str]]) -> list[tuple[bytes, bytes]] | None:
    """`fields` as the bytes httpx would send (ASCII); None if one is not ASCII (then httpx
    itself builds each request, and says so as it always did)."""
    try:
        return [(k.encode("ascii"), v.encode("ascii")) for k, v in fields]
    except UnicodeEncodeError:
        return None


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


def _error_parts(status: int, content: bytes, reason_phrase: str) -> tuple[Any, str, str, str | None]:
    """(body, code, message, field) of an error answer, from the API's JSON error shape.

    A body that is not that shape (a proxy's HTML page, plain text) gets code `HTTP_<status>`
    and its first 200 characters as the message.
    """
    body: Any = None
    if content:
        try:
            body = jsonlib.loads(content)
        except (ValueError, RecursionError):
            body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        field = error.get("field")
        message = str(error.get("message") or "")
        if len(message) > QUOTE_CHARS * 2:
            message = message[:QUOTE_CHARS * 2] + "…"
        code = error["code"] if len(error["code"]) <= 64 else error["code"][:64] + "…"
        return body, code, message, field if isinstance(field, str) and len(field) <= QUOTE_CHARS else None
    text = content[:QUOTE_CHARS * 4].decode("utf-8", "replace")[:QUOTE_CHARS].strip() if content else ""
    return (body if body is not None else text), f"HTTP_{status}", text or reason_phrase, None


def _kind_of(value: Any) -> str:
    """JSON's name for the type of `value`: 'null', 'a string', 'an array'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _page_items(page: Any, display: str, number: int | None) -> list[dict[str, Any]]:
    """The `items` of a list answer; MalformedResponse naming the page and the item if the
    answer is not `{items: [object, ...]}`."""
    which = "the answer" if number is None else f"page {number}"
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        got = _kind_of(page) if not isinstance(page, dict) else (
            "an object without items" if "items" not in page else f"items that are {_kind_of(items)}")
        raise MalformedResponse(f"GET {display}: {which} is not a list page {{items, next_cursor}} (got {got}; "
                                "the API is misbehaving)", "GET", display)
    for index, item in enumerate(items):
        if type(item) is not dict:
            raise MalformedResponse(f"GET {display}: item {index + 1} of {which} is {_kind_of(item)}, not an "
                                    "object (the API is misbehaving)", "GET", display)
    return items


def _when(seconds: float) -> str:
    """'120 s (until 14:02:00 UTC)': how long and until when, for a Retry-After."""
    until = datetime.fromtimestamp(time.time() + seconds, timezone.utc).strftime("%H:%M:%S UTC")
    return f"{seconds:.0f} s (until {until})"
