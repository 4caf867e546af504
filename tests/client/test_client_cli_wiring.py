"""How the CLI wires the client: the network options (--timeout, caps, retry budget) and
their environment variables reach it, defaults are the client's own, retry notices are
printed once per wait, and an unexpected failure is one line, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconcile import client
from reconcile.cli import wiring
from reconcile.cli.main import cli
from reconcile.client import ClientLimits, RetryNotice, RetryPolicy

EXAMPLE = str(Path(__file__).parents[2] / "examples" / "quickstart")


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    real = client.InfraiClient

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    # wiring imports the client when a command connects (not at start): patch it at its home.
    monkeypatch.setattr(client, "InfraiClient", spy)
    return seen


def plan(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
    result = CliRunner().invoke(cli, ["plan", EXAMPLE, f"--local={tmp_path / 'a.db'}", *args], env=env)
    assert result.exit_code == 0, result.output


def test_defaults_are_the_clients(tmp_path: Path, built: list[dict[str, Any]]) -> None:
    plan(tmp_path)
    assert built[0]["limits"] == ClientLimits()
    policy = built[0]["retry"]
    assert (policy.max_retry_after, policy.retry_budget) == (RetryPolicy().max_retry_after, RetryPolicy().retry_budget)


def test_options_and_environment_reach_the_client(tmp_path: Path, built: list[dict[str, Any]]) -> None:
    plan(tmp_path, "--timeout", "3", "--connect-timeout", "1.5", "--max-list-pages", "9", "--retry-budget", "7",
         env={"INFRAI_MAX_RESPONSE_MIB": "2", "INFRAI_MAX_LIST_ITEMS": "500", "INFRAI_MAX_RETRY_WAIT": "4"})
    assert built[0]["limits"] == ClientLimits(timeout=3.0, connect_timeout=1.5, max_response_bytes=2 * 1024 * 1024,
                                              max_list_items=500, max_list_pages=9)
    assert (built[0]["retry"].max_retry_after, built[0]["retry"].retry_budget) == (4.0, 7.0)
    assert isinstance(built[0]["on_retry"], wiring.RetryPrinter)


def test_concurrent_identical_waits_print_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    printer = wiring.RetryPrinter(clock=lambda: now[0])
    def notice(url: str, wait: float, attempt: int = 1, took: float = 0.0) -> RetryNotice:
        return RetryNotice("GET", url, attempt, 6, wait, "no complete answer", took)

    printer(notice("/a", 3.0))
    printer(notice("/b", 3.0))       # the same failure while the first still waits: folded
    printer(notice("/c", 0.1))       # short and quick: never printed
    printer(notice("/d", 0.1, attempt=2, took=15.0))  # short wait after a 15 s attempt: printed
    now[0] = 5.0
    printer(notice("/e", 3.0))       # the first wait is over: a new line
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":", 2)[1].strip() for line in lines] == ["GET /a", "GET /d", "GET /e"]


@pytest.mark.parametrize("bad", [["--timeout", "0"], ["--max-list-pages", "0"], ["--max-response-mib", "x"]])
def test_bad_values_are_usage_errors(tmp_path: Path, bad: list[str]) -> None:
    result = CliRunner().invoke(cli, ["plan", EXAMPLE, f"--local={tmp_path / 'a.db'}", *bad])
    assert result.exit_code == 1 and "Invalid value" in result.output


@pytest.mark.parametrize("failure, line", [
    (RuntimeError("boom\nwith details"), "Error: internal error: RuntimeError: boom with details. This is a bug in "
                                         "infrai-reconcile: please report it with the command you ran (-vv logs the "
                                         "traceback)"),
    (MemoryError(), "Error: ran out of memory. If an answer of the API is that large, lower --max-response-mib"),
])
def test_unexpected_failure_is_one_line_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          failure: BaseException, line: str) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(client, "InfraiClient", broken)
    result = CliRunner().invoke(cli, ["plan", EXAMPLE, f"--local={tmp_path / 'a.db'}"])
    assert result.exit_code == 1
    assert not isinstance(result.exception, (RuntimeError, MemoryError))  # handled, not raised
    assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output
