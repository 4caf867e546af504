"""Builds what the commands need from flags and environment: the API client (remote, or the
embedded emulator for `--local`), the secret sinks, and the colour decision.

This is the only module outside `reconcile.emulator` that imports the emulator.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from ..client import InfraiClient, RetryPolicy
from ..client.asgi import SyncASGITransport
from ..errors import ReconcileError

DEFAULT_ENDPOINT = "https://api.infrai.cc"
DEFAULT_LOCAL_DB = ".infrai-local.db"
LOCAL_BASE_URL = "http://infrai.local"


@dataclass(frozen=True)
class Connection:
    endpoint: str | None
    local_db: str | None
    parallelism: int = 10
    retries: int = 5
    retry_delay: float = 0.2

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.retries + 1, base_delay=self.retry_delay)


@contextlib.contextmanager
def open_client(conn: Connection) -> Iterator[InfraiClient]:
    """An InfraiClient for the real API (INFRAI_API_KEY) or the in-process emulator."""
    max_connections = max(16, conn.parallelism * 2)
    if conn.local_db is not None:
        # Only --local imports the emulator: the reconciler core never does.
        from ..emulator.app import create_app

        app = create_app(conn.local_db)
        key = app.state.emulator.bootstrap_secret
        # One event loop serves every request, so the emulator's SQLite connection is used
        # from one thread at a time, as under uvicorn.
        with httpx.Client(transport=SyncASGITransport(app), base_url=LOCAL_BASE_URL) as http:
            with InfraiClient(LOCAL_BASE_URL, key, http=http, max_connections=max_connections,
                              retry=conn.retry_policy) as client:
                yield client
        return
    key = os.environ.get("INFRAI_API_KEY")
    if not key:
        raise ReconcileError(
            "INFRAI_API_KEY is not set: export the API key of the account to manage, "
            "or pass --local to work against the embedded emulator.")
    endpoint = conn.endpoint or os.environ.get("INFRAI_BASE_URL") or DEFAULT_ENDPOINT
    with InfraiClient(endpoint, key, max_connections=max_connections, retry=conn.retry_policy) as client:
        yield client


def use_color(choice: str, stream: object = None) -> bool:
    """`--color auto|always|never`, honouring NO_COLOR and FORCE_COLOR like most CLIs."""
    if choice == "never":
        return False
    if choice == "always":
        return True
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def default_recovery_path(secrets_out: str | None) -> Path:
    if secrets_out:
        p = Path(secrets_out)
        return p.with_name(p.name + ".recovery.json")
    return Path(".infrai-secrets.json")
