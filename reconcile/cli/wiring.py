"""Builds what the commands need from flags and environment: the API client (remote, or the
embedded emulator for `--local`) and the run's options.

With `main.py` (which registers the `emulator` command group), the only code outside
`reconcile.emulator` that imports the emulator; the core never does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import click

from ..errors import ReconcileError
from ..workflow.connect import connect
from ..workflow.options import DEFAULT_PARALLELISM, DEFAULT_RETRIES, DEFAULT_RETRY_DELAY, RunOptions
from .common import BOUNDS_META, DEFAULT_LOCAL_DB

if TYPE_CHECKING:
    import httpx

    from ..client import InfraiClient, RetryNotice

DEFAULT_ENDPOINT = "https://api.infrai.cc"
LOCAL_BASE_URL = "http://infrai.local"
SQLITE_HEADER = b"SQLite format 3\x00"
CONFIG_SUFFIXES = (".yaml", ".yml")


def run_options(parallelism: int = DEFAULT_PARALLELISM, retries: int = DEFAULT_RETRIES,
                retry_delay: float = DEFAULT_RETRY_DELAY) -> RunOptions:
    """The run's options: these flags, and the network bounds of the current command's
    options (`--timeout`, `--max-list-items`..., kept in the click context)."""
    ctx = click.get_current_context(silent=True)
    given = {k[len(BOUNDS_META):]: v for k, v in (ctx.meta if ctx else {}).items()
             if k.startswith(BOUNDS_META) and v is not None}
    return RunOptions(parallelism=parallelism, retries=retries, retry_delay=retry_delay, **given)


@dataclass(frozen=True)
class Connection:
    endpoint: str | None
    local_db: str | None
    options: RunOptions = RunOptions()


class RetryPrinter:
    """One line on stderr for a retry a user would notice (a long wait, a slow failure).

    Concurrent calls failing alike (every kind's read against a silent server) wait at the
    same time: a notice the same as one whose wait is still running is not repeated."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._waiting: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def __call__(self, notice: RetryNotice) -> None:
        if not notice.worth_telling:
            return
        now = self._clock()
        key = (notice.reason, notice.attempt)
        with self._lock:
            if self._waiting.get(key, 0.0) > now:
                return
            self._waiting[key] = now + notice.wait
        click.echo(f"Retrying: {notice}", err=True)


@contextlib.contextmanager
def open_client(conn: Connection, *, on_response: Callable[[httpx.Response], None] | None = None
                ) -> Iterator[InfraiClient]:
    """An InfraiClient for the real API (INFRAI_API_KEY) or the in-process emulator.

    `on_response` sees every HTTP answer, retried ones included (`doctor` reads headers of
    error answers with it); then one `httpx.Client` carries every request."""
    hooks = {"response": [on_response]} if on_response is not None else {}
    if conn.local_db is not None:
        # Only --local imports the emulator: the reconciler core never does.
        import sqlite3

        import httpx

        from ..client.asgi import SyncASGITransport
        from ..emulator.app import create_app

        prepare_local_db(conn.local_db)
        try:
            app = create_app(conn.local_db)
        except sqlite3.Error as exc:
            raise ReconcileError(f"--local {conn.local_db}: cannot open the emulator database: {exc}. "
                                 + _LOCAL_HINT) from None
        key = app.state.emulator.bootstrap_secret
        # One event loop serves every request, so the emulator's SQLite connection is used
        # from one thread at a time, as under uvicorn.
        with httpx.Client(transport=SyncASGITransport(app), base_url=LOCAL_BASE_URL, event_hooks=hooks) as http:
            with connect(LOCAL_BASE_URL, key, conn.options, http=http, on_retry=RetryPrinter()) as client:
                yield client
        return
    key = os.environ.get("INFRAI_API_KEY")
    if not key:
        raise ReconcileError(
            "INFRAI_API_KEY is not set: export the API key of the account to manage, "
            "or pass --local to work against the embedded emulator.")
    endpoint = conn.endpoint or os.environ.get("INFRAI_BASE_URL") or DEFAULT_ENDPOINT
    if hooks:
        import httpx

        with httpx.Client(timeout=conn.options.limits.timeout, event_hooks=hooks) as http:
            with connect(endpoint, key, conn.options, http=http, on_retry=RetryPrinter()) as client:
                yield client
        return
    with connect(endpoint, key, conn.options, on_retry=RetryPrinter()) as client:
        yield client


_LOCAL_HINT = (f"--local takes the database file as its value: write --local=DB (e.g. --local={DEFAULT_LOCAL_DB}) "
               "or put --local after the paths.")


def prepare_local_db(path: str) -> None:
    """Refuse a `--local` value that is not an emulator database, before SQLite touches it,
    and create a new database file readable by its owner only (it holds the bootstrap key and
    every secret the emulator issues).

    `plan --local a.yaml b.yaml` takes a.yaml as the database: a config file or directory, or
    an existing file that is not SQLite, is an error with the fix, and is never opened.
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    p = Path(path)
    if p.is_dir() or p.suffix.lower() in CONFIG_SUFFIXES:
        what = "a directory" if p.is_dir() else "a config file"
        raise ReconcileError(f"--local {path}: that is {what}, not an emulator database. {_LOCAL_HINT}")
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        parent = p.parent
        why = f"the directory {parent} does not exist" if not parent.is_dir() else exc.strerror
        raise ReconcileError(f"--local {path}: cannot create the emulator database: {why}.") from None
    else:
        os.close(fd)
        return
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ReconcileError(f"--local {path}: cannot read the emulator database: {exc.strerror}.") from None
    if head and head != SQLITE_HEADER:  # an empty file is a new database
        raise ReconcileError(f"--local {path}: not an emulator database (not a SQLite file). {_LOCAL_HINT}")


def default_recovery_path(secrets_out: str | None) -> Path:
    """Where apply keeps a secret no sink took: beside `--secrets-out`, else the workflow's default."""
    from ..workflow.run import DEFAULT_RECOVERY_PATH

    if secrets_out:
        p = Path(secrets_out)
        return p.with_name(p.name + ".recovery.json")
    return DEFAULT_RECOVERY_PATH
