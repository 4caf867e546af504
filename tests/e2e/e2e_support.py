"""End-to-end helpers: the real CLI against the emulator, in-process or over real HTTP.

Every CLI run made through `run_cli` is scanned for secrets: no output may contain a key
secret or a webhook signing secret unless the run asked for `--show-secrets`.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "emulator"))
from live_server import live_server  # noqa: E402

from reconcile.cli.main import cli  # noqa: E402
from reconcile.client import InfraiClient  # noqa: E402
from reconcile.client.asgi import SyncASGITransport  # noqa: E402
from reconcile.emulator.app import create_app  # noqa: E402

REPO = Path(__file__).parents[2]
EXAMPLES = REPO / "examples"
SECRET_PATTERN = re.compile(r"(ifr_pk_proj_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9+/=]{8,})")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        found = SECRET_PATTERN.findall(text)
        assert not found, f"a secret leaked into output: {found[0][:16]}…"


class Emulator:
    """One emulator database, reachable in-process (`--local DB`) and through an API client."""

    def __init__(self, db: Path):
        self.db = db
        self.app = create_app(str(db))
        self.key = self.app.state.emulator.bootstrap_secret
        self.http = httpx.Client(transport=SyncASGITransport(self.app), base_url="http://emulator")
        self.api = InfraiClient("http://emulator", self.key, http=self.http)

    def close(self) -> None:
        self.api.close()

    # Helpers that look at the account through the API, not through the tool.
    def items(self, path: str) -> list[dict[str, Any]]:
        return self.api.list_all(path)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.api.request("POST", path, json=body or {}).data


