"""What the action's tests share: a fake GitHub REST API on a free loopback port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_github import FakeGitHub

sys.path.insert(0, str(Path(__file__).parents[1] / "emulator"))
from live_server import live_server  # noqa: E402


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with live_server(fake.app()) as url:
        fake.api_url = f"{url}/api/v3"  # served under /api/v3, as GitHub Enterprise Server does
        yield fake
