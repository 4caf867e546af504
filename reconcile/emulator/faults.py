"""Fault injection for the emulator's `/v1` API: latency, errors and dropped connections.

`FaultConfig` is the configuration (from `INFRAI_EMULATOR_FAULTS`, CLI flags or
`POST /_emulator/faults`); `FaultMiddleware` is a pure ASGI middleware that applies it to
requests whose path is `/v1` or starts with `/v1/`, and to nothing else.

Per request, in this order:
1. `latency_ms` of `asyncio.sleep` (the product's latency, not a test sleep);
2. the first rule matching (method, path) whose turn it is (`nth` counts that rule's
   matching calls, 1-based; None fails every matching call);
3. otherwise one random draw decides drop / 500 / 503 / 429 with the configured fractions.
   The draw of the n-th `/v1` request is `Random(f"{seed}/{n}")`, so the same seed and the
   same sequence of requests always give the same faults. Replacing `.config` restarts the
   request and rule counters.

An injected error has the contract's error shape, `{"error": {"code": "INTERNAL" |
"UNAVAILABLE" | "RATE_LIMITED", "message": "injected fault"}}`; a 429 carries `Retry-After`
(1 s or the rule's `retry_after`). With `after_commit` the wrapped app runs to completion
(its effects are committed, its response is discarded) before the fault is answered: the
lost-response case that idempotency keys exist for.

A drop sends the head of a 503 response (with a Content-Length it never honours) and then
raises `InjectedConnectionDrop`, a subclass of `httpx.RemoteProtocolError`:
- over uvicorn, the server logs the exception and closes the connection, so the httpx
  client raises `httpx.RemoteProtocolError` ("peer closed connection without sending
  complete message body") while reading the body;
- in process, `starlette.testclient.TestClient(app)` and `httpx.ASGITransport(app)` re-raise
  app exceptions by default, so the client sees `InjectedConnectionDrop` itself, which is an
  `httpx.TransportError` like the real thing;
- with `TestClient(..., raise_server_exceptions=False)` or
  `ASGITransport(..., raise_app_exceptions=False)` a transport cannot express a lost
  connection: the client sees the 503 head with an empty body.

This module imports nothing else from the project.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FaultConfig", "FaultMiddleware", "FaultRule", "InjectedConnectionDrop"]

FaultStatus = int | Literal["drop"]

# The contract's codes for the statuses fault injection may produce (docs/emulator.md).
ERROR_CODES: dict[int, str] = {500: "INTERNAL", 503: "UNAVAILABLE", 429: "RATE_LIMITED"}
INJECTED_MESSAGE = "injected fault"
DEFAULT_RETRY_AFTER = 1
_RATE_FIELDS = ("drop", "error_500", "error_503", "error_429")
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"}


class InjectedConnectionDrop(httpx.RemoteProtocolError):
    """Raised by `FaultMiddleware` to drop a connection (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("injected fault: connection dropped")


@dataclass
class FaultRule:
    """Fail calls to one endpoint.

    `path` is exact, or has `{...}` segments that match any one segment
    (`/v1/account/keys/rotate/{id}`); `method` may be `*`. `status` is 429, 500, 503 or
    `"drop"`. `nth` fails only the nth matching call (1-based), None every one.
    `after_commit` lets the call take effect first. `retry_after` (seconds) is for 429.
    """

    method: str
    path: str
    status: FaultStatus
    nth: int | None = None
    after_commit: bool = False
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or self.method.upper() not in _METHODS:
            raise ValueError(f"fault rule method {self.method!r} is not an HTTP method or '*'")
        self.method = self.method.upper()
        if not isinstance(self.path, str) or not self.path.startswith("/v1"):
            raise ValueError(f"fault rule path {self.path!r} must start with /v1")
        if self.status != "drop" and (isinstance(self.status, bool) or self.status not in ERROR_CODES):
            raise ValueError(f"fault rule status {self.status!r} must be 429, 500, 503 or 'drop'")
        _require_int("fault rule nth", self.nth, minimum=1, optional=True)
        _require_int("fault rule retry_after", self.retry_after, minimum=0, optional=True)
        if not isinstance(self.after_commit, bool):
            raise ValueError(f"fault rule after_commit {self.after_commit!r} must be a boolean")
        pattern = "/".join(
            "[^/]+" if re.fullmatch(r"\{[^/{}]*\}", seg) else re.escape(seg)
            for seg in self.path.split("/")
        )
        self._pattern = re.compile(pattern)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self._pattern.fullmatch(path) is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        if not isinstance(data, Mapping):
            raise ValueError(f"a fault rule must be an object, not {type(data).__name__}")
        _reject_unknown("fault rule", data, {f.name for f in fields(cls)})
        for required in ("method", "path", "status"):
            if required not in data:
                raise ValueError(f"fault rule is missing {required!r}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class FaultConfig:
    """What to inject; all zero (the default) injects nothing.

    `error_500`, `error_503`, `error_429` and `drop` are fractions of `/v1` requests (0..1,
    summing to at most 1); `latency_ms` is added to every `/v1` request.
    """

    latency_ms: int = 0
    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    drop: float = 0.0
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        _require_int("latency_ms", self.latency_ms, minimum=0)
        _require_int("seed", self.seed, minimum=None)
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"fault setting {name}={value!r} must be a fraction between 0 and 1")
            setattr(self, name, float(value))
        total = sum(getattr(self, name) for name in _RATE_FIELDS)
        if total > 1 + 1e-9:
            raise ValueError(f"fault fractions drop+error_500+error_503+error_429 sum to {total:g}, more than 1")
        if not isinstance(self.rules, list) or not all(isinstance(r, FaultRule) for r in self.rules):
            raise ValueError("fault rules must be a list of FaultRule")

    @property
    def active(self) -> bool:
        # Spelled out (not a generator over _RATE_FIELDS): this runs on every /v1 request.
        return bool(self.latency_ms or self.rules or self.error_500 or self.error_503 or self.error_429 or self.drop)

    @classmethod
    def from_env_string(cls, text: str) -> FaultConfig:
        """Parse `latency_ms=20,error_500=0.1,...,seed=7` (rules are only set via from_dict)."""
        values: dict[str, Any] = {}
        known = [f.name for f in fields(cls) if f.name != "rules"]
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, raw = (s.strip() for s in item.partition("="))
            if not sep or not raw:
                raise ValueError(f"fault setting {item!r} is not name=value")
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r} (known: {', '.join(known)})")
            if name in values:
                raise ValueError(f"fault setting {name!r} is given twice")
            try:
                values[name] = int(raw) if name in ("latency_ms", "seed") else float(raw)
            except ValueError:
                kind = "an integer" if name in ("latency_ms", "seed") else "a number"
                raise ValueError(f"fault setting {name}={raw!r} is not {kind}") from None
        return cls(**values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON (`POST /_emulator/faults`); any problem is a ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError(f"fault config must be an object, not {type(data).__name__}")
        _reject_unknown("fault config", data, {f.name for f in fields(cls)})
        values = dict(data)
        rules = values.pop("rules", [])
        if not isinstance(rules, list):
            raise ValueError("fault config rules must be a list")
        return cls(**values, rules=[FaultRule.from_dict(rule) for rule in rules])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = [rule.to_dict() for rule in self.rules]
        return data


@dataclass(frozen=True)
class _Fault:
    status: FaultStatus
    after_commit: bool = False
    retry_after: int | None = None


class FaultMiddleware:
    """Pure ASGI middleware applying a replaceable `FaultConfig` to `/v1` requests.

    Wrap the whole app (`FaultMiddleware(app, config)`) and keep the instance: assigning
    `.config` takes effect for the next request and restarts the counters.
    """

    def __init__(self, app: ASGIApp, config: FaultConfig | None = None) -> None:
        self.app = app
        self.config = config if config is not None else FaultConfig()

    @property
    def config(self) -> FaultConfig:
        return self._config

    @config.setter
    def config(self, config: FaultConfig) -> None:
        self._config = config
        self._requests = itertools.count(1)
        self._rule_calls = [0] * len(config.rules)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/v1" or path.startswith("/v1/")):
            await self.app(scope, receive, send)
            return
        config = self._config
        if not config.active:
            await self.app(scope, receive, send)
            return
        fault = self._decide(config, scope["method"], path)
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.after_commit:
            await self.app(scope, receive, _discard)
        if fault.status == "drop":
            await _drop(send)
        else:
            await _send_error(send, fault.status, fault.retry_after)

    def _decide(self, config: FaultConfig, method: str, path: str) -> _Fault | None:
        """Counters advance here, before any await, so concurrent requests stay ordered."""
        number = next(self._requests)
        for index, rule in enumerate(config.rules):
            if rule.matches(method, path):
                self._rule_calls[index] += 1
                if rule.nth is None or rule.nth == self._rule_calls[index]:
                    return _Fault(rule.status, rule.after_commit, rule.retry_after)
        draw = random.Random(f"{config.seed}/{number}").random()
        statuses: tuple[FaultStatus, ...] = ("drop", 500, 503, 429)
        for name, status in zip(_RATE_FIELDS, statuses, strict=True):
            draw -= getattr(config, name)
            if draw < 0:
                return _Fault(status)
        return None


async def _discard(message: Message) -> None:
    """The `send` of an after-commit call: its response is lost on the way back."""


def _error_body(status: int) -> bytes:
    return json.dumps({"error": {"code": ERROR_CODES[status], "message": INJECTED_MESSAGE}}).encode()


async def _send_error(send: Send, status: int, retry_after: int | None) -> None:
    body = _error_body(status)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 429:
        headers.append((b"retry-after", str(retry_after if retry_after is not None else DEFAULT_RETRY_AFTER).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    # The head promises a body that never comes; raising makes uvicorn close the socket.
    body = _error_body(503)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    raise InjectedConnectionDrop()


def _require_int(name: str, value: Any, *, minimum: int | None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name}={value!r} must be an integer{bound}")


def _reject_unknown(what: str, data: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} field(s) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")
