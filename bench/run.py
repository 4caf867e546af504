"""What a user waits for, against what is physically needed, in one run.

    python bench/run.py --quick    # ~1-2 minutes: 1,000 resources, 200 creates, 3 runs
    python bench/run.py            # the full table (10,000 / 50,000 resources, 1,000 creates, 5 runs):
                                   # ~4 minutes on a quiet 2-CPU machine, up to 15 on a busy one

Prints every row of the table of issue 14 as measured / floor / ratio / goal, whole
processes first, then a breakdown of inner figures; writes docs/benchmarks.md (bench/report.py)
and `--json FILE` if asked; exits 1 when a ratio misses its goal (the pass/fail bound of
each row is in the table), 0 otherwise.

How:
- the emulator (`reconcile emulator serve --latency-ms 20`) runs in its own process pinned
  to CPU 0; this process, and so every command it times, is pinned to CPU 1. The affinity
  of every thread of the emulator and of each timed process is read back and asserted.
- a headline figure is a whole process, as a user types it (`reconcile plan DIR`), timed
  from spawn to exit, config load and secrets file included. Its floor is bench/floor.py,
  timed in the same run, interleaved A B A B (after one unmeasured pair): interpreter
  start, `import yaml, httpx`, libyaml load of the same files, the same requests at the
  same concurrency against the same emulator, `json.loads` of every body. Min and median
  of each; the ratio is the median of the per-pair ratios.
- an apply starts each run (the tool's and the floor's) on a fresh copy of the same
  seeded database, so every run creates the same 1,000 keys.
- the emulator against a bare Starlette + sqlite app is measured by the emulator's own
  comparator (bench/emulator_vs_bare.py), when that script exists; its table is read back.

Benchmarks, not tests: nothing here runs in the test suite at these sizes. Every
subprocess is killed in a `finally`; the whole run stops after --timeout seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path[:0] = [p for p in (str(ROOT), str(BENCH)) if p not in sys.path]

import generate  # noqa: E402
import report  # noqa: E402
from reconcile.client import InfraiClient  # noqa: E402
from reconcile.kinds import KINDS  # noqa: E402

PAGE = 1000  # the API's largest list page (docs/emulator.md, Pagination)
# The API documents these lists without pagination: one GET returns every item.
UNPAGED_BY_API = {"api_key", "bandwidth_alert"}
SERVER_CPU, CLIENT_CPU = 0, 1
FLOOR_SCRIPT = BENCH / "floor.py"
BARE_COMPARATOR = BENCH / "emulator_vs_bare.py"


# -- processes and affinities ------------------------------------------------------------
# Read once, at import: main() then narrows this process to the client's CPU.
_PINNABLE = hasattr(os, "sched_setaffinity") and {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0)


def can_pin() -> bool:
    return _PINNABLE


def task_affinities(pid: int) -> set[frozenset[int]]:
    """The CPU sets of every thread of `pid` (Linux /proc); empty if it is gone."""
    out: set[frozenset[int]] = set()
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    for tid in tids:
        try:
            out.add(frozenset(os.sched_getaffinity(tid)))
        except OSError:
            pass
    return out


class AffinityError(RuntimeError):
    pass


def check_affinity(pid: int, cpu: int, what: str) -> None:
    if not can_pin():
        return
    sets = task_affinities(pid)
    if sets and sets != {frozenset({cpu})}:
        raise AffinityError(f"{what} (pid {pid}) runs on CPUs {sorted(map(sorted, sets))}, not only CPU {cpu}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reconcile_argv() -> list[str]:
    """The `reconcile` a user runs: the console script next to this interpreter."""
    script = Path(sys.executable).parent / "reconcile"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconcile"]


class Emulator:
    """`reconcile emulator serve` in its own process, pinned to the server's CPU (asserted)."""

    def __init__(self, db: str, latency_ms: int, log: Path):
        from reconcile.emulator.app import bootstrap_secret

        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = bootstrap_secret(db)
        cmd = reconcile_argv() + ["emulator", "serve", "--db", db, "--port", str(self.port),
                                  "--latency-ms", str(latency_ms)]
        pin = (lambda: os.sched_setaffinity(0, {SERVER_CPU})) if can_pin() else None
        self._log = open(log, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=pin)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}; see {self._log.name}")
            try:
                httpx.get(self.url + "/_emulator/clock", timeout=0.5)
                check_affinity(self.proc.pid, SERVER_CPU, "the emulator")
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("emulator did not start in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def __enter__(self) -> "Emulator":
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclasses.dataclass
class Sample:
    wall_s: float
    rss_mb: float
    returncode: int
    output: str


class Launcher:
    """bench/launcher.py: forks the timed commands from a small process, so their peak RSS
    is theirs and not this process's (Linux starts a child's count at its parent's size)."""

    _lock = threading.Lock()
    _proc: subprocess.Popen | None = None

    @classmethod
    def run(cls, job: dict[str, Any]) -> dict[str, Any]:
        with cls._lock:
            if cls._proc is None or cls._proc.poll() is not None:
                cls._proc = subprocess.Popen([sys.executable, str(BENCH / "launcher.py")], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, text=True)
            assert cls._proc.stdin is not None and cls._proc.stdout is not None
            cls._proc.stdin.write(json.dumps(job) + "\n")
            cls._proc.stdin.flush()
            answer = cls._proc.stdout.readline()
        if not answer:
            raise RuntimeError("bench/launcher.py stopped")
        return json.loads(answer)

    @classmethod
    def stop(cls) -> None:
        with cls._lock:
            if cls._proc is not None and cls._proc.poll() is None:
                assert cls._proc.stdin is not None
                cls._proc.stdin.close()
                cls._proc.wait(10)
            cls._proc = None


def time_process(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT,
                 timeout: float = 300) -> Sample:
    """Spawn to exit of one process and its peak RSS, pinned to the client's CPU (every
    thread's affinity read back while it runs, and asserted)."""
    with tempfile.NamedTemporaryFile(prefix="infrai-bench-out-") as out:
        result = Launcher.run({"argv": argv, "env": dict(os.environ if env is None else env), "cwd": str(cwd),
                               "out": out.name, "timeout": timeout, "cpu": CLIENT_CPU if can_pin() else None})
        text = Path(out.name).read_bytes().decode(errors="replace")
    if can_pin():
        sets = {frozenset(s) for s in result["affinities"]}
        if sets and sets != {frozenset({CLIENT_CPU})}:
            raise AffinityError(f"{shlex.join(argv[:3])} ran on CPUs {sorted(map(sorted, sets))}, "
                                f"not only CPU {CLIENT_CPU}")
    return Sample(result["wall_s"], result["rss_mb"], result["returncode"], text)


def expect_ok(sample: Sample, what: str) -> Sample:
    if sample.returncode != 0:
        raise RuntimeError(f"{what} exited with {sample.returncode}:\n{sample.output[-2000:]}")
    return sample


@dataclasses.dataclass
class Paired:
    a: list[Sample]
    b: list[Sample]

    @property
    def ratio(self) -> float:
        return statistics.median(x.wall_s / y.wall_s for x, y in zip(self.a, self.b))

    @staticmethod
    def spread(samples: list[Sample]) -> tuple[float, float]:
        walls = [s.wall_s for s in samples]
        return min(walls), statistics.median(walls)


def interleaved(a: Callable[[], Sample], b: Callable[[], Sample], runs: int, *, warmup: bool = True) -> Paired:
    """A B A B ...: pairing keeps the ratio true while the machine's speed drifts."""
    if warmup:
        a(), b()
    pairs = Paired([], [])
    for _ in range(runs):
        pairs.a.append(a())
        pairs.b.append(b())
    return pairs


# -- inner measurements, each in a fresh child interpreter (the breakdown) ----------------
def in_child(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)], cwd=ROOT, capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"child {job['mode']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set of this process (VmHWM), in MB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def measure_plan(client: Any, desired: Any, *, parallelism: int = 10) -> dict[str, Any]:
    """One no-op plan (read live + diff): wall, CPU, HTTP requests and what it found."""
    from reconcile.workflow.engine import make_plan

    before = client.request_count
    cpu0, t0 = time.process_time(), time.perf_counter()
    planned = make_plan(client, desired, parallelism=parallelism)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "requests": client.request_count - before,
            "changes": len(planned.plan.changes), "live_counts": dict(planned.plan.live_counts)}


def child_plan(job: dict[str, Any]) -> dict[str, Any]:
    rss_imports = _status_mb("VmRSS") or float("nan")
    t0 = time.perf_counter()
    desired = generate.load_desired(job["config"])
    load_s = time.perf_counter() - t0
    runs = []
    for _ in range(job["repeats"]):
        with InfraiClient(job["url"], job["key"], max_connections=max(16, 2 * job["parallelism"])) as client:
            runs.append(measure_plan(client, desired, parallelism=job["parallelism"]))
    return {"load_s": load_s, "runs": runs, "rss_imports_mb": rss_imports, "rss_peak_mb": peak_rss_mb()}


def _naive_get(kind: str, item: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The Terraform-style refresh: one read per resource (the smallest list for kinds
    without a GET by id, as providers do)."""
    a = "/v1/account"
    if kind == "project":
        return f"{a}/projects/get/{item['id']}", None
    if kind == "webhook":
        return f"{a}/webhooks/get/{item['id']}", None
    if kind == "api_key":
        return f"{a}/keys/list", {"project_id": item["project_id"], "limit": PAGE}
    if kind == "member":
        return f"{a}/members/list", {"limit": PAGE}
    return f"{a}/bandwidth/alerts/list", None


def child_naive(job: dict[str, Any]) -> dict[str, Any]:
    p = job["parallelism"]
    with InfraiClient(job["url"], job["key"], max_connections=max(16, 2 * p)) as client:
        t0 = time.perf_counter()
        specs = [k for k in KINDS if not k.singleton]
        with ThreadPoolExecutor(p) as pool:
            listed = dict(zip([s.name for s in specs], pool.map(
                lambda s: client.list_all(s.api.list.path, paginated=s.api.paginated), specs)))
            gets = [(k.api.list.path, None) for k in KINDS if k.singleton]
            gets += [_naive_get(kind, item) for kind, items in listed.items() for item in items]
            list(pool.map(lambda g: client.get(g[0], **(g[1] or {})), gets))
        return {"wall_s": time.perf_counter() - t0, "requests": client.request_count, "gets": len(gets)}


def child_apply(job: dict[str, Any]) -> dict[str, Any]:
    """The library's apply_plan alone (no process start, no config load, no secrets file)."""
    from reconcile.workflow.engine import apply_plan, make_plan

    desired = generate.load_desired(job["config"])
    p = job["parallelism"]
    with InfraiClient(job["url"], job["key"], max_connections=max(16, 2 * p)) as client:
        planned = make_plan(client, desired, parallelism=10)
        plan = planned.plan
        before = client.request_count
        cpu0, t0 = time.process_time(), time.perf_counter()
        results = apply_plan(client, plan, planned.live, parallelism=p).results
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        failed = [r for r in results if r.status.value != "succeeded"]
        if failed:
            raise RuntimeError(f"{len(failed)} steps failed, first {failed[0].change.address}: {failed[0].error}")
        levels: dict[str, int] = {}
        for change in plan.changes:
            levels[str(change.level)] = levels.get(str(change.level), 0) + 1
        return {"wall_s": wall, "cpu_s": cpu, "requests": client.request_count - before,
                "changes": len(plan.changes), "levels": levels}


def _changed(desired: Any, fraction: float) -> Any:
    """A copy of `desired` with `fraction` of its resources edited (one field each)."""
    from reconcile.resources import DesiredState

    edits = {
        "project": lambda v: {"metadata": {**(v.get("metadata") or {}), "env": "changed"}},
        "api_key": lambda v: {"scopes": ["account:read", "keys:write"] if v.get("scopes") == ["account:read"]
                              else ["account:read"]},
        "webhook": lambda v: {"description": "changed"},
        "member": lambda v: {"role": "viewer" if v.get("role") != "viewer" else "developer"},
        "bandwidth_alert": lambda v: {"enabled": False},
    }
    step = max(1, round(1 / fraction)) if fraction > 0 else 0
    out = DesiredState(resources=dict(desired.resources), prune=set(desired.prune), stack=desired.stack,
                       sources=desired.sources, settings=dict(desired.settings))
    for i, (address, r) in enumerate(sorted(desired.resources.items())):
        if step and i % step == 0 and r.kind in edits:
            out.resources[address] = dataclasses.replace(r, values={**r.values, **edits[r.kind](r.values)})
    return out


def child_plancpu(job: dict[str, Any]) -> dict[str, Any]:
    """The planner alone on state already in memory (live read once from the seeded DB)."""
    from reconcile.live import read_live
    from reconcile.workflow.options import DEFAULT_PARALLELISM
    from reconcile.live.reader import server_now
    from reconcile.plan import PlanOptions, build_plan

    desired = generate.load_desired(job["config"])
    with generate.local_client(job["db"]) as client:
        live = read_live(client, parallelism=DEFAULT_PARALLELISM)
    options = PlanOptions(now=server_now(live))
    out: dict[str, Any] = {}
    for label, fraction in (("1%", 0.01), ("100%", 1.0)):
        state = _changed(desired, fraction)
        cpus, changes = [], 0
        for _ in range(job["repeats"]):
            cpu0 = time.process_time()
            plan = build_plan(state, live, options)
            cpus.append(time.process_time() - cpu0)
            changes = len(plan.changes)
            del plan
        out[label] = {"cpu_s": statistics.median(cpus), "changes": changes}
    out["rss_peak_mb"] = peak_rss_mb()
    return out


def child_apply_floor(job: dict[str, Any]) -> dict[str, Any]:
    """The library apply's executable floor: the same creates at the same parallelism with
    plain httpx threads (bench/floor.py's `run_requests`, one keep-alive connection a
    worker, an idempotency key each), timed like `child_apply` (no process start, no reads)."""
    import floor

    creates = json.loads(Path(job["creates_file"]).read_text())  # too long for an argv
    t0 = time.perf_counter()
    secrets = floor.run_requests({"url": job["url"], "parallelism": job["parallelism"], "creates": creates},
                                 job["key"])
    wall = time.perf_counter() - t0
    if len(secrets) != len(creates):
        raise RuntimeError(f"the floor made {len(secrets)} of {len(creates)} creates")
    return {"wall_s": wall, "requests": len(secrets)}


CHILDREN = {"plan": child_plan, "naive": child_naive, "apply": child_apply, "applyfloor": child_apply_floor,
            "plancpu": child_plancpu}


# -- floors ------------------------------------------------------------------------------
def read_chains() -> list[dict[str, Any]]:
    """The GETs a full read of the account needs (whoami, singletons, each list)."""
    chains: list[dict[str, Any]] = [{"path": "/v1/account/whoami", "params": None, "paginated": False}]
    for kind in KINDS:
        chains.append({"path": kind.api.list.path, "params": dict(kind.api.list_params) or None,
                       "paginated": bool(not kind.singleton and kind.api.paginated)})
    return chains


def plan_floor(live_counts: dict[str, int], latency_s: float) -> tuple[int, int, float]:
    """(requests, round trips on the critical path, seconds of latency) of the cheapest read."""
    chains = [1]  # whoami
    for kind in KINDS:
        if kind.singleton:
            chains.append(1)
        else:
            n = live_counts.get(kind.name, 0)
            chains.append(1 if kind.name in UNPAGED_BY_API else max(1, math.ceil(n / PAGE)))
    trips = max(chains)
    return sum(chains), trips, trips * latency_s


def apply_floor(levels: dict[str, int], parallelism: int, latency_s: float) -> tuple[int, float]:
    """(requests, seconds): one call per change; per dependency level ceil(n / p) round trips."""
    trips = sum(math.ceil(n / parallelism) for n in levels.values())
    return sum(levels.values()), trips * latency_s


def floor_argv(*args: str) -> list[str]:
    return [sys.executable, str(FLOOR_SCRIPT), *args]


# -- the table ----------------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    """One figure: measured against its floor, the ratio judged against its goal.

    `goal` is what we aim for; `fail` the bound past which the run exits 1 (the goal
    unless the issue says otherwise); `higher` when a larger ratio is better.
    """

    figure: str
    measured: str
    floor: str
    ratio: float | None
    goal: float | None
    fail: float | None = None
    higher: bool = False
    judged: bool = True
    checks: list[tuple[str, bool]] = dataclasses.field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        if self.fail is None:
            self.fail = self.goal

    def _within(self, bound: float | None) -> bool:
        if self.ratio is None or bound is None:
            return True
        return self.ratio >= bound if self.higher else self.ratio <= bound

    @property
    def failed(self) -> bool:
        if not self.judged:
            return False
        if self.ratio is None and self.goal is not None and not self.checks:
            return False  # not measured: said in the status, not a failure of the tool
        return not self._within(self.fail) or not all(ok for _, ok in self.checks)

    @property
    def status(self) -> str:
        if self.ratio is None and self.goal is not None and not self.checks:
            return "not measured"
        if not self.judged:
            return "not judged (--quick size)"
        missed = [name for name, ok in self.checks if not ok]
        if self.failed:
            return "**FAIL** " + ", ".join(missed or ["ratio"])
        if not self._within(self.goal):
            return "missed the goal (within the fail bound)"
        return "met"

    @property
    def goal_text(self) -> str:
        sign = "≥" if self.higher else "≤"
        parts = [f"{sign} {self.goal:g}×"] if self.goal is not None else []
        if self.fail is not None and self.fail != self.goal:
            parts.append(f"fail {'below' if self.higher else 'above'} {self.fail:g}×")
        parts += [name for name, _ in self.checks]
        return ", ".join(parts) or "—"


def _s(x: float) -> str:
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def spread_text(samples: list[Sample]) -> str:
    lo, med = Paired.spread(samples)
    return f"{_s(med)} (min {_s(lo)})"


def headline(figure: str, pairs: Paired, floor_label: str, goal: float, *, fail: float | None = None,
             judged: bool = True, checks: list[tuple[str, bool]] | None = None) -> Row:
    return Row(figure, spread_text(pairs.a), f"{spread_text(pairs.b)}: {floor_label}", pairs.ratio, goal, fail,
               judged=judged, checks=checks or [])


def copy_db(src: str, dst: str) -> None:
    """A copy of an emulator account: the database and its key file (`DB.key`, which seals
    the bootstrap key and every other secret at rest; docs/emulator.md), both 0600."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    os.chmod(dst, 0o600)
    key = Path(src + ".key")
    if key.exists():
        fd = os.open(dst + ".key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.read_bytes())


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.quick = args.quick
        self.latency = args.latency_ms / 1000
        self.runs = args.runs or (3 if args.quick else 5)
        self.deadline = time.monotonic() + args.timeout
        self.work = Path(tempfile.mkdtemp(prefix="infrai-bench-"))
        self.log = self.work / "emulator.log"
        self.rows: list[Row] = []
        self.breakdown: list[Row] = []
        self.notes: list[str] = []

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the benchmark ran past --timeout {self.args.timeout} s")
        return remaining

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def env(self, emu: Emulator | None = None) -> dict[str, str]:
        # PYTHONDONTWRITEBYTECODE would make every timed run compile the reconciler's modules
        # again (a checkout has no bytecode yet), while the floor's libraries, installed, have
        # theirs: an installed `reconcile` has its bytecode too, so the warm-up writes it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAI_") and k != "PYTHONDONTWRITEBYTECODE"}
        env["NO_COLOR"] = "1"
        if emu is not None:
            env.update(INFRAI_BASE_URL=emu.url, INFRAI_API_KEY=emu.key)
        return env

    def proc(self, argv: list[str], what: str, **kw: Any) -> Sample:
        return expect_ok(time_process(argv, timeout=min(300.0, self.left()), **kw), what)

    # -- the steps ---------------------------------------------------------------------
    def seed(self, n: int) -> tuple[Path, str]:
        config = generate.write_config(generate.Shape.of(n), self.work / f"acct{n}")
        db = str(self.work / f"acct{n}.db")
        done = generate.seed_db(db, generate.load_desired(config))
        self.notes.append(f"seeded {n:,} resources in process: {done['changes']:,} creates, "
                          f"{done['requests']:,} requests, {done['seconds']:.1f} s")
        return config, db

    def plans(self, sizes: tuple[int, ...], seeded: dict[int, tuple[Path, str]]) -> None:
        for n in sorted(sizes, reverse=True):
            config, db = seeded[n]
            job = self.work / f"reads{n}.json"
            with Emulator(db, self.args.latency_ms, self.log) as emu:
                job.write_text(json.dumps({"url": emu.url, "parallelism": 10, "reads": read_chains()}))
                self.say(f"plan {n:,}: whole process vs floor")
                pairs = interleaved(
                    lambda: self.proc(reconcile_argv() + ["plan", str(config)], f"reconcile plan ({n})", env=self.env(emu)),
                    lambda: self.proc(floor_argv("--load", str(config), "--requests", str(job)), "plan floor",
                                      env=self.env(emu)), self.runs)
                if "No changes" not in pairs.a[-1].output:
                    raise RuntimeError(f"the plan of the seeded {n:,} account is not a no-op:\n{pairs.a[-1].output[-800:]}")
                big = n >= 10_000
                self.rows.append(headline(
                    f"`reconcile plan` {n:,} resources, no-op", pairs,
                    "python + import yaml, httpx + libyaml load + the same GETs at P=10 + json.loads",
                    1.5, fail=2.0 if big else 1.5, judged=n in (1000, 10_000)))
                self.breakdown.append(Row(f"peak RSS, `reconcile plan` {n:,}",
                                          f"{max(s.rss_mb for s in pairs.a):.0f} MB",
                                          f"{max(s.rss_mb for s in pairs.b):.0f} MB (the floor)", None, None,
                                          checks=[("≤ 150 MB", max(s.rss_mb for s in pairs.a) <= 150)] if big else []))
                self.say(f"plan {n:,}: inner figures")
                inner = in_child({"mode": "plan", "config": str(config), "url": emu.url, "key": emu.key,
                                  "parallelism": 10, "repeats": self.runs}, self.left())
                naive = (in_child({"mode": "naive", "url": emu.url, "key": emu.key, "parallelism": 10}, self.left())
                         if n in (1000, 10_000) else None)
            runs = inner["runs"]
            wall = statistics.median(r["wall_s"] for r in runs)
            f_req, f_trips, f_s = plan_floor(runs[0]["live_counts"], self.latency)
            self.breakdown.append(Row(f"library `make_plan` {n:,}: requests", f"{runs[0]['requests']}", f"{f_req}",
                                      runs[0]["requests"] / f_req, 1.0))
            self.breakdown.append(Row(f"library `make_plan` {n:,}: wall (read + diff, median)", _s(wall),
                                      f"{_s(f_s)} ({f_trips} round trip{'s' * (f_trips > 1)} × latency)",
                                      wall / f_s, None))
            self.breakdown.append(Row(f"library config load {n:,} (YAML → DesiredState, in process)",
                                      _s(inner["load_s"]), "—", None, None))
            if naive is not None:
                speedup = naive["wall_s"] / wall
                self.breakdown.append(Row(
                    f"one GET per resource at P=10 (Terraform-style refresh), {n:,}",
                    f"{_s(naive['wall_s'])}, {naive['requests']:,} requests",
                    f"library plan {_s(wall)}", speedup, 20.0, higher=True,
                    note="ratio = how many times faster the plan is"))

    def validates(self, sizes: tuple[int, ...], configs: dict[int, Path]) -> dict[int, Paired]:
        out = {}
        for n in sorted(sizes, reverse=True):
            config = configs[n]
            self.say(f"validate {n:,}")
            pairs = interleaved(
                lambda: self.proc(reconcile_argv() + ["validate", str(config)], f"reconcile validate ({n})", env=self.env()),
                lambda: self.proc(floor_argv("--load", str(config)), "validate floor", env=self.env()), self.runs)
            out[n] = pairs
            self.rows.append(headline(f"`reconcile validate` {n:,} resources", pairs,
                                      "python + import yaml + libyaml load", 1.5, judged=n in (1000, 10_000)))
        return out

    def startup(self) -> None:
        for flag in ("--version", "--help"):
            self.say(f"reconcile {flag}")
            pairs = interleaved(lambda: self.proc(reconcile_argv() + [flag], f"reconcile {flag}", env=self.env()),
                                lambda: self.proc([sys.executable, "-c", "import click"], "import click", env=self.env()),
                                self.runs)
            self.rows.append(headline(f"`reconcile {flag}`", pairs, "`python -c 'import click'`", 1.5))

    def apply_base(self, keys: int) -> tuple[Path, str, list[dict[str, Any]]]:
        """A seeded account of 10 projects, the config adding `keys` keys to them, and the
        floor's create calls (the same bodies the tool sends)."""
        projects = 10
        base_cfg = generate.write_config(generate.Shape(projects, 0, 0, 0, 0), self.work / "apply-base",
                                         prefix="a", rate_limits=False)
        db = str(self.work / "apply-base.db")
        generate.seed_db(db, generate.load_desired(base_cfg))
        config = generate.write_config(generate.Shape(projects, keys // projects, 0, 0, 0), self.work / "apply",
                                       prefix="a", rate_limits=False)
        with generate.local_client(db) as client:
            ids = {p["name"]: p["id"] for p in client.list_all("/v1/account/projects/list")}
        desired = generate.load_desired(config)
        creates = []
        for r in sorted(desired.resources.values(), key=lambda r: r.address):
            if r.kind == "api_key":
                body = {"project_id": ids[r.values["project"]], "name": r.values["name"]}
                if "scopes" in r.values:
                    body["scopes"] = r.values["scopes"]
                creates.append({"path": "/v1/account/keys/create", "body": body, "secret_field": "key_secret"})
        return config, db, creates

    def applies(self, keys: int) -> None:
        config, base_db, creates = self.apply_base(keys)
        p = 32
        counter = iter(range(10_000))

        def fresh(fn: Callable[[Emulator, Path], Sample]) -> Sample:
            i = next(counter)
            run_dir = self.work / f"apply-run-{i}"
            run_dir.mkdir()
            db = str(run_dir / "account.db")
            copy_db(base_db, db)
            with Emulator(db, self.args.latency_ms, self.log) as emu:
                sample = fn(emu, run_dir)
            shutil.rmtree(run_dir, ignore_errors=True)
            return sample

        def tool(emu: Emulator, run_dir: Path) -> Sample:
            s = self.proc(reconcile_argv() + ["apply", str(config), "--auto-approve", "--parallelism", str(p),
                                              "--secrets-out", str(run_dir / "secrets.json")],
                          "reconcile apply", env=self.env(emu), cwd=run_dir)
            written = json.loads((run_dir / "secrets.json").read_text())["secrets"]
            if len(written) != len(creates):
                raise RuntimeError(f"reconcile apply wrote {len(written)} secrets, not {len(creates)}")
            return s

        def floor(emu: Emulator, run_dir: Path) -> Sample:
            job = run_dir / "job.json"
            job.write_text(json.dumps({"url": emu.url, "parallelism": p, "reads": read_chains(), "creates": creates}))
            return self.proc(floor_argv("--load", str(config), "--requests", str(job),
                                        "--secrets-out", str(run_dir / "floor-secrets.json")),
                             "apply floor", env=self.env(emu), cwd=run_dir)

        self.say(f"apply --secrets-out, {keys:,} key creates at P={p}")
        pairs = interleaved(lambda: fresh(tool), lambda: fresh(floor), self.runs, warmup=False)
        _, f_s = apply_floor({"1": keys}, p, self.latency)
        self.rows.append(headline(
            f"`reconcile apply --secrets-out F`, {keys:,} key creates, P={p}", pairs,
            f"python + imports + libyaml load + the plan's GETs + {keys:,} creates at P={p} ({_s(f_s)} of latency) "
            "+ the secrets file written once", 1.3, judged=keys >= 1000))

        creates_file = self.work / "lib-apply-creates.json"  # the floor's creates, one file for all three
        creates_file.write_text(json.dumps(creates))
        for parallelism, goal in ((10, 1.1), (32, 1.2), (64, 1.5)):
            self.say(f"library apply {keys:,} at P={parallelism}, interleaved with its floor")
            last: dict[str, Any] = {}

            def library(mode: str, parallelism: int = parallelism) -> Sample:
                i = next(counter)
                db = str(self.work / f"lib-apply-{parallelism}-{i}.db")
                copy_db(base_db, db)  # a fresh account each run: every run makes the same creates
                with Emulator(db, self.args.latency_ms, self.log) as emu:
                    r = in_child({"mode": mode, "config": str(config), "url": emu.url, "key": emu.key,
                                  "parallelism": parallelism, "creates_file": str(creates_file)}, self.left())
                if mode == "apply":
                    last.update(r)
                return Sample(r["wall_s"], 0.0, 0, "")

            pairs = interleaved(lambda: library("apply"), lambda: library("applyfloor"), max(1, min(self.runs, 3)),
                                warmup=False)
            r = last
            _, latency_s = apply_floor(r["levels"], parallelism, self.latency)
            self.rows.append(Row(f"library `apply_plan` {r['changes']:,} creates, P={parallelism}",
                                 f"{spread_text(pairs.a)}, {r['requests']:,} requests",
                                 f"{spread_text(pairs.b)}: the same {len(creates):,} creates at P={parallelism} "
                                 f"with plain httpx threads (latency alone: ceil(n / P) × RTT = {_s(latency_s)})",
                                 pairs.ratio, goal, judged=keys >= 1000))
            if parallelism == 32:
                per = r["cpu_s"] / max(1, r["requests"]) * 1000
                self.breakdown.append(Row("client CPU per request (library apply, P=32)", f"{per:.2f} ms", "—",
                                          None, None, checks=[("≤ 0.8 ms", per <= 0.8)]))

    def emulator_vs_bare(self) -> None:
        """The emulator's own comparator (bench/emulator_vs_bare.py, the emulator's area): its
        markdown table `| operation | bare app (req/s) | emulator (req/s) | ratio | goal |`."""
        labels = (("GET by id", "emulator GET by id vs a bare Starlette + sqlite app"),
                  ("list page", "emulator list page vs a bare Starlette + sqlite app"))
        found: dict[str, list[str]] = {}
        why = f"{BARE_COMPARATOR.relative_to(ROOT)} is not there"
        if BARE_COMPARATOR.exists():
            self.say("emulator vs a bare app")
            argv = [sys.executable, str(BARE_COMPARATOR)] + (["--rounds", "3", "--seconds", "1"] if self.quick else [])
            sample = time_process(argv, env=self.env(), timeout=min(600.0, self.left()))  # exits 1 on a miss
            for line in sample.output.splitlines():
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                for prefix, _ in labels:
                    if cells and cells[0].startswith(prefix) and len(cells) >= 4:
                        found[prefix] = cells
            why = f"its output had no table (exit {sample.returncode}): {sample.output.strip()[-200:]}"
        for prefix, figure in labels:
            cells = found.get(prefix)
            if cells is None:
                self.rows.append(Row(figure, "not measured", why, None, 0.9, higher=True))
                continue
            try:
                ratio = float(cells[3].rstrip("×x"))
            except ValueError:
                ratio = None
            self.rows.append(Row(figure, f"{cells[2]} requests/s", f"{cells[1]} requests/s: the bare app, same rows",
                                 ratio, 0.9, higher=True))

    def big_load(self, n: int, reference: tuple[int, Paired]) -> None:
        """`reconcile validate` of a very large config: works, linear, bounded memory."""
        config = generate.write_config(generate.Shape.of(n), self.work / f"acct{n}")
        runs = 3
        self.say(f"validate {n:,} ({runs} runs)")
        pairs = interleaved(
            lambda: time_process(reconcile_argv() + ["validate", str(config)], env=self.env(),
                                 timeout=min(600.0, self.left())),
            lambda: self.proc(floor_argv("--load", str(config)), "validate floor", env=self.env()), runs, warmup=False)
        works = all(s.returncode == 0 for s in pairs.a)
        rss = max(s.rss_mb for s in pairs.a)
        ref_n, ref = reference
        per_big = Paired.spread(pairs.a)[1] / n
        per_ref = Paired.spread(ref.a)[1] / ref_n
        linear = per_big / per_ref
        error = "" if works else next(s.output for s in pairs.a if s.returncode != 0).strip().splitlines()[-1][:200]
        self.rows.append(Row(
            f"`reconcile validate` {n:,} resources (time per resource vs {ref_n:,})",
            f"{spread_text(pairs.a)}, peak RSS {rss:.0f} MB" + (f"; exit {pairs.a[0].returncode}: {error}" if error else ""),
            f"{spread_text(pairs.b)}: libyaml load", linear if works else None, 1.25,
            checks=[("works (exit 0)", works), ("RSS ≤ 300 MB", rss <= 300)], judged=n >= 50_000 or works is False,
            note=f"whole process vs its floor: {pairs.ratio:.2f}×"))

    def planner_cpu(self, n: int, seeded: dict[int, tuple[Path, str]]) -> None:
        config, db = seeded[n]
        self.say(f"planning CPU at {n:,}")
        cpu = in_child({"mode": "plancpu", "config": str(config), "db": db, "repeats": self.runs}, self.left())
        for label in ("1%", "100%"):
            c = cpu[label]
            per = c["cpu_s"] / max(1, c["changes"]) * 1000
            checks = ([("≤ 0.10 s", c["cpu_s"] <= 0.10)] if label == "1%" else [("≤ 0.6 ms per change", per <= 0.6)])
            self.breakdown.append(Row(f"`build_plan` CPU, {n:,} resources, {label} changed ({c['changes']:,} changes)",
                                      f"{c['cpu_s']:.3f} s ({per:.2f} ms per change)", "—", None, None,
                                      checks=checks if n >= 10_000 else []))
        self.breakdown.append(Row(f"peak RSS, planning {n:,} resources, everything changed",
                                  f"{cpu['rss_peak_mb']:.0f} MB", "—", None, None,
                                  checks=[("≤ 200 MB", cpu["rss_peak_mb"] <= 200)] if n >= 10_000 else []))

    def run(self) -> None:
        plan_sizes = (1000,) if self.quick else (1000, 10_000)
        big = 5000 if self.quick else 50_000
        keys = 200 if self.quick else 1000
        try:
            seeded = {n: self.seed(n) for n in plan_sizes}
            self.plans(plan_sizes, seeded)
            validated = self.validates(plan_sizes, {n: c for n, (c, _) in seeded.items()})
            self.startup()
            self.applies(keys)
            self.emulator_vs_bare()
            ref = max(plan_sizes)
            self.big_load(big, (ref, validated[ref]))
            self.planner_cpu(max(plan_sizes), seeded)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "cpu_model": model, "pinned": can_pin()}


_OUTPUT_FLAGS = ("--json", "--out", "--before", "--no-docs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 resources, 200 creates, 3 runs (~1-2 minutes)")
    parser.add_argument("--runs", type=int, help="measured runs of each figure (default 5, --quick 3)")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=1800, help="stop after this many seconds")
    parser.add_argument("--out", default=str(report.DOCS), help="markdown file to write (default docs/benchmarks.md)")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    parser.add_argument("--json", dest="json_out", help="also write the results as JSON (bench/report.py renders it)")
    parser.add_argument("--before", help="an earlier run's --json, for a before → after table in the page")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(CHILDREN[job["mode"]](job)))
        return 0
    if can_pin():
        os.sched_setaffinity(0, {CLIENT_CPU})  # inherited by every timed process (asserted)
    started = time.monotonic()
    load_before = os.getloadavg()
    bench = Bench(args)
    try:
        bench.run()
    finally:
        Launcher.stop()
    given = list(argv if argv is not None else sys.argv[1:])
    # The command as the figures depend on it (where the output goes does not matter).
    shown = ["python", "bench/run.py"] + [a for i, a in enumerate(given) if a not in _OUTPUT_FLAGS
                                          and (i == 0 or given[i - 1] not in _OUTPUT_FLAGS[:-1])]
    results = {
        "command": shlex.join(shown),
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "latency_ms": args.latency_ms, "runs": bench.runs, "quick": args.quick,
        "load_before": load_before, "load_after": os.getloadavg(), "seconds": time.monotonic() - started,
        "rows": [report.row_dict(r) for r in bench.rows],
        "breakdown": [report.row_dict(r) for r in bench.breakdown],
        "notes": bench.notes,
    }
    before = json.loads(Path(args.before).read_text()) if args.before else None
    text = report.render(results, before)
    print(report.table(results["rows"]))
    print(report.table(results["breakdown"]))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    if not args.no_docs:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    failed = [r.figure for r in bench.rows if r.failed]
    if failed:
        print("missed its goal: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks on kill
    raise SystemExit(main())
