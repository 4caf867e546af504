"""End-to-end fixtures (helpers live in e2e_support.py)."""

from __future__ import annotations

import os

from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from e2e_support import CliResult, Emulator, assert_no_secrets, live_server
from reconcile.cli.main import cli


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator(tmp_path / "account.db")
    yield emu
    emu.close()


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret_scan):
    monkeypatch.chdir(tmp_path)
    secret_scan.directory(tmp_path)  # the session's secret scan (tests/conftest.py) reads what it wrote

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
        runner = CliRunner()
        # Hermetic: the machine's CI markers and INFRAI_* settings (CI itself sets CI=true)
        # must not change what a test sees; a test that wants them passes them in `env`.
        clean: dict[str, str | None] = {k: None for k in os.environ
                                         if k.startswith("INFRAI_") or k.startswith("GITHUB_")
                                         or k in ("CI", "NO_COLOR", "FORCE_COLOR", "GITLAB_CI")}
        result = runner.invoke(cli, list(args), env={**clean, **(env or {})}, input=input, catch_exceptions=True)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        out = CliResult(result.exit_code, result.stdout, result.stderr)
        secret_scan.output(f"reconcile {' '.join(args)}", out.stdout, out.stderr, allow="--show-secrets" in args)
        if "--show-secrets" not in args:
            assert_no_secrets(out.stdout, out.stderr)
        return out

    return run


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    return d


@pytest.fixture
def http_emulator(tmp_path: Path) -> Iterator[tuple[str, str, Emulator]]:
    """The emulator served by uvicorn on a free loopback port: (base_url, key, emulator)."""
    emu = Emulator(tmp_path / "served.db")
    with live_server(emu.app) as url:
        yield url, emu.key, emu
    emu.close()
