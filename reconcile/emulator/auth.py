"""Bearer-key authentication, scope checks and per-project rate limiting.

A secret is looked up by its HMAC-SHA-256 under the database's pepper (fast enough for
every request, unlike bcrypt), then compared in constant time. The lookup is cached in memory
until the next write to the database (`Store.read_cache`), so revocation, rotation grace
(checked against the clock on every request) and scope changes still apply at once.
"""

from __future__ import annotations

import hmac
import json
import math
from dataclasses import dataclass

from .clock import Clock
from .errors import ApiError
from .store import Store

SCOPES = frozenset({
    "account:read", "projects:write", "keys:write", "webhooks:write", "members:write",
    "billing:write", "routing:write", "bandwidth:write",
})


@dataclass(frozen=True)
class Caller:
    key_id: str
    project_id: str
    scopes: tuple[str, ...]
    project_scopes: tuple[str, ...]
    rate_limit_rpm: int | None

    @property
    def effective(self) -> frozenset[str]:
        return effective_scopes(self.scopes, self.project_scopes)

    @property
    def account_wide(self) -> bool:
        """A key with the whole module (empty scopes in a project with empty scopes, like the
        bootstrap key): it manages keys in every project (contract: "Key management")."""
        return self.effective == SCOPES


def effective_scopes(key_scopes: "tuple[str, ...] | list[str]", project_scopes: "tuple[str, ...] | list[str]") -> frozenset[str]:
    """What a key may do: its scopes bounded by its project's (empty = the whole module)."""
    result = SCOPES
    if key_scopes:
        result = result & frozenset(key_scopes)
    if project_scopes:
        result = result & frozenset(project_scopes)
    return result


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": "Bearer"})


MAX_CACHED_KEYS = 10_000


def authenticate(store: Store, authorization: str | None, now: float) -> Caller:
    if not authorization:
        raise unauthenticated("missing Authorization: Bearer <key>")
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise unauthenticated("Authorization must be 'Bearer <key>'")
    # Known secrets only are cached, in memory, by the presented secret (random tokens cannot
    # fill it; the dict's keyed string hash must match before any comparison); the cache is
    # emptied by any write, so an entry is the database's answer without the HMAC, the join
    # and two JSON parses.
    cache = store.read_cache()
    entry = cache.get(secret)
    if entry is None:
        entry = _lookup(store, store.hash_secret(secret))
        if len(cache) >= MAX_CACHED_KEYS:
            cache.clear()
        cache[secret] = entry
    state, expires_at, caller = entry
    if state == "revoked":
        raise unauthenticated("API key revoked")
    if expires_at is not None and now >= expires_at:
        raise unauthenticated("API key secret expired (rotated; grace period over)")
    if caller is None:
        raise unauthenticated("API key's project no longer exists")
    return caller


def _lookup(store: Store, digest: str) -> tuple[str, float | None, Caller | None]:
    row = store.conn.execute(
        "SELECT s.hash, s.expires_at, k.state, k.body, p.body FROM key_secrets s "
        "JOIN objects k ON k.id = s.key_id LEFT JOIN objects p ON p.id = k.parent "
        "WHERE s.hash = ?",
        (digest,),
    ).fetchone()
    if row is None or not hmac.compare_digest(row[0], digest):
        raise unauthenticated("unknown API key")
    _, expires_at, state, key_text, project_text = row
    if project_text is None:
        return state, expires_at, None
    key = json.loads(key_text)
    project = json.loads(project_text)
    caller = Caller(
        key["key_id"], key["project_id"], tuple(key["scopes"]), tuple(project["scopes"]), project.get("rate_limit_rpm")
    )
    return state, expires_at, caller


def require_scope(caller: Caller, scope: str) -> None:
    # An empty scope list means the whole module; a key never exceeds its project's scopes,
    # even after the project's were narrowed.
    if (caller.scopes and scope not in caller.scopes) or (caller.project_scopes and scope not in caller.project_scopes):
        raise ApiError(403, "INSUFFICIENT_SCOPE", f"this key lacks the {scope!r} scope")


class RateLimiter:
    """Fixed one-minute windows on the emulator clock, per project (in memory)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.windows: dict[str, tuple[int, int]] = {}

    def hit(self, project_id: str, rpm: int) -> None:
        now = self.clock.now()
        window = int(now // 60)
        start, count = self.windows.get(project_id, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= rpm:
            retry_after = max(1, math.ceil((window + 1) * 60 - now))
            raise ApiError(
                429, "RATE_LIMITED", f"project rate limit of {rpm} requests per minute exceeded",
                headers={"Retry-After": str(retry_after)},
            )
        self.windows[project_id] = (start, count + 1)
