"""`--parallelism N` bounds the requests in flight on every path, counted at the emulator:
`apply PLANFILE` (its re-read of live state used to run 8 wide whatever N said) and `adopt`
(likewise), through the CLI as a subprocess against the emulator served over HTTP.

Every `/v1` request is held `latency_ms` by the emulator's own fault injection, so requests
that may overlap do; an ASGI wrapper counts how many are in flight at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from e2e_support import Emulator, live_server
from reliability_support import Account, cli_env, run_cli_process

PROJECTS = 12


class InFlight:
    """ASGI middleware: the most `/v1` requests in flight at once since `reset()`. One event
    loop serves them all, so plain integers are safe."""

    def __init__(self, app: Any):
        self.app, self.now, self.peak = app, 0, 0

    def reset(self) -> None:
        self.peak = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


@pytest.fixture
def counted(tmp_path: Path, secret_scan) -> Iterator[tuple[dict[str, str], InFlight, Account]]:
    emu = Emulator(tmp_path / "served.db")
    counter = InFlight(emu.app)
    secret_scan.directory(tmp_path)
    with live_server(counter) as url:
        account = Account(url, emu.key)
        try:
            yield cli_env(url, emu.key), counter, account
        finally:
            account.faults()
            account.close()
    emu.close()


def test_apply_planfile_honours_parallelism(counted, tmp_path, secret_scan):
    env, counter, account = counted
    (tmp_path / "infrai.yaml").write_text("version: 1\nprojects:\n"
                                          + "".join(f"  - name: p{i}\n" for i in range(PROJECTS)))
    saved = run_cli_process("plan", "infrai.yaml", "--out", "plan.json", env=env, cwd=tmp_path, scan=secret_scan)
    assert saved.returncode == 0, saved.output
    account.faults(latency_ms=150)
    counter.reset()
    applied = run_cli_process("apply", "plan.json", "--auto-approve", "--parallelism", "3",
                              env=env, cwd=tmp_path, scan=secret_scan)
    assert applied.returncode == 0, applied.output
    assert counter.peak == 3, counter.peak  # never more, and really that many
    assert len(account.items("/v1/account/projects/list")) == PROJECTS + 1


def test_adopt_honours_parallelism(counted, tmp_path, secret_scan):
    env, counter, account = counted
    for i in range(4):
        account.api.request("POST", "/v1/account/projects/create", json={"name": f"p{i}"})
    account.faults(latency_ms=150)
    counter.reset()
    adopted = run_cli_process("adopt", "--stack", "blue", *(f"projects.p{i}" for i in range(4)), "--parallelism", "3",
                              env=env, cwd=tmp_path, scan=secret_scan)
    assert adopted.returncode == 0, adopted.output
    assert adopted.stdout.count("adopted") == 4, adopted.stdout
    assert counter.peak == 3, counter.peak


def test_one_default_everywhere():
    import inspect

    from reconcile.workflow import engine
    from reconcile.workflow.adopt import adopt
    from reconcile.cli.main import cli
    from reconcile.workflow.options import DEFAULT_PARALLELISM

    for fn in (engine.make_plan, engine.replan_saved, engine.with_impacts, engine.apply_plan, adopt):
        assert inspect.signature(fn).parameters["parallelism"].default == DEFAULT_PARALLELISM, fn.__name__
    ctx = cli.make_context("reconcile", ["plan", "x"], resilient_parsing=True)
    for name in ("plan", "apply", "adopt", "export", "graph"):
        option = next(p for p in cli.get_command(ctx, name).params if p.name == "parallelism")
        assert option.default == DEFAULT_PARALLELISM, name


def test_no_function_writes_its_own_parallelism_default():
    """Every `parallelism=` default below the CLI is the one default by name, never a number
    of its own (status, webhooks and checks once brought back 8 and 4)."""
    import ast
    from pathlib import Path

    package = Path(__file__).parents[2] / "reconcile"
    own = []
    for path in package.rglob("*.py"):
        if "emulator" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                positional = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
                keyword = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
                own += [f"{path.relative_to(package)}:{node.lineno} {node.name}" for a, d in positional + keyword
                        if a.arg == "parallelism" and isinstance(d, ast.Constant)]
    assert not own, f"parallelism defaults written as numbers: {own}"
