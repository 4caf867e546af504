"""The crash journal: an append-only record of every mutating call an apply sends, so that
the next apply can recover a secret whose response was lost (docs/journal.md).

`ApplyJournal` implements the executor's `Journal` protocol. Before a mutating call is sent
it appends a `"sent"` line and fsyncs it; when the response arrives it appends a `"done"`
line (the new object's id, never the response body: a key's `key_secret` arrives there).
`recover()` (reconcile/workflow/recovery.py) runs at the start of the next apply: for each
secret-producing call that was sent but never done, whose object exists live and whose
secret is in no secrets file, it replays the exact request with its original idempotency
key; the API answers with the stored response, secret included, and the secret goes to
the sinks. What cannot be recovered is said, with the fix (rotate: `--replace ADDRESS`).

The file is locked (`flock`, exclusive) for the whole apply: two applies never share one
journal. The lock dies with the process, so a killed apply never leaves it held.

Imports: errors, kinds, plan, redact.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import JournalError
from ..kinds import REGISTRY, ApiCall, KindSpec
from ..plan import Change
from ..redact import mask_values

DEFAULT_JOURNAL_NAME = ".infrai-journal.jsonl"
# States that close any "sent" record: a later apply dealt with it.
_CLOSING = frozenset({"recovered", "resolved"})


def default_journal_path(secrets_out: str | None) -> Path:
    """Next to the secrets file when there is one (they belong together), else the cwd."""
    if secrets_out:
        return Path(secrets_out).resolve().parent / DEFAULT_JOURNAL_NAME
    return Path(DEFAULT_JOURNAL_NAME)


def secret_call_template(spec: KindSpec, method: str, path: str) -> str | None:
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
                and secret_call_template(spec, record.get("method", ""), record.get("path", "")))


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
