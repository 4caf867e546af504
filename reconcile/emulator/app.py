"""`create_app`: the emulator's Starlette application and its explicit routing table.

Each documented capability is wrapped by `_endpoint`, which authenticates the bearer key,
applies the project rate limit and the capability's scope, parses parameters (query for
GET, JSON object body otherwise), runs mutating handlers under the idempotency guard, and
turns every failure into the one JSON error shape: no input produces a 500.
`_CapabilityDispatch` finds a capability's endpoint by a dict lookup, ahead of Starlette's
router, which still serves everything else (bench/emulator_vs_bare.py prices the difference).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Sequence
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import routes_billing, routes_emulator, routes_misc, routes_projects_keys, routes_webhooks
from .auth import RateLimiter, authenticate, require_scope
from .clock import Clock
from .context import Capability, Ctx, EmulatorState
from .errors import ApiError, error_response, internal_error_response, validation_error
from .faults import FaultConfig, FaultMiddleware
from .openapi import openapi_endpoint
from .idempotency import IdempotencyGuard, Replay, resolve_key
from .store import Store, dumps
from .validation import path_id_matches

log = logging.getLogger(__name__)

CAPABILITIES: tuple[Capability, ...] = (
    *routes_projects_keys.CAPABILITIES,
    *routes_webhooks.CAPABILITIES,
    *routes_billing.CAPABILITIES,
    *routes_misc.CAPABILITIES,
)

# GET parameters that are not strings; anything that does not coerce is a 400.
QUERY_INTEGERS = frozenset({"limit"})
QUERY_BOOLEANS = frozenset({"include_revoked"})
MAX_BODY_BYTES = 1 << 20


class JsonResponse:
    """A JSON answer as an ASGI callable: the two raw header lines built once, none of
    `starlette.responses.Response`'s per-response header merging (same bytes on the wire)."""

    __slots__ = ("status_code", "body", "raw_headers")

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.body = text.encode("utf-8")
        self.raw_headers = [(b"content-length", b"%d" % len(self.body)), (b"content-type", b"application/json")]
        if headers:
            self.raw_headers.extend((name.lower().encode("latin-1"), value.encode("latin-1"))
                                    for name, value in headers.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def json_response(status: int, body: "dict[str, Any] | str", headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(status, body if isinstance(body, str) else dumps(body), headers)


def _query_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    query = request.scope.get("query_string")
    if not query:
        return params
    # What Starlette's QueryParams holds (latin-1, blank values kept, the last of a repeated
    # name), without building its multi-dict for every request.
    for name, value in dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)).items():
        if name in QUERY_INTEGERS:
            try:
                params[name] = int(value)
            except ValueError:
                raise validation_error(name, f"{name} must be an integer") from None
        elif name in QUERY_BOOLEANS:
            if value.lower() not in ("true", "false", "1", "0"):
                raise validation_error(name, f"{name} must be true or false")
            params[name] = value.lower() in ("true", "1")
        else:
            params[name] = value
    return params


async def read_json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, "INVALID_JSON", "body larger than 1 MiB")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
        # Lone surrogates (`"\\ud800"`) parse but can be neither stored nor sent back as UTF-8.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise ApiError(400, "INVALID_JSON", "body is not valid JSON (UTF-8, no NaN/Infinity)") from None
    if not isinstance(value, dict):
        raise ApiError(400, "INVALID_JSON", "body must be a JSON object")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _params(request: Request, method: str) -> dict[str, Any]:
    if method == "GET":
        return _query_params(request)
    body = await read_json_object(request)
    if method == "DELETE":
        # DELETEs carry no body in the seed's examples: the query string counts too.
        query = _query_params(request)
        return {**query, **body}
    return body


def _endpoint(cap: Capability) -> Callable[[Request], Awaitable["JsonResponse | Response"]]:
    async def endpoint(request: Request) -> "JsonResponse | Response":
        emu: EmulatorState = request.app.state.emulator
        try:
            now = emu.clock.now()
            caller = authenticate(emu.store, _authorization(request.scope), now)
            if caller.rate_limit_rpm:
                emu.limiter.hit(caller.project_id, caller.rate_limit_rpm)
            require_scope(caller, cap.scope)
            params = await _params(request, cap.method)
            path_id = request.path_params.get("id")
            if cap.id_field and path_id is not None:
                path_id_matches(params, cap.id_field, path_id)
            ctx = Ctx(request, emu, caller, params, path_id, now)
            if cap.method == "GET":
                status, body = await cap.handler(ctx)
                return json_response(status, body)
            emu.idempotency.maybe_sweep(now)
            key = resolve_key(request.headers, params)
            if key is None:
                status, body = await cap.handler(ctx)
                return json_response(status, body)
            outcome = await emu.idempotency.run(
                caller.key_id, key, f"{cap.method} {request.url.path}", params, now, lambda: cap.handler(ctx)
            )
            if isinstance(outcome, Replay):
                return json_response(outcome.status, outcome.body, {"Idempotent-Replayed": "true"})
            return json_response(*outcome)
        except ApiError as error:
            return error_response(error)
        except Exception:  # a bug, but the client still gets the contract's error shape
            log.exception("endpoint: unexpected error in %s", cap.name)
            return internal_error_response()

    endpoint.__name__ = cap.name.replace(".", "_")
    return endpoint


def _authorization(scope: Scope) -> str | None:
    """The Authorization header, without building Starlette's Headers for every request."""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"authorization" or (len(name) == 13 and name.lower() == b"authorization"):
            return value.decode("latin-1")
    return None


class _CapabilityDispatch:
    """Sends a request for a documented capability straight to its endpoint.

    Starlette's router tries each of ~70 route patterns in turn and wraps every endpoint in
    its exception machinery; a capability path is a dict lookup (exact, or a prefix plus one
    `{id}` segment, as Starlette's `{id}` matches), and `_endpoint` already turns every
    failure into the contract's error. Anything else (other methods, HEAD, `/_emulator`,
    unknown paths: 404/405) goes on to the router unchanged, so every answer is the same.
    """

    def __init__(self, app: ASGIApp, capabilities: Sequence[Capability]) -> None:
        self.app = app
        self.exact: dict[tuple[str, str], Any] = {}
        self.by_prefix: dict[tuple[str, str], Any] = {}
        for cap in capabilities:
            if cap.path.endswith("/{id}") and cap.path.count("{") == 1:
                self.by_prefix[(cap.method, cap.path[: -len("{id}")])] = _endpoint(cap)
            elif "{" not in cap.path:
                self.exact[(cap.method, cap.path)] = _endpoint(cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            endpoint = self.exact.get((method, path))
            if endpoint is None:
                cut = path.rfind("/") + 1
                if cut < len(path):
                    endpoint = self.by_prefix.get((method, path[:cut]))
                    if endpoint is not None:
                        scope["path_params"] = {"id": path[cut:]}
            if endpoint is not None:
                response = await endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on this path",
                                       headers=dict(exc.headers or {})))
    if exc.status_code == 404:
        return error_response(ApiError(404, "NOT_FOUND", f"no route {request.url.path}"))
    return error_response(ApiError(exc.status_code, "ERROR", str(exc.detail)))


class _FaultSlot:
    """Builds the FaultMiddleware when Starlette builds its stack, and keeps a reference on
    the emulator state so `/_emulator/faults` can replace its config at runtime."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.inner = FaultMiddleware(app, state.fault_config)
        state.fault_middleware = self.inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.inner(scope, receive, send)


def build_routes(capabilities: Sequence[Capability]) -> list[Route]:
    routes = [Route(cap.path, _endpoint(cap), methods=[cap.method], name=cap.name) for cap in capabilities]
    routes.extend(routes_emulator.ROUTES)
    routes.append(Route("/openapi.json", openapi_endpoint, methods=["GET"], name="openapi"))
    return routes


def create_app(
    db_path: str = ":memory:",
    *,
    faults: "FaultConfig | None" = None,
    webhook_delivery: bool = False,
    allow_webhook_hosts: Sequence[str] = (),
    resolve_hosts: bool = False,
) -> Starlette:
    """The emulator app over the SQLite database at `db_path` (bootstrapped on first use)."""
    clock = Clock()
    store = Store(db_path, clock)
    state = EmulatorState(
        store=store,
        clock=clock,
        limiter=RateLimiter(clock),
        idempotency=IdempotencyGuard(store),
        webhook_delivery=webhook_delivery,
        allow_webhook_hosts=tuple(allow_webhook_hosts),
        resolve_hosts=resolve_hosts,
        fault_config=faults if faults is not None else FaultConfig(),
    )
    app = Starlette(
        routes=build_routes(CAPABILITIES),
        middleware=[Middleware(_FaultSlot, state=state), Middleware(_CapabilityDispatch, capabilities=CAPABILITIES)],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.emulator = state
    return app


def bootstrap_secret(db_path: str) -> str:
    """The bootstrap key's secret of the emulator database at `db_path` (created if new)."""
    store = Store(db_path, Clock())
    try:
        return store.bootstrap_secret()
    finally:
        store.conn.close()
