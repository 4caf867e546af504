"""Idempotency keys for every mutating capability (contract: "Idempotency").

A first request inserts an `in_flight` row and joins an in-memory set before its handler
runs, so a concurrent duplicate (possible whenever a handler awaits: webhook delivery,
injected latency) gets 409 `IDEMPOTENCY_IN_PROGRESS`. The finished 2xx/4xx response is
stored for 24 h of emulator time and replayed with `Idempotent-Replayed: true`; a 5xx or a
crash deletes the row so the retry runs again.

One transaction per request: the in-flight row, the handler's writes (its own `Store.tx`
blocks become savepoints) and the stored response are committed together, once. Most
handlers never suspend, so a crash leaves either nothing (the retry runs) or the effect
with its stored answer (the retry replays). A transaction must not stay open while other
requests run on the shared connection, so when a handler really suspends (a real webhook
delivery) what it wrote so far is committed first, with its in-flight row, and the answer
is stored in a second commit, as before. (Three commits a create were ~a third of the
emulator's CPU per request.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from .errors import ApiError, validation_error
from .store import Store, dumps

RETENTION_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255

Outcome = tuple[int, "dict | str"]


@dataclass
class Replay:
    status: int
    body: str


def resolve_key(headers: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """The header or the body/query field; both present and different is a 400."""
    header = headers.get("idempotency-key")
    field = params.get("idempotency_key")
    if field is not None and (not isinstance(field, str) or not 1 <= len(field) <= MAX_KEY_LENGTH):
        raise validation_error("idempotency_key", f"idempotency_key must be a string of 1-{MAX_KEY_LENGTH} characters")
    if header is not None and not 1 <= len(header) <= MAX_KEY_LENGTH:
        raise validation_error("Idempotency-Key", f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    if header is not None and field is not None and header != field:
        raise validation_error("idempotency_key", "idempotency_key differs from the Idempotency-Key header")
    return header if header is not None else field


def fingerprint(params: Mapping[str, Any]) -> str:
    canonical = {k: v for k, v in params.items() if k != "idempotency_key"}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class IdempotencyGuard:
    """Runs a handler at most once per (account, idempotency key)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.in_flight: set[str] = set()

    async def run(
        self,
        key: str,
        endpoint: str,
        params: Mapping[str, Any],
        now: float,
        handler: Callable[[], Awaitable[Outcome]],
    ) -> Outcome | Replay:
        conn = self.store.conn
        digest = fingerprint(params)
        row = conn.execute(
            "SELECT endpoint, fingerprint, state, status, body, created FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is not None and row[5] + RETENTION_SECONDS <= now and key not in self.in_flight:
            conn.execute("DELETE FROM idempotency WHERE key = ?", (key,))
            row = None
        if row is not None:
            stored_endpoint, stored_digest, state, status, body, _ = row
            if stored_endpoint != endpoint or stored_digest != digest:
                raise ApiError(
                    422, "IDEMPOTENCY_KEY_REUSED",
                    "this idempotency key was used with another request (different endpoint or body)",
                )
            if state == "in_flight" or key in self.in_flight:
                raise ApiError(409, "IDEMPOTENCY_IN_PROGRESS", "a request with this idempotency key is still running")
            return Replay(int(status), body)
        own_tx = not conn.in_transaction
        if own_tx:
            conn.execute("BEGIN IMMEDIATE")
        open_tx = own_tx

        def commit() -> None:
            nonlocal open_tx
            if open_tx:
                open_tx = False
                conn.execute("COMMIT")

        self.in_flight.add(key)
        try:
            conn.execute(
                "INSERT INTO idempotency (key, endpoint, fingerprint, state, created) VALUES (?, ?, ?, 'in_flight', ?)",
                (key, endpoint, digest, now),
            )
            try:
                status, body = await _CommitBeforeSuspending(handler(), commit)
            except ApiError as error:
                status, body = error.status, error.body()
                self._finish(key, status, body)
                commit()
                raise
            self._finish(key, status, body)
            commit()
            return status, body
        except BaseException:
            if open_tx:
                # Nothing of this request was committed: undo it all, the retry runs afresh.
                open_tx = False
                conn.execute("ROLLBACK")
            else:
                conn.execute("DELETE FROM idempotency WHERE key = ? AND state = 'in_flight'", (key,))
            raise
        finally:
            self.in_flight.discard(key)

    def _finish(self, key: str, status: int, body: "dict | str") -> None:
        if status >= 500:
            self.store.conn.execute("DELETE FROM idempotency WHERE key = ?", (key,))
            return
        text = body if isinstance(body, str) else dumps(body)
        self.store.conn.execute(
            "UPDATE idempotency SET state = 'done', status = ?, body = ? WHERE key = ?", (status, text, key)
        )


class _CommitBeforeSuspending:
    """Awaits `coro`, calling `commit` before the first time it really suspends.

    Awaiting a coroutine that never waits on the event loop runs it to the end in one go;
    only a suspension lets other requests run on the shared connection, so only then must
    the request's open transaction be committed.
    """

    __slots__ = ("coro", "commit")

    def __init__(self, coro: Any, commit: Callable[[], None]) -> None:
        self.coro, self.commit = coro, commit

    def __await__(self) -> Any:
        coro, commit = self.coro, self.commit
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                yielded = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as stop:
                return stop.value
            if commit is not None:
                try:
                    commit()
                except BaseException:
                    coro.close()
                    raise
                commit = None
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # cancellation and the like go on to the handler
                value, error = None, exc
