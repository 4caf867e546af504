"""Where secrets returned once (a key's `key_secret`, a webhook's signing secret) go.

They are written the moment they arrive, to a file created 0600 (JSON or dotenv; each one
appended to a 0600 log first, so a secret costs O(1), see `FileSink`), never to stdout,
logs or errors. A sink that fails keeps the secret in a 0600 recovery file and says
where, so it is never lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, cast

from ..errors import ReconcileError, SecretSinkError as SecretSinkError  # re-exported by reconcile.apply
from ..resources import secret_env_name


@dataclass(frozen=True)
class Secret:
    address: str
    kind: str
    field: str
    value: str
    project: str | None = None
    id: str | None = None

    def __repr__(self) -> str:  # never show the value, even in a debugger or a traceback
        return f"Secret({self.address!r}, {self.field!r}, value=<hidden>)"

    @property
    def env_name(self) -> str:
        return secret_env_name(self.address, self.field)


class SecretSink(Protocol):
    def put(self, secret: Secret) -> None: ...


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the start (never a moment world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or an unlink in `directory` durable (a no-op where it cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


PENDING_SUFFIX = ".pending.jsonl"
FOLD_EVERY_S = 1.0  # the secrets file is rewritten from the log at most this often during an apply


class FileSink:
    """`--secrets-out FILE`: JSON (default) or dotenv (`.env` suffix or format="dotenv").

    O(1) per secret: each one is appended to `FILE.pending.jsonl` (0600, one
    `{"secrets": {key: entry}}` document a line, fsynced before `put` returns), and FILE
    itself is rewritten atomically from everything known at most every `FOLD_EVERY_S`
    (adaptively less often when the rewrite is slow) and by `close()`, which then removes
    the log. A crash leaves FILE valid (as of its last rewrite) and the newer secrets in the
    log; any later use of the sink reads both, and its first `put` or its `close` folds the
    log in (docs/secrets.md).
    """

    def __init__(self, path: str | Path, fmt: str | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.path = Path(path)
        self.pending = self.path.with_name(self.path.name + PENDING_SUFFIX)
        self.format = fmt or ("dotenv" if self.path.suffix == ".env" or self.path.name.endswith(".env") else "json")
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()  # taken after _lock, never before it
        self._written = self._synced = 0  # lines appended, lines known on disk
        self._clock = clock
        self._entries: dict[str, dict[str, Any]] | None = None  # everything known, once this sink writes
        self._fd = -1
        self._dirty = False
        self._last_fold = 0.0
        self._fold_cost = 0.0

    # -- reading ------------------------------------------------------------------------
    def _read_file(self) -> dict[str, dict[str, Any]]:
        """FILE's entries, keyed `address.field` (JSON) or by variable name (dotenv)."""
        if not self.path.exists():
            return {}
        text = self.path.read_text(encoding="utf-8")
        if self.format == "json":
            try:
                data = json.loads(text or "{}")
            except json.JSONDecodeError as exc:
                raise SecretSinkError(f"{self.path} is not a JSON secrets file ({exc.msg}); "
                                      "refusing to overwrite it") from None
            return data.get("secrets", {}) if isinstance(data, dict) else {}
        entries: dict[str, dict[str, Any]] = {}
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                entries[k] = {"value": json.loads(v) if v.startswith('"') else v}
        return entries

    def _read_pending(self) -> dict[str, dict[str, Any]]:
        """The log's entries in this sink's keying; a torn last line (a crash mid-write of a
        secret whose `put` never returned) is skipped."""
        try:
            data = self.pending.read_bytes()
        except FileNotFoundError:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for line in data.splitlines():
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            for key, entry in (record.get("secrets") or {}).items() if isinstance(record, dict) else ():
                if isinstance(entry, dict):
                    out[self._key(key, entry)] = self._shape(entry)
        return out

    def _key(self, json_key: str, entry: Mapping[str, object]) -> str:
        if self.format == "json":
            return json_key
        return secret_env_name(str(entry.get("address", "")), str(entry.get("field", "")))

    def _shape(self, entry: dict[str, Any]) -> dict[str, Any]:
        return entry if self.format == "json" else {"value": entry.get("value")}

    def _read(self) -> dict[str, dict[str, Any]]:
        """Every secret on file: FILE, then the newer ones of the log."""
        with self._lock:
            if self._entries is not None:
                return dict(self._entries)
            return {**self._read_file(), **self._read_pending()}

    def has(self, address: str, field: str) -> bool:
        entries = self._read()
        if self.format == "json":
            return f"{address}.{field}" in entries
        return Secret(address, "", field, "").env_name in entries

    # -- writing ------------------------------------------------------------------------
    def put(self, secret: Secret) -> None:
        """Append the secret to the log and return once it is on disk."""
        self.sync(self.write(secret))

    def write(self, secret: Secret) -> int:
        """Append the secret to the log (a SIGKILL from here on loses nothing; the page
        cache outlives the process); returns the position `sync` waits for."""
        entry = {"address": secret.address, "kind": secret.kind, "field": secret.field,
                 "id": secret.id, "project": secret.project, "value": secret.value}
        json_key = f"{secret.address}.{secret.field}"
        line = (json.dumps({"secrets": {json_key: entry}}, sort_keys=True) + "\n").encode()
        with self._lock:
            self._open()
            os.write(self._fd, line)  # one write() on an O_APPEND descriptor: one whole line
            self._written += 1
            assert self._entries is not None
            self._entries[self._key(json_key, entry)] = self._shape(entry)
            self._dirty = True
            if self._clock() - self._last_fold >= max(FOLD_EVERY_S, 20 * self._fold_cost):
                self._fold()
            return self._written

    def sync(self, position: int) -> None:
        """Wait until the log is fsynced up to `position`. Group commit: one fsync covers
        every line written before it, so parallel steps share the disk's flushes."""
        with self._sync_lock:
            if self._synced >= position or self._fd < 0:
                return
            target = self._written
            os.fsync(self._fd)
            self._synced = max(self._synced, target)

    def _open(self) -> None:
        """First write: load what is on file, fold a log a crash left, open a fresh log."""
        if self._fd >= 0:
            return
        self._entries = {**self._read_file(), **self._read_pending()}
        if self.pending.exists():
            self._dirty = True
            self._fold()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = os.open(self.pending, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise SecretSinkError(f"cannot write {self.pending}: {exc.strerror}") from None
        os.fchmod(self._fd, 0o600)
        os.ftruncate(self._fd, 0)  # folded above: whatever is left there is already in FILE
        self._last_fold = self._clock()

    def _fold(self) -> None:
        """Rewrite FILE from everything known, then empty the log (FILE first: a crash in
        between leaves the same secrets in both, which reads the same)."""
        if not self._dirty or self._entries is None:
            return
        started = time.perf_counter()
        entries = self._entries
        if self.format == "json":
            _write_private(self.path, json.dumps({"secrets": entries}, indent=2, sort_keys=True) + "\n")
        else:
            _write_private(self.path, "".join(f"{k}={json.dumps(v['value'])}\n" for k, v in sorted(entries.items())))
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
        self._synced = self._written  # all of it is in FILE now, fsynced
        self._dirty = False
        self._last_fold = self._clock()
        self._fold_cost = time.perf_counter() - started

    def close(self) -> None:
        """Bring FILE up to date and remove the log (also folds a log an earlier crash left)."""
        with self._lock, self._sync_lock:
            if self._fd < 0 and not self.pending.exists():
                return
            if self._entries is None:
                self._entries = {**self._read_file(), **self._read_pending()}
                self._dirty = True
            self._fold()
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            try:
                os.unlink(self.pending)
            except FileNotFoundError:
                pass
            _fsync_dir(self.pending.parent)
            self._entries = None

    def __enter__(self) -> "FileSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __str__(self) -> str:
        return str(self.path)


class ExecSink:
    """Runs a command with the secret on standard input and its context in environment
    variables (never in argv, which other users of the machine can read)."""

    def __init__(self, argv: Sequence[str], *, timeout: float = 60.0, env: Mapping[str, str] | None = None):
        if not argv:
            raise SecretSinkError("an exec secret sink needs a command")
        self.argv = list(argv)
        self.timeout = timeout
        self.base_env = dict(env if env is not None else os.environ)

    def __str__(self) -> str:
        shown = self.argv[2] if self.argv[:2] == ["/bin/sh", "-c"] else " ".join(self.argv)
        return f"command `{shown}`"

    def put(self, secret: Secret) -> None:
        env = dict(self.base_env)
        env.update({"INFRAI_SECRET_ADDRESS": secret.address, "INFRAI_SECRET_KIND": secret.kind,
                    "INFRAI_SECRET_FIELD": secret.field, "INFRAI_SECRET_PROJECT": secret.project or "",
                    "INFRAI_SECRET_ID": secret.id or "", "INFRAI_SECRET_ENV_NAME": secret.env_name})
        try:
            proc = subprocess.run(self.argv, input=secret.value.encode(), env=env, capture_output=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SecretSinkError(f"secret sink {self.argv[0]!r} failed for {secret.address}: "
                                  f"{type(exc).__name__}") from None
        if proc.returncode != 0:
            # Its stderr could echo the secret: report only the exit status.
            raise SecretSinkError(f"secret sink {self.argv[0]!r} exited with status {proc.returncode} "
                                  f"for {secret.address}")


class SecretRouter:
    """Sends each secret to every sink; on any failure keeps it in the recovery file and
    raises, so the executor stops producing more secrets."""

    def __init__(self, sinks: Sequence[SecretSink], recovery_path: str | Path):
        self.sinks = list(sinks)
        self.recovery = FileSink(recovery_path, "json")
        self.delivered: list[str] = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        """Where delivered secrets went, for the apply report."""
        return ", ".join(str(s) for s in self.sinks) or str(self.recovery.path)

    def put(self, secret: Secret) -> None:
        # One secret at a time: sinks are user commands (`vault kv put`, `gh secret set`) that
        # need not be safe to run concurrently, and parallel apply steps would otherwise race.
        # A file sink's fsync is waited for after the lock, so parallel steps share flushes.
        unsynced: list[tuple[FileSink, int]] = []
        with self._lock:
            targets = self.sinks or [self.recovery]
            for sink in targets:
                try:
                    if isinstance(sink, FileSink):
                        unsynced.append((sink, sink.write(secret)))
                    else:
                        sink.put(secret)
                except Exception as exc:  # noqa: BLE001 - any sink failure must keep the secret
                    self._failed(secret, exc)
        for sink, position in unsynced:
            try:
                sink.sync(position)
            except Exception as exc:  # noqa: BLE001
                with self._lock:
                    self._failed(secret, exc)
        with self._lock:
            self.delivered.append(f"{secret.address}.{secret.field}")

    def _failed(self, secret: Secret, exc: Exception) -> None:
        if not self.sinks:
            raise exc  # the recovery file itself failed: nowhere else to keep it
        self._keep(secret)
        message = str(exc) if isinstance(exc, ReconcileError) else type(exc).__name__
        raise SecretSinkError(f"{message}. The secret was kept in {self.recovery.path} (mode 0600).") from None

    def _keep(self, secret: Secret) -> None:
        self.recovery.put(secret)

    def close(self) -> None:
        """Bring every secrets file up to date (FileSink.close); safe to call twice."""
        with self._lock:
            for sink in [*self.sinks, self.recovery]:
                if isinstance(sink, FileSink):
                    sink.close()

    def __enter__(self) -> "SecretRouter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sinks_from_settings(settings: Mapping[str, object] | None, *, exec_flags: Sequence[str] = (),
                        file_flag: str | None = None) -> list[SecretSink]:
    """The sinks a run uses: `--secrets-out` first, then the config's `secrets.sinks`,
    then `--secret-sink-exec` commands."""
    sinks: list[SecretSink] = []
    if file_flag:
        sinks.append(FileSink(file_flag))
    # The config schema makes `sinks` a list.
    for entry in cast(Iterable[object], (settings or {}).get("sinks", []) or []):
        if not isinstance(entry, Mapping):
            continue
        timeout = float(entry.get("timeout", 60))
        if "file" in entry:
            sinks.append(FileSink(str(entry["file"])))
        if "exec" in entry:
            sinks.append(ExecSink(_argv(entry["exec"]), timeout=timeout))
    sinks.extend(ExecSink(_argv(cmd)) for cmd in exec_flags)
    return sinks


def _argv(command: object) -> list[str]:
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    return [str(part) for part in cast(Iterable[object], command)]  # not a str: a list (the schema)
