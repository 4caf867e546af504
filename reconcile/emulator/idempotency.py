"""Idempotency keys for every mutating capability (contract: "Idempotency").

Records are scoped by the calling API key (its `key_id`, so a rotated secret still finds its
records): another key using the same idempotency key starts its own record and never sees
this one's response (which may hold a `key_secret`, a `whsec_` secret, or a refusal meant for
that caller). The stored response is sealed under the database's key file (sealing.py) and
the body fingerprint is keyed, so the table holds no secret in clear; rows older than 24 h
of emulator time are swept (at most once a minute of emulator time, on mutating requests).
A 400 (the request was malformed: nothing ran) is not stored, like a 5xx, so the client may
fix the body and retry with the same key, as Stripe allows.

A first request inserts an `in_flight` row and joins an in-memory set before its handler
runs, so a concurrent duplicate (possible whenever a handler awaits: webhook delivery,
injected latency) gets 409 `IDEMPOTENCY_IN_PROGRESS`. The finished response (see `stored`) is
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

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from .errors import ApiError, validation_error
from .store import Store, dumps

RETENTION_SECONDS = 24 * 3600
SWEEP_EVERY_SECONDS = 60
REPLAY_PURPOSE = "idempotent-replay"
MAX_KEY_LENGTH = 255

Outcome = tuple[int, "dict[str, Any] | str"]


@dataclass
class Replay:
    status: int
    body: str


def resolve_key(headers: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """The header or the body/query field; both present and different is a 400."""
    header = headers.get("idempotency-key")
    field = params.get("idempotency_key")
    # Present means a string (the contract's type): `null` is a malformed key, not "no key".
    if "idempotency_key" in params and (not isinstance(field, str) or not 1 <= len(field) <= MAX_KEY_LENGTH):
        raise validation_error("idempotency_key", f"idempotency_key must be a string of 1-{MAX_KEY_LENGTH} characters")
    if header is not None and not 1 <= len(header) <= MAX_KEY_LENGTH:
        raise validation_error("Idempotency-Key", f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    if header is not None and field is not None and header != field:
        raise validation_error("idempotency_key", "idempotency_key differs from the Idempotency-Key header")
    return header if header is not None else field


def canonical_params(params: Mapping[str, Any]) -> str:
    canonical = {k: v for k, v in params.items() if k != "idempotency_key"}
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stored(status: int) -> bool:
    """Which outcomes a retry replays: 2xx and the 4xx of a request that ran (402, 404, 409,
    ...). A 400 means the request was malformed and nothing ran; a 5xx lets the retry run."""
    return status < 500 and status != 400


class IdempotencyGuard:
    """Runs a handler at most once per (calling key, idempotency key)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.in_flight: set[tuple[str, str]] = set()
        self.last_sweep: float | None = None

    def maybe_sweep(self, now: float) -> None:
        """Delete finished records past their retention (the clock may also move back)."""
        if self.last_sweep is not None and abs(now - self.last_sweep) < SWEEP_EVERY_SECONDS:
            return
        self.last_sweep = now
        if not self.store.conn.in_transaction:
            self.store.conn.execute(
                "DELETE FROM idempotency WHERE state = 'done' AND created <= ?", (now - RETENTION_SECONDS,))

    async def run(
        self,
        caller: str,
        key: str,
        endpoint: str,
        params: Mapping[str, Any],
        now: float,
        handler: Callable[[], Awaitable[Outcome]],
    ) -> Outcome | Replay:
        conn = self.store.conn
        sealer = self.store.sealer
        slot = (caller, key)
        digest = sealer.fingerprint(endpoint + "\n" + canonical_params(params))
        row = conn.execute(
            "SELECT endpoint, fingerprint, state, status, body, created FROM idempotency WHERE caller = ? AND key = ?",
            slot,
        ).fetchone()
        if row is not None and row[5] + RETENTION_SECONDS <= now and slot not in self.in_flight:
            conn.execute("DELETE FROM idempotency WHERE caller = ? AND key = ?", slot)
            row = None
        if row is not None:
            stored_endpoint, stored_digest, state, status, body, _ = row
            if stored_endpoint != endpoint or stored_digest != digest:
                raise ApiError(
                    422, "IDEMPOTENCY_KEY_REUSED",
                    "this idempotency key was used with another request (different endpoint or body)",
                )
            if state == "in_flight" or slot in self.in_flight:
                raise ApiError(409, "IDEMPOTENCY_IN_PROGRESS", "a request with this idempotency key is still running")
            return Replay(int(status), sealer.open(body, REPLAY_PURPOSE + "\0" + caller))
        own_tx = not conn.in_transaction
        if own_tx:
            conn.execute("BEGIN IMMEDIATE")
        open_tx = own_tx

        def commit() -> None:
            nonlocal open_tx
            if open_tx:
                open_tx = False
                conn.execute("COMMIT")

        self.in_flight.add(slot)
        try:
            conn.execute(
                "INSERT INTO idempotency (caller, key, endpoint, fingerprint, state, created) "
                "VALUES (?, ?, ?, ?, 'in_flight', ?)",
                (caller, key, endpoint, digest, now),
            )
            try:
                status, body = await _CommitBeforeSuspending(handler(), commit)
            except ApiError as error:
                status, body = error.status, error.body()
                self._finish(slot, status, body)
                commit()
                raise
            self._finish(slot, status, body)
            commit()
            return status, body
        except BaseException:
            if open_tx:
                # Nothing of this request was committed: undo it all, the retry runs afresh.
                open_tx = False
                conn.execute("ROLLBACK")
            else:
                conn.execute("DELETE FROM idempotency WHERE caller = ? AND key = ? AND state = 'in_flight'", slot)
            raise
        finally:
            self.in_flight.discard(slot)

    def _finish(self, slot: tuple[str, str], status: int, body: "dict[str, Any] | str") -> None:
        if not stored(status):
            self.store.conn.execute("DELETE FROM idempotency WHERE caller = ? AND key = ?", slot)
            return
        text = body if isinstance(body, str) else dumps(body)
        sealed = self.store.sealer.seal(text, REPLAY_PURPOSE + "\0" + slot[0])
        self.store.conn.execute(
            "UPDATE idempotency SET state = 'done', status = ?, body = ? WHERE caller = ? AND key = ?",
            (status, sealed, *slot),
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
        coro = self.coro
        commit: Callable[[], None] | None = self.commit
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
