"""The crash journal: an append-only record of every mutating call an apply sends, so that
the next apply can recover a secret whose response was lost (docs/journal.md).

`ApplyJournal` implements the executor's `Journal` protocol. Before a mutating call is sent
it appends a `"sent"` line and fsyncs it; when the response arrives it appends a `"done"`
line (the new object's id, never the response body: a key's `key_secret` arrives there).
`recover()` runs at the start of the next apply: for each secret-producing call that was
sent but never done, whose object exists live and whose secret is in no secrets file, it
replays the exact request with its original idempotency key; the API answers with the
stored response, secret included, and the secret goes to the sinks. What cannot be
recovered is said, with the fix (rotate: `--replace ADDRESS`).

The file is locked (`flock`, exclusive) for the whole apply: two applies never share one
journal. The lock dies with the process, so a killed apply never leaves it held.

Imports: errors, kinds, plan, redact, apply.secrets.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import ApiError, ApiStatusError, JournalError, ReconcileError
from ..kinds import REGISTRY, ApiCall, KindSpec
from ..plan import Change
from ..redact import mask_values
from .secrets import FileSink, Secret, SecretRouter

DEFAULT_JOURNAL_NAME = ".infrai-journal.jsonl"
# States that close any "sent" record: a later apply dealt with it.
_CLOSING = frozenset({"recovered", "resolved"})


class _Retryable(JournalError):
    def __init__(self, address: str, error: Exception):
        super().__init__(f"{address}: could not recover a secret lost by an interrupted apply this time ({error}); "
                         "nothing was changed. Run apply again when the API answers; the journal keeps the request.")


def default_journal_path(secrets_out: str | None) -> Path:
    """Next to the secrets file when there is one (they belong together), else the cwd."""
    if secrets_out:
        return Path(secrets_out).resolve().parent / DEFAULT_JOURNAL_NAME
    return Path(DEFAULT_JOURNAL_NAME)


def _template_of(spec: KindSpec, method: str, path: str) -> str | None:
    """'create' or 'rotate' when (method, path) is the call that returns the kind's secret."""
    for name in ("create", "rotate"):
        endpoint = getattr(spec.api, name, None)
        if endpoint is None or endpoint.method != method:
            continue
        prefix = endpoint.path.split("{id}")[0]
        if path == endpoint.path or ("{id}" in endpoint.path and path.startswith(prefix)):
            return name
    return None


def _produces_secret(record: dict[str, Any]) -> bool:
    spec = REGISTRY.get(record.get("kind", ""))
    return bool(spec and spec.secret_outputs
                and _template_of(spec, record.get("method", ""), record.get("path", "")))


class ApplyJournal:
    """One apply's journal file, locked while open. Thread-safe: steps run in parallel."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.run_id = uuid.uuid4().hex[:12]
        self.plan_fingerprint = ""
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = self._synced = 0  # lines appended, lines known fsynced
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot open the apply journal {self.path}: {exc.strerror}; "
                               "pass --journal FILE (or INFRAI_JOURNAL) with a writable path") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise JournalError(f"another apply is running with the journal {self.path}; wait for it to finish, "
                               "or give this apply its own journal with --journal FILE") from None

    # -- lifecycle ---------------------------------------------------------------------
    def start_run(self, plan_fingerprint: str, seed: str | None = None) -> None:
        self.plan_fingerprint = plan_fingerprint

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> ApplyJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def records(self) -> list[dict[str, Any]]:
        """Every complete line; a torn last line (a crash mid-write) is ignored."""
        with self._lock:
            os.lseek(self._fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(self._fd, 1 << 16):
                chunks.append(chunk)
        out = []
        for line in b"".join(chunks).splitlines():
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict) and "idempotency_key" in record:
                out.append(record)
        return out

    def unfinished(self) -> list[dict[str, Any]]:
        """"sent" records still to look at, oldest first, each with its "done" id if any.

        "done" closes a call without a secret. It does not close a secret-producing one: the
        executor records the response before it writes the secret, so a crash in between
        (another thread's, or a SIGKILL's) leaves a "done" call whose secret is on no
        file; recovery checks the file, which is cheap, rather than trust "done".
        """
        records = self.records()
        closed = {r["idempotency_key"] for r in records if r.get("state") in _CLOSING}
        done = {r["idempotency_key"]: r.get("id") for r in records if r.get("state") == "done"}
        seen: set[str] = set()
        out = []
        for r in records:
            key = r["idempotency_key"]
            if r.get("state") != "sent" or key in closed or key in seen:
                continue
            seen.add(key)
            if key in done:
                if not _produces_secret(r):
                    continue
                r = {**r, "done_id": done[key]}
            out.append(r)
        return out

    def complete(self) -> None:
        """Everything is done: empty the file (it only ever matters after a crash)."""
        with self._lock:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)

    def compact(self) -> None:
        """Keep only the records still unfinished (what a next apply must look at)."""
        keep = [{k: v for k, v in r.items() if k != "done_id"} for r in self.unfinished()]
        with self._lock:
            os.ftruncate(self._fd, 0)
            os.write(self._fd, b"".join(_line(r) for r in keep))
            os.fsync(self._fd)

    # -- the executor's Journal protocol ---------------------------------------------
    def before_call(self, change: Change, call: ApiCall, key: str, index: int | None = None) -> None:
        spec = REGISTRY[change.kind]
        hidden = spec.sensitive_fields | {k for k, f in spec.fields.items() if f.write_only}
        body = mask_values(call.body, hidden) if call.body is not None else None
        masked = sorted(k for k, v in (call.body or {}).items() if k in hidden and v is not None)
        record = {
            "run_id": self.run_id, "plan_fingerprint": self.plan_fingerprint, "address": change.address,
            "kind": change.kind, "action": change.action.value,
            "project": change.identity[0] if spec.parent and change.identity else None,
            "call_index": index,
            "method": call.method, "path": call.path, "idempotency_key": key, "body": body,
            "masked": masked, "ts": round(time.time(), 3), "state": "sent",
        }
        self._append(record, sync=True)

    def after_call(self, change: Change, call: ApiCall, key: str, response: Any) -> None:
        spec = REGISTRY[change.kind]
        data = getattr(response, "data", response)
        id_ = data.get(spec.api.id_field) if isinstance(data, dict) else None
        # Only the id: the response body may hold a secret and is never written.
        self._append({"run_id": self.run_id, "address": change.address, "idempotency_key": key,
                      "ts": round(time.time(), 3), "state": "done", "id": id_ if isinstance(id_, str) else None},
                     sync=False)

    def mark(self, record: dict[str, Any], state: str, note: str = "") -> None:
        self._append({"run_id": self.run_id, "address": record["address"],
                      "idempotency_key": record["idempotency_key"], "ts": round(time.time(), 3),
                      "state": state, "note": note}, sync=True)

    def _append(self, record: dict[str, Any], *, sync: bool) -> None:
        # One write() of one line on an O_APPEND descriptor: lines never interleave.
        # "sent" is fsynced (it must outlive a machine crash, since the call may take effect);
        # a lost "done" only costs a harmless replay, so it is left to the page cache.
        with self._lock:
            if self._fd < 0:
                raise JournalError(f"the apply journal {self.path} is closed")
            os.write(self._fd, _line(record))
            self._written += 1
            position = self._written
        if sync:
            # Group commit, outside the write lock: one fsync covers every line written
            # before it, so parallel steps share the disk's flushes instead of queueing.
            with self._sync_lock:
                if self._synced < position:
                    target = self._written
                    os.fsync(self._fd)
                    self._synced = target


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


# -- recovery --------------------------------------------------------------------------
@dataclass
class Recovery:
    """What `recover()` found: notes for the user, and secrets that are lost for good."""

    recovered: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    lost_records: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.lost

    def settle(self, journal: ApplyJournal, succeeded: set[str]) -> None:
        """A lost secret whose resource this apply rotated or replaced is fixed: say so, and
        close its record."""
        for address in [a for a in self.lost if a in succeeded]:
            self.lost.remove(address)
            journal.mark(self.lost_records.pop(address), "resolved", "rotated or replaced since")
            self.notes.append(f"{address}: its new secret was written; the lost one is no longer needed.")


def _file_sinks(router: SecretRouter) -> Iterator[FileSink]:
    for sink in router.sinks:
        if isinstance(sink, FileSink):
            yield sink
    yield router.recovery


def _secret_on_file(router: SecretRouter, address: str, field_name: str, id_: str | None) -> bool:
    for sink in _file_sinks(router):
        try:
            if not sink.has(address, field_name):
                continue
            if sink.format != "json" or id_ is None:
                return True
            entry = sink._read().get(f"{address}.{field_name}", {})
            if entry.get("id") in (None, id_):
                return True
        except ReconcileError:
            continue
    return False


def close_calls_without_secret(journal: ApplyJournal) -> list[dict[str, Any]]:
    """Close every unfinished call whose response holds no secret: whatever it did, the next
    read of the live state sees (an interrupted `adopt` leaves only such calls). Returns the
    secret-producing ones, oldest first: only `recover()` can deal with those."""
    pending = []
    for record in journal.unfinished():
        if _produces_secret(record):
            pending.append(record)
        else:
            journal.mark(record, "resolved", "no secret in its response")
    return pending


def recover(journal: ApplyJournal, client: Any, router: SecretRouter, *, read_live: Any) -> Recovery:
    """Recover the secrets of calls an earlier apply sent but never saw answered.

    `read_live(client)` returns the LiveState; it is called only when there is something to
    look at. Every unfinished record is closed ("recovered" or "resolved") except a lost
    secret, which stays so every later apply says it again until the key is rotated.
    """
    result = Recovery()
    candidates = []
    for record in close_calls_without_secret(journal):
        spec = REGISTRY[record["kind"]]
        template = _template_of(spec, record["method"], record["path"])
        assert template is not None  # close_calls_without_secret kept only secret-producing calls
        candidates.append((record, spec, template))
    # Only the latest secret-producing call of an address matters: an older one's secret
    # (a create before a rotation) was superseded, and replaying it would write a stale one.
    latest = {record["address"]: record["idempotency_key"] for record, _, _ in candidates}
    for record, _, _ in candidates:
        if latest[record["address"]] != record["idempotency_key"]:
            journal.mark(record, "resolved", "superseded by a later call")
    candidates = [c for c in candidates if latest[c[0]["address"]] == c[0]["idempotency_key"]]
    if not candidates:
        return result
    live = read_live(client)
    for record, spec, template in candidates:
        address = record["address"]
        resource = live.resources.get(address)
        if resource is None:
            # The create never took effect (or the object is gone): this apply plans it anew.
            journal.mark(record, "resolved", "not live: the call did not take effect")
            continue
        if record.get("masked"):
            # The body held a secret the user supplied (a webhook's `secret`): nothing is lost,
            # and the masked body cannot be replayed anyway.
            journal.mark(record, "resolved", "the secret was supplied by the configuration")
            continue
        field_name = spec.secret_outputs[0]
        if template == "create" and _secret_on_file(router, address, field_name, resource.id):
            journal.mark(record, "resolved", "secret already on file")
            continue
        outcome = _replay(journal, client, router, record, spec, resource.id, result)
        if outcome:
            result.notes.append(outcome)
    return result


def _replay(journal: ApplyJournal, client: Any, router: SecretRouter, record: dict[str, Any], spec: KindSpec,
            live_id: str | None, result: Recovery) -> str:
    address = record["address"]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.get("ts", 0)))
    fix = (f"Rotate it to get a new secret: reconcile apply ... --replace {address}"
           + (" (a key's old secret stays valid for its grace period)." if spec.api.rotate else "."))
    try:
        response = client.request(record["method"], record["path"], json=record.get("body"),
                                  idempotency_key=record["idempotency_key"])
    except ApiStatusError as exc:
        if exc.status >= 500 or exc.status == 429:
            raise _Retryable(address, exc) from None
        # A 4xx: the API no longer remembers the request (its idempotency record expired), so
        # it tried to act again and refused (409: the name is taken by the object we created).
        result.lost.append(address)
        result.lost_records[address] = record
        return (f"{address}: the {spec.title}'s secret from the interrupted apply of {when} was lost and cannot "
                f"be recovered: replaying the call with its idempotency key failed ({exc}). {fix}")
    except ApiError as exc:
        raise _Retryable(address, exc) from None
    data = getattr(response, "data", response)
    replayed = bool(getattr(response, "replayed", False))
    value = data.get(spec.secret_outputs[0]) if isinstance(data, dict) else None
    id_ = data.get(spec.api.id_field) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        result.lost.append(address)
        result.lost_records[address] = record
        return (f"{address}: the {spec.title}'s secret from the interrupted apply of {when} was lost: the API's "
                f"answer to the replayed call holds no secret. {fix}")
    secret = Secret(address, spec.name, spec.secret_outputs[0], value,
                    project=record.get("project"), id=id_ or live_id)
    router.put(secret)  # a sink failure raises, keeping it in the recovery file
    journal.mark(record, "recovered", "replayed" if replayed else "performed again")
    result.recovered.append(address)
    if replayed:
        return (f"{address}: recovered the secret lost when the apply of {when} was interrupted "
                "(the API replayed the original response).")
    # The API no longer remembered the request and did it again: the secret is a new one.
    return (f"{address}: the API no longer remembered the interrupted call of {when} and performed it "
            f"again; the new secret was written. The previous one is lost; if it was ever used, {fix}")
