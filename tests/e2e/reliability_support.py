"""Helpers of the reliability suite (test_reliability_*.py): the CLI as a real subprocess,
the account seen through the API over HTTP (never through the tool), and the checks that an
account converged with no duplicate anywhere.

Every subprocess run is registered with the session's secret scan (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from reconcile.client import InfraiClient

REPO = Path(__file__).parents[2]
#: Hard bound of one CLI subprocess; the runs take well under a second or two.
RUN_TIMEOUT_S = 60


def config(projects: int = 5, keys: int = 4, webhooks: int = 3, alerts: int = 3, members: int = 3) -> str:
    """A few dozen resources of every kind that has a list (and the budget singleton)."""
    text = "version: 1\ntier: pro\nbudget: {period: monthly, hard_cap_usd: 900, alert_threshold_usd: 700}\nprojects:\n"
    for p in range(projects):
        text += f"  - name: proj-{p}\n    scopes: [account:read, keys:write]\n    metadata: {{n: '{p}'}}\n    keys:\n"
        text += "".join(f"      - name: key-{k}\n        scopes: [account:read]\n" for k in range(keys))
    text += "webhooks:\n" + "".join(f"  - url: https://hooks{w}.example.com/in\n    events: [key.created]\n"
                                    for w in range(webhooks))
    text += "bandwidth_alerts:\n" + "".join(f"  - threshold: {g + 1}GiB\n" for g in range(alerts))
    text += "members:\n" + "".join(f"  - email: person{m}@example.com\n    role: developer\n" for m in range(members))
    return text


def expected_counts(projects: int = 5, keys: int = 4, webhooks: int = 3, alerts: int = 3, members: int = 3) -> int:
    """The number of mutating steps a fresh apply of `config(...)` makes (budget included;
    the tier is already pro on a fresh emulator only if the plan says so, see callers)."""
    return projects + projects * keys + webhooks + alerts + members


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli_env(url: str, key: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAI_")}
    env.update({"INFRAI_API_KEY": key, "INFRAI_BASE_URL": url, "INFRAI_RETRY_DELAY": "0.01",
                "NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    env.update(extra)
    return env


#: Runs the CLI with a SIGKILL injected at a journal call (the crash tests' fault point).
CRASH_LAUNCHER = Path(__file__).with_name("crash_launcher.py")


def start_cli(*args: str, env: dict[str, str], cwd: Path, kill_at: str | None = None) -> subprocess.Popen[str]:
    """`reconcile ARGS` as a subprocess; with `kill_at` (`N` or `N:sent`, crash_launcher.py)
    it is SIGKILLed at that call."""
    command = [sys.executable, str(CRASH_LAUNCHER), kill_at] if kill_at else [sys.executable, "-m", "reconcile"]
    return subprocess.Popen([*command, *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def finish(proc: subprocess.Popen[str], args: tuple[str, ...] | list[str], scan: Any) -> Run:
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(f"reconcile {' '.join(args)} did not finish in {RUN_TIMEOUT_S} s:\n{stderr[-2000:]}")
    run = Run(list(args), proc.returncode, stdout, stderr)
    scan.output(f"subprocess reconcile {' '.join(args)}", stdout, stderr, allow="--show-secrets" in args)
    return run


def run_cli_process(*args: str, env: dict[str, str], cwd: Path, scan: Any, kill_at: str | None = None) -> Run:
    return finish(start_cli(*args, env=env, cwd=cwd, kill_at=kill_at), args, scan)


def wait_for_progress(proc, limit_lines: int = 200) -> str:
    """Read stderr until a step has finished ("[1/N] ..."); bounded in lines and time."""
    seen = ""
    for _ in range(limit_lines):
        ready, _, _ = select.select([proc.stderr], [], [], RUN_TIMEOUT_S)
        assert ready, "apply printed no progress"
        line = proc.stderr.readline()
        assert line, f"apply ended before any step finished:\n{seen}"
        seen += line
        if re.match(r"\[\d+/\d+\] ", line):
            return seen
    raise AssertionError(f"no progress line in {limit_lines} lines:\n{seen}")


class Account:
    """The account read through the API over HTTP (a second client, not the tool's)."""

    def __init__(self, url: str, key: str):
        self.url = url
        self.api = InfraiClient(url, key)

    def close(self) -> None:
        self.api.close()

    def items(self, path: str) -> list[dict[str, Any]]:
        return self.api.list_all(path)

    def faults(self, **settings: Any) -> None:
        httpx.post(f"{self.url}/_emulator/faults", json=settings, timeout=10).raise_for_status()

    def snapshot(self) -> dict[str, Counter]:
        """Identity → count for every listable kind (a count above 1 is a duplicate)."""
        projects = self.items("/v1/account/projects/list")
        names = {p["id"]: p["name"] for p in projects}
        keys = [k for k in self.items("/v1/account/keys/list") if k.get("status") != "revoked"]
        return {
            "projects": Counter(p["name"] for p in projects),
            "keys": Counter((names.get(k["project_id"]), k.get("name")) for k in keys),
            "webhooks": Counter(w["url"] for w in self.items("/v1/account/webhooks/list")),
            "alerts": Counter(a["threshold_bytes"] for a in self.items("/v1/account/bandwidth/alerts/list")),
            "members": Counter(m["email"].lower() for m in self.items("/v1/account/members/list")),
        }

    def created_keys(self) -> dict[str, str]:
        """Address → key id of every active key outside the bootstrap project."""
        projects = {p["id"]: p["name"] for p in self.items("/v1/account/projects/list")}
        return {f"projects.{projects[k['project_id']]}.keys.{k['name']}": k["key_id"]
                for k in self.items("/v1/account/keys/list")
                if k.get("status") != "revoked" and projects.get(k["project_id"]) != "default"}


def assert_converged(account: Account, projects: int = 5, keys: int = 4, webhooks: int = 3, alerts: int = 3,
                     members: int = 3) -> None:
    """Live equals `config(...)`, each identity exactly once (plus the bootstrap project/key)."""
    snap = account.snapshot()
    for kind, counter in snap.items():
        dupes = {k: n for k, n in counter.items() if n > 1}
        assert not dupes, f"duplicate {kind}: {dupes}"
    assert set(snap["projects"]) == {"default"} | {f"proj-{p}" for p in range(projects)}
    assert set(snap["keys"]) == {("default", "bootstrap")} | {
        (f"proj-{p}", f"key-{k}") for p in range(projects) for k in range(keys)}
    assert set(snap["webhooks"]) == {f"https://hooks{w}.example.com/in" for w in range(webhooks)}
    assert set(snap["alerts"]) == {(g + 1) * 2**30 for g in range(alerts)}
    assert {f"person{m}@example.com" for m in range(members)} <= set(snap["members"])
    budget = account.api.request("GET", "/v1/account/budget/get").data
    assert budget.get("hard_cap_usd") == 900, budget


def secrets_on_file(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    return json.loads(path.read_text())["secrets"]


@pytest.fixture
def account(http_emulator: tuple[str, str, Any]) -> Iterator[Account]:
    """The served emulator's account, seen through a client of the test's own."""
    url, key, _ = http_emulator
    acc = Account(url, key)
    yield acc
    acc.close()
