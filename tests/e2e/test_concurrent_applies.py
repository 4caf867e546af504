"""Two applies on one account at once (docs/journal.md#concurrency), through the real CLI and
the emulator over HTTP. Bandwidth alerts are the kind the API does not keep unique, so two
overlapping applies used to create each twice. Deterministic: a gate in front of the emulator
holds the first apply's alert calls until the second has been refused (no sleeps)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from e2e_support import Emulator, live_server
from reliability_support import cli_env, finish, start_cli

GATE_TIMEOUT_S = 60.0
ALERTS = "version: 1\nbandwidth_alerts:\n  - threshold: 1GiB\n  - threshold: 2GiB\n  - threshold: 3GiB\n"
LEASE_REFUSAL = "another apply is running on this account: the account lease is held by"


class Gate:
    """ASGI middleware: the first request to `path_part` waits (off the event loop) until
    `release()`; `arrived` is set when it gets there."""

    def __init__(self, app: Any, path_part: str):
        self.app, self.path_part = app, path_part
        self.arrived, self.opened = threading.Event(), threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and self.path_part in scope.get("path", "") and not self.opened.is_set():
            self.arrived.set()
            await asyncio.to_thread(self.opened.wait, GATE_TIMEOUT_S)
        await self.app(scope, receive, send)

    def release(self) -> None:
        self.opened.set()


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[str, str, Emulator, Gate]]:
    emu = Emulator(tmp_path / "gated.db")
    gate = Gate(emu.app, "/bandwidth/alerts/configure")
    try:
        with live_server(gate) as url:
            yield url, emu.key, emu, gate
    finally:
        gate.release()
        emu.close()


def alerts(emu: Emulator) -> list[int]:
    return sorted(a["threshold_bytes"] for a in emu.items("/v1/account/bandwidth/alerts/list"))


def projects(emu: Emulator) -> list[str]:
    return [p["name"] for p in emu.items("/v1/account/projects/list")]


def test_a_second_apply_is_refused_while_the_first_holds_the_account_lease(gated, tmp_path, run_cli, secret_scan):
    url, key, emu, gate = gated
    first_dir, second_dir = tmp_path / "ci-a", tmp_path / "ci-b"
    for d in (first_dir, second_dir):
        d.mkdir()
        (d / "infrai.yaml").write_text(ALERTS)
    args = ("apply", "infrai.yaml", "--auto-approve")
    first = start_cli(*args, env=cli_env(url, key), cwd=first_dir)
    try:
        assert gate.arrived.wait(GATE_TIMEOUT_S), "the first apply never reached its alert calls"
        assert "infrai-reconcile-lease" in projects(emu)  # held while its steps run
        second = run_cli("apply", str(second_dir / "infrai.yaml"), "--auto-approve",
                         env={"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url})
        assert second.exit_code == 1, second.output
        assert LEASE_REFUSAL in second.stderr and "pid " in second.stderr and " since " in second.stderr
        assert "DELETE /v1/account/projects/delete/" in second.stderr  # how to break a stale one
        assert alerts(emu) == []  # the second changed nothing (the first is held at the gate)
    finally:
        gate.release()
        done = finish(first, args, secret_scan)
    assert done.returncode == 0, done.output[-3000:]
    assert alerts(emu) == [2**30, 2 * 2**30, 3 * 2**30]  # each exactly once
    assert "infrai-reconcile-lease" not in projects(emu)  # released
    again = run_cli("plan", str(second_dir / "infrai.yaml"), "--detailed-exitcode",
                    env={"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url})
    assert again.exit_code == 0, again.output


def test_a_dead_holders_lease_expires_and_is_taken_over(run_cli, workdir, http_emulator):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    (workdir / "infrai.yaml").write_text(ALERTS)
    # What a killed apply of another machine leaves: its lease, held for 30 minutes from creation.
    httpx.post(f"{url}/_emulator/clock", json={"now": "2026-01-01T00:00:00Z"}).raise_for_status()
    record = {"holder": "ghost@gone pid 1 run dead", "run_id": "dead", "ttl_seconds": 1800}
    emu.post("/v1/account/projects/create", {"name": "infrai-reconcile-lease",
                                             "metadata": {"infrai-reconcile/lease": record}})
    # Not expired on the API's clock yet: refused, naming the dead holder.
    httpx.post(f"{url}/_emulator/clock", json={"now": "2026-01-01T00:10:00Z"}).raise_for_status()
    refused = run_cli("apply", str(workdir), "--auto-approve", env=env)
    assert refused.exit_code == 1
    assert ("held by ghost@gone pid 1 run dead since 2026-01-01T00:00:00Z (until 2026-01-01T00:30:00Z)"
            in refused.stderr)
    plan = run_cli("plan", str(workdir), "--detailed-exitcode", "--no-color", env=env)
    assert plan.exit_code == 2 and "infrai-reconcile-lease" not in plan.stdout  # no one's config object
    httpx.post(f"{url}/_emulator/clock", json={"now": "2026-01-01T01:00:00Z"}).raise_for_status()
    taken = run_cli("apply", str(workdir), "--auto-approve", env=env)
    assert taken.exit_code == 0, taken.output
    assert alerts(emu) == [2**30, 2 * 2**30, 3 * 2**30]
    assert "infrai-reconcile-lease" not in projects(emu)


def test_duplicates_of_a_declared_alert_are_drift_and_prune_keeps_the_oldest(run_cli, workdir, http_emulator):
    url, key, emu = http_emulator
    env = {"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url}
    (workdir / "infrai.yaml").write_text(ALERTS)
    assert run_cli("apply", str(workdir), "--auto-approve", env=env).exit_code == 0
    oldest = {a["threshold_bytes"]: a["id"] for a in emu.items("/v1/account/bandwidth/alerts/list")}
    httpx.post(f"{url}/_emulator/clock", json={"advance_seconds": 60}).raise_for_status()
    emu.post("/v1/account/bandwidth/alerts/configure", {"threshold_bytes": 2**30})  # what a lost race left
    plan = run_cli("plan", str(workdir), "--detailed-exitcode", "--no-color", env=env)
    assert plan.exit_code == 2, plan.output
    assert "Drift (live, not declared, inside what the config manages): 1 bandwidth alert." in plan.stdout
    assert "(a duplicate of a declared object)" in plan.stdout
    pruned = run_cli("apply", str(workdir), "--prune", "bandwidth_alerts", "--auto-approve", env=env)
    assert pruned.exit_code == 0, pruned.output
    left = {a["threshold_bytes"]: a["id"] for a in emu.items("/v1/account/bandwidth/alerts/list")}
    assert left == oldest
    assert run_cli("plan", str(workdir), "--detailed-exitcode", env=env).exit_code == 0


def test_a_long_apply_renews_its_lease_so_a_second_apply_after_the_ttl_is_still_refused(tmp_path: Path):
    """The lease over HTTP: renewed (its ttl_seconds raised by the time held), judged by the
    emulator's clock moved past the first 30 minutes, a second apply is still refused."""
    from datetime import timedelta

    from reconcile.apply import lease as account_lease
    from reconcile.client import InfraiClient

    emu = Emulator(tmp_path / "lease.db")
    try:
        with live_server(emu.app) as url, InfraiClient(url, emu.key) as client:
            held = account_lease.acquire(client)
            account_lease.renew(client, held, held_for=timedelta(minutes=40))
            record = next(p for p in emu.items("/v1/account/projects/list")
                          if p["name"] == "infrai-reconcile-lease")  # the raw API lists it
            assert record["metadata"]["infrai-reconcile/lease"]["ttl_seconds"] == 1800 + 2400 + 1
            assert emu.http.post("/_emulator/clock", json={"advance_seconds": 45 * 60}).status_code == 200
            with pytest.raises(Exception, match="another apply is running on this account"):
                account_lease.acquire(client)
            account_lease.release(client, held)
            assert "infrai-reconcile-lease" not in projects(emu)
    finally:
        emu.close()


def test_a_lease_that_could_not_be_given_back_is_said_in_the_apply_report(http_emulator, run_cli, workdir,
                                                                             monkeypatch):
    """A note the lease gains while held (lost mid-apply, or not released) reaches the CLI's
    report, not only the one it had when taken."""
    from reconcile.apply import lease as account_lease
    from reconcile.errors import ReconcileError

    url, key, emu = http_emulator

    def refuse(client: Any, project_id: str) -> None:
        raise ReconcileError("503 the API is busy")

    monkeypatch.setattr(account_lease, "_delete", refuse)
    (workdir / "infrai.yaml").write_text(ALERTS)
    done = run_cli("apply", str(workdir), "--endpoint", url, "--auto-approve", env={"INFRAI_API_KEY": key})
    assert done.exit_code == 0, done.output
    assert "the account lease (project infrai-reconcile-lease" in done.output
    assert "could not be released (503 the API is busy); it expires by itself" in done.output
