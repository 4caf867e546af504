"""What a capability handler receives (`Ctx`), how a capability is declared, and the
per-app emulator state shared by all handlers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from starlette.requests import Request

from .auth import Caller, RateLimiter
from .clock import Clock
from .errors import not_found
from .idempotency import IdempotencyGuard
from .store import Store
from .validation import page_params

Outcome = tuple[int, "dict[str, Any] | str"]


@dataclass
class EmulatorState:
    """Everything one app instance owns: the database, the clock and runtime switches."""

    store: Store
    clock: Clock
    limiter: RateLimiter
    idempotency: IdempotencyGuard
    webhook_delivery: bool = False
    allow_webhook_hosts: tuple[str, ...] = ()
    resolve_hosts: bool = False
    fault_config: Any = None
    fault_middleware: Any = None
    background: set[asyncio.Future[Any]] = field(default_factory=set)

    @property
    def bootstrap_secret(self) -> str:
        return self.store.bootstrap_secret()


@dataclass
class Ctx:
    request: Request
    emu: EmulatorState
    caller: Caller
    params: dict[str, Any]
    path_id: str | None
    now: float

    @property
    def store(self) -> Store:
        return self.emu.store


Handler = Callable[[Ctx], Awaitable[Outcome]]


@dataclass(frozen=True)
class Capability:
    """One documented capability: `scope` is what the calling key needs."""

    name: str
    method: str
    path: str
    handler: Handler
    scope: str
    id_field: str | None = None  # the body copy of the path id, checked against it


def capability(name: str, method: str, path: str, handler: Handler, scope: str = "account:read",
               id_field: str | None = None) -> Capability:
    return Capability(name, method, path, handler, scope, id_field)


def paged_list(kind: str) -> Handler:
    """A documented `cursor`/`limit` list of one kind, served from stored JSON text."""
    async def handler(ctx: Ctx) -> Outcome:
        cursor, limit = page_params(ctx.params)
        return 200, ctx.store.page_text(kind, cursor=cursor, limit=limit)

    handler.__name__ = f"{kind}_list"
    return handler


def get_by_id(kind: str, label: str) -> Handler:
    """GET of one object by its path id, served from stored JSON text."""
    async def handler(ctx: Ctx) -> Outcome:
        text = ctx.store.get_text(kind, ctx.path_id or "")
        if text is None:
            raise not_found(label, ctx.path_id or "")
        return 200, text

    handler.__name__ = f"{kind}_get"
    return handler
