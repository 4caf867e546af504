"""Benchmarks of the reconciler against the emulator, side by side in one run.

One command runs everything and writes docs/benchmarks.md (the table, the floors, and the
exact command that produced it):

    python bench/run.py            # the full run (1,000 and 10,000 resources; ~3 minutes)
    python bench/run.py --quick    # a small fast run (~30 s)

What it does:
- generates accounts (bench/generate.py) and seeds emulator databases in process;
- serves each database with `reconcile emulator serve --latency-ms 20` in its own process on a
  free loopback port, pinned to CPU 0 (this process and its measuring children to CPU 1);
- measures, each in a fresh child process (so peak RSS is that of one plan alone):
  the no-op plan (wall, HTTP requests, peak RSS), one GET per resource at parallelism 10 (the
  Terraform-style refresh), applies of N creates at parallelism 1/10/32 and as plain
  sequential calls, and the planner's CPU on 10,000 resources already in memory;
- reports each figure next to its floor (the fewest requests the API allows; the critical
  path of round trips x latency) and the ratio to it, against the issue's targets and the
  aims of /work/shared/PERFORMANCE.md.

Benchmarks, not tests: nothing here asserts a time. Every emulator subprocess is killed in a
`finally`, and the whole run stops after --timeout seconds.
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
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "bench")) if p not in sys.path]

import generate  # noqa: E402
from reconcile.client import InfraiClient  # noqa: E402
from reconcile.kinds import KINDS, REGISTRY  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
PAGE = 1000  # the API's largest list page (docs/emulator.md, Pagination)
# The API documents these lists without pagination: one GET returns every item.
UNPAGED_BY_API = {"api_key", "bandwidth_alert"}
# PERFORMANCE.md: the client's CPU to parse a 10,000-resource account, ~0.10 s: no plan can
# beat it however short the round trips are.
PARSE_FLOOR_S_PER_RESOURCE = 0.10 / 10_000
SERVER_CPU, CLIENT_CPU = 0, 1


# -- processes ------------------------------------------------------------------------
def _cpus() -> set[int]:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()


def pin(cpu: int) -> None:
    """Pin this process to `cpu` when the machine has it (Linux); otherwise leave it."""
    if hasattr(os, "sched_setaffinity") and cpu in _cpus() and len(_cpus()) > 1:
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """`reconcile emulator serve` in its own process, pinned to the server's CPU."""

    def __init__(self, db: str, latency_ms: int, log: Path):
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        from reconcile.emulator.app import bootstrap_secret

        self.key = bootstrap_secret(db)
        cmd = [sys.executable, "-m", "reconcile", "emulator", "serve", "--db", db, "--port", str(self.port),
               "--latency-ms", str(latency_ms)]
        if shutil.which("taskset") and len(_cpus()) > 1:
            cmd = ["taskset", "-c", str(SERVER_CPU)] + cmd
        self.command = cmd
        self._log = open(log, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}; see {self._log.name}")
            try:
                httpx.get(self.url + "/_emulator/clock", timeout=0.5)
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


def in_child(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (pinned like this process); its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)], cwd=ROOT, capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"child {job['mode']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- what the children measure -----------------------------------------------------------
def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (Linux), in MB; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set of this process (VmHWM), in MB: what the machine had to give it."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def current_rss_mb() -> float:
    value = _status_mb("VmRSS")
    return float("nan") if value is None else value


def measure_plan(client: Any, desired: Any, *, parallelism: int = 10) -> dict[str, Any]:
    """One no-op plan (read live + diff): wall, CPU, HTTP requests and what it found."""
    from reconcile.engine import make_plan

    before = client.request_count
    cpu0, t0 = time.process_time(), time.perf_counter()
    planned = make_plan(client, desired, parallelism=parallelism)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "requests": client.request_count - before,
            "changes": len(planned.plan.changes), "live_counts": dict(planned.plan.live_counts)}


def child_plan(job: dict[str, Any]) -> dict[str, Any]:
    rss_imports = current_rss_mb()
    t0 = time.perf_counter()
    desired = generate.load_desired(job["config"])
    load_s = time.perf_counter() - t0
    runs = []
    for _ in range(job["repeats"]):
        # A new client each time: cold connections, as a `reconcile plan` process has.
        with InfraiClient(job["url"], job["key"], max_connections=max(16, 2 * job["parallelism"])) as client:
            runs.append(measure_plan(client, desired, parallelism=job["parallelism"]))
    return {"load_s": load_s, "runs": runs, "rss_imports_mb": rss_imports, "rss_peak_mb": peak_rss_mb()}


# The Terraform-style refresh: one Read per resource. Kinds without a GET-by-id are read as
# a provider reads them: the smallest list that holds the object, filtered client-side.
def _naive_get(kind: str, item: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
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
            # 1) list ids (the cheapest way to learn what exists), 2) one GET per resource.
            listed = dict(zip([s.name for s in specs], pool.map(
                lambda s: client.list_all(s.api.list.path, paginated=s.api.paginated), specs)))
            gets = [(k.api.list.path, None) for k in KINDS if k.singleton]
            gets += [_naive_get(kind, item) for kind, items in listed.items() for item in items]
            list(pool.map(lambda g: client.get(g[0], **(g[1] or {})), gets))
        return {"wall_s": time.perf_counter() - t0, "requests": client.request_count, "gets": len(gets)}


def child_apply(job: dict[str, Any]) -> dict[str, Any]:
    from reconcile.apply.executor import Executor
    from reconcile.engine import apply_plan, make_plan
    from reconcile.apply import live_ids

    desired = generate.load_desired(job["config"])
    p = job["parallelism"]
    with InfraiClient(job["url"], job["key"], max_connections=max(16, 2 * p)) as client:
        planned = make_plan(client, desired, parallelism=10)
        plan = planned.plan
        levels: dict[int, int] = {}
        for change in plan.changes:
            levels[change.level] = levels.get(change.level, 0) + 1
        before = client.request_count
        cpu0, t0 = time.process_time(), time.perf_counter()
        if job["sequential"]:
            # The naive apply: the same calls, one after another, no scheduler.
            executor = Executor(client, plan, live_ids=live_ids(planned.live))
            results = [executor._run_step(change) for change in plan.changes]
        else:
            results = apply_plan(client, plan, planned.live, parallelism=p).results
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        failed = [r for r in results if r.status.value != "succeeded"]
        if failed:
            raise RuntimeError(f"{len(failed)} steps failed, first {failed[0].change.address}: {failed[0].error}")
        return {"wall_s": wall, "cpu_s": cpu, "requests": client.request_count - before,
                "changes": len(plan.changes), "levels": {str(k): v for k, v in sorted(levels.items())}}


def _changed(desired: Any, fraction: float) -> Any:
    """A copy of `desired` with `fraction` of its resources edited (one field each)."""
    from reconcile.state import DesiredState

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
    from reconcile.live.reader import server_now
    from reconcile.plan import PlanOptions, build_plan

    desired = generate.load_desired(job["config"])
    with generate.local_client(job["db"]) as client:
        live = read_live(client)
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


CHILDREN = {"plan": child_plan, "naive": child_naive, "apply": child_apply, "plancpu": child_plancpu}


# -- floors --------------------------------------------------------------------------------
def plan_floor(live_counts: dict[str, int], latency_s: float, resources: int) -> tuple[int, int, float]:
    """(requests, round trips on the critical path, seconds) of the cheapest possible read.

    whoami + one GET per singleton + the pages of each list (1,000 a page; one request for a
    list the API documents unpaged). Kinds are independent, so the critical path is the
    longest chain of pages; never below the client's CPU to parse what it read.
    """
    chains = [1]  # whoami
    for kind in KINDS:
        if kind.singleton:
            chains.append(1)
        else:
            n = live_counts.get(kind.name, 0)
            chains.append(1 if kind.name in UNPAGED_BY_API else max(1, math.ceil(n / PAGE)))
    trips = max(chains)
    return sum(chains), trips, max(trips * latency_s, resources * PARSE_FLOOR_S_PER_RESOURCE)


def apply_floor(levels: dict[str, int], parallelism: int, latency_s: float) -> tuple[int, float]:
    """(requests, seconds): one call per change; per dependency level ceil(n / p) round trips."""
    trips = sum(math.ceil(n / parallelism) for n in levels.values())
    return sum(levels.values()), trips * latency_s


# -- the run --------------------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    figure: str
    value: str
    floor: str
    ratio: str
    target: str
    aim: str


def ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


def run(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    latency = args.latency_ms / 1000
    plan_sizes = (1000,) if args.quick else (1000, 10_000)
    apply_n = 200 if args.quick else 1000
    naive_sizes = plan_sizes if not args.quick else (1000,)
    cpu_size = 1000 if args.quick else 10_000
    repeats = 5
    rows: list[Row] = []
    notes: list[str] = []
    deadline = time.monotonic() + args.timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the benchmark ran past --timeout {args.timeout} s")
        return remaining

    work = Path(tempfile.mkdtemp(prefix="infrai-bench-"))
    log = work / "emulator.log"
    try:
        seeded: dict[int, tuple[Path, str]] = {}
        for n in sorted(set(plan_sizes) | {cpu_size}):
            config = generate.write_config(generate.Shape.of(n), work / f"acct{n}")
            db = str(work / f"acct{n}.db")
            done = generate.seed_db(db, generate.load_desired(config))
            notes.append(f"seeded {n:,} resources in process: {done['changes']:,} creates, "
                         f"{done['requests']:,} requests, {done['seconds']:.1f} s")
            seeded[n] = (config, db)
            left()

        # -- no-op plans and the one-GET-per-resource baseline, against the same server
        for n in plan_sizes:
            config, db = seeded[n]
            with Emulator(db, args.latency_ms, log) as emu:
                res = in_child({"mode": "plan", "config": str(config), "url": emu.url, "key": emu.key,
                                "parallelism": 10, "repeats": repeats}, left())
                naive = (in_child({"mode": "naive", "url": emu.url, "key": emu.key, "parallelism": 10}, left())
                         if n in naive_sizes else None)
            wall = statistics.median(r["wall_s"] for r in res["runs"])
            requests = res["runs"][0]["requests"]
            counts = res["runs"][0]["live_counts"]
            assert all(r["changes"] == 0 for r in res["runs"]), "the seeded account should match"
            f_req, f_trips, f_s = plan_floor(counts, latency, n)
            big = n >= 10_000
            rows.append(Row(f"no-op plan, {n:,} resources: requests", f"{requests}", f"{f_req}",
                            f"{requests / f_req:.2f}x", ok(requests <= f_req), ok(requests <= f_req)))
            rows.append(Row(f"no-op plan, {n:,} resources: wall (median of {repeats})", f"{wall:.3f} s",
                            f"{f_s:.3f} s ({f_trips} round trip{'s' * (f_trips > 1)})", f"{wall / f_s:.2f}x",
                            ok(wall <= 2 * f_s) + " (≤ 2x)" if big else "—",
                            ok(wall <= 1.5 * f_s) + " (≤ 1.5x)" if big else "—"))
            rows.append(Row(f"no-op plan, {n:,} resources: peak RSS of the plan process", f"{res['rss_peak_mb']:.0f} MB",
                            f"{res['rss_imports_mb']:.0f} MB after imports", "—",
                            ok(res["rss_peak_mb"] < 300) + " (< 300 MB)" if big else "—",
                            ok(res["rss_peak_mb"] <= 150) + " (≤ 150 MB)" if big else "—"))
            rows.append(Row(f"config load, {n:,} resources (YAML → DesiredState; not in the wall above)",
                            f"{res['load_s']:.2f} s", "—", "—", "—", "—"))
            if naive is not None:
                speedup = naive["wall_s"] / wall
                n_floor = math.ceil(naive["gets"] / 10) * latency
                rows.append(Row(f"baseline: one GET per resource at parallelism 10, {n:,} resources",
                                f"{naive['wall_s']:.2f} s, {naive['requests']:,} requests",
                                f"{n_floor:.2f} s", f"plan is {speedup:.0f}x faster",
                                ok(speedup >= 20) + " (≥ 20x)" if big else "—",
                                ok(speedup >= 20) + " (≥ 20x)" if big else "—"))

        # -- applies that create `apply_n` resources, each on a fresh account
        shape = generate.Shape.of(apply_n)
        apply_cfg = generate.write_config(shape, work / "apply", prefix="a", rate_limits=False)
        results: dict[str, dict[str, Any]] = {}
        for label, p, sequential in (("sequential calls (baseline)", 1, True), ("parallelism 1", 1, False),
                                     ("parallelism 10", 10, False), ("parallelism 32", 32, False),
                                     ("parallelism 64", 64, False)):
            db = str(work / f"apply-{p}-{int(sequential)}.db")
            with Emulator(db, args.latency_ms, log) as emu:
                results[label] = r = in_child({"mode": "apply", "config": str(apply_cfg), "url": emu.url,
                                               "key": emu.key, "parallelism": p, "sequential": sequential}, left())
            f_req, f_s = apply_floor(r["levels"], p, latency)
            ratio = r["wall_s"] / f_s
            target = aim = "—"
            if apply_n < 1000:
                pass  # the targets are for 1,000 creates; a quick run only checks the scripts
            elif p == 32 and not sequential:
                target, aim = ok(ratio <= 1.5) + " (≤ 1.5x)", ok(ratio <= 1.3) + " (≤ 1.3x)"
            elif p == 64:
                aim = ok(ratio <= 2) + " (≤ 2x)"
            rows.append(Row(f"apply, {r['changes']:,} creates, {label}: wall",
                            f"{r['wall_s']:.2f} s, {r['requests']:,} requests", f"{f_s:.2f} s, {f_req:,} requests",
                            f"{ratio:.2f}x", target, aim))
            if p == 32 and not sequential:
                per = r["cpu_s"] / max(1, r["requests"]) * 1000
                rows.append(Row("client CPU per request (apply, parallelism 32)", f"{per:.2f} ms", "—", "—", "—",
                                ok(per <= 0.8) + " (≤ 0.8 ms)" if apply_n >= 1000 else "—"))
        notes.append("apply levels (dependency level: creates): " + ", ".join(
            f"{k}: {v}" for k, v in results["parallelism 32"]["levels"].items()))

        # -- the planner alone
        config, db = seeded[cpu_size]
        cpu = in_child({"mode": "plancpu", "config": str(config), "db": db, "repeats": repeats}, left())
        for label in ("1%", "100%"):
            c = cpu[label]
            per = c["cpu_s"] / max(1, c["changes"]) * 1000
            big = cpu_size >= 10_000
            target = ok(c["cpu_s"] < 0.5) + " (< 0.5 s)" if big else "—"
            aim = (ok(c["cpu_s"] <= 0.10) + " (≤ 0.10 s)" if label == "1%" else ok(per <= 0.6) + " (≤ 0.6 ms/change)")
            rows.append(Row(f"planning CPU, {cpu_size:,} resources, {label} changed ({c['changes']:,} changes)",
                            f"{c['cpu_s']:.3f} s", "—", f"{per:.2f} ms per change", target, aim if big else "—"))
        rows.append(Row(f"peak RSS, planning {cpu_size:,} resources, everything changed",
                        f"{cpu['rss_peak_mb']:.0f} MB", "—", "—",
                        ok(cpu["rss_peak_mb"] < 300) + " (< 300 MB)" if cpu_size >= 10_000 else "—",
                        ok(cpu["rss_peak_mb"] <= 200) + " (≤ 200 MB)" if cpu_size >= 10_000 else "—"))
        return rows, notes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(rows: list[Row], notes: list[str], command: str, args: argparse.Namespace, seconds: float) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = "| figure | measured | floor | ratio | issue target | aim (PERFORMANCE.md) |\n|---|---|---|---|---|---|\n"
    table = head + "".join(f"| {r.figure} | {r.value} | {r.floor} | {r.ratio} | {r.target} | {r.aim} |\n" for r in rows)
    return TEMPLATE.format(command=command, when=when, python=platform.python_version(),
                           cpus=os.cpu_count(), latency=args.latency_ms, table=table, seconds=seconds,
                           notes="".join(f"- {n}\n" for n in notes))


TEMPLATE = """# Benchmarks

"A plan on a big account must take seconds, not minutes." These figures come from one run
of `bench/run.py`; absolute times move ±30% between runs and machines, so read the ratios,
which were measured side by side in that one run.

Produced by:

```bash
{command}
```

{when}; Python {python}; {cpus} CPUs; emulator `reconcile emulator serve --latency-ms {latency}`
in its own process pinned to CPU 0, every measurement in a fresh child process pinned to
CPU 1; loopback only. The whole run took {seconds:.0f} s.

{table}
Notes from the run:
{notes}
## How to read it

- **Floor of a plan.** The fewest requests the API allows: `whoami`, one GET per singleton
  (tier, budget, routing, auto-recharge) and every list in pages of 1,000 (the API's
  maximum); the keys and bandwidth-alerts lists are documented unpaginated, so one GET
  each. Kinds are independent, so the floor's time is the longest chain of pages × the
  latency, and never below the client's CPU to parse the account (0.10 s per 10,000
  resources, PERFORMANCE.md).
- **Floor of an apply.** One call per change; per dependency level (projects, webhooks,
  members and alerts first, then the keys that need their project's id)
  `ceil(changes ÷ parallelism)` round trips × the latency. The executor does not wait for a
  whole level, so it can come in under this floor.
- **Wall of a plan** is `make_plan` (read the live account + diff), median of 5 runs, each
  with a new client (cold connections, as a `reconcile plan` process has). Loading the YAML
  is reported on its own row.
- **Peak RSS** is the `VmHWM` of the child process that ran the plans: the interpreter,
  every import, the config, five plans. It is what a CI runner must give the process, not
  a Python-heap estimate (`tracemalloc` would miss the C allocations of JSON parsing and
  sockets). The "after imports" figure is the same process before it did any work.
- **One GET per resource** is what Terraform's refresh does (parallelism 10): list the ids,
  then one read per resource: `projects/get/{{id}}`, `webhooks/get/{{id}}`, and for kinds the API
  offers no GET-by-id, the smallest list holding the object (`keys/list?project_id=`,
  `members/list`, `bandwidth/alerts/list`), as providers do.
- **Planning CPU** is `build_plan` alone (`time.process_time`, median of 5) on a
  `DesiredState` loaded from the generated YAML and a `LiveState` read from the seeded
  account, with 1% or 100% of the resources edited (one field each).
- **Sequential calls** run the executor's own steps one after another in plan order,
  without its scheduler: the same requests as `--parallelism 1`.

## What was changed to reach these figures

Found with this benchmark and cProfile, fixed in the core (before → after, each pair
measured side by side on the same machine; the first full run is the "before"):

| cause | fix | before → after |
|---|---|---|
| the config loader found a key's parent project by scanning every address (O(n²)) | look it up by its address | loading 10,000 resources ~56 s → ~2 s |
| the keys list was read in pages of 1,000 behind a cursor: 10 sequential round trips | read it unpaginated, as documented (the emulator now returns every key without `limit`/`cursor`, as docs/emulator.md says) | 10,000-resource no-op plan 19 → 10 requests, 10 → 1 round trip |
| full cyclic-GC passes during the read and the plan, over objects that all stay alive | `gc_paused()` around `read_live` and `build_plan` | ~0.1 s per pass, two or three per plan |
| the planner rescanned both states per kind, copied values of unchanged pairs, and digested 10,000 objects one by one | bucket once, return early, serialise the digests in one pass; digest the config while the read is on the wire | planning CPU at 1% changed 0.153 s → 0.055 s; at 100% 0.466 s → 0.218 s |
| the executor rescanned every step on each wakeup (O(steps²)) | waiting counts, dependents and a heap of ready steps | seeding 10,000 resources in process 28.7 s → 22.8 s |
| the emulator drew ids and secrets one `secrets.choice` per character, and parsed every webhook on every key create to find subscribers | one `token_bytes` per id; subscribers prefiltered in SQL | 1,000-create apply at parallelism 32: 1.86x → 1.45x its floor |
| `reconcile plan` read with make_plan's default 8 workers for its 10 requests | read with `--parallelism` (default 10) | one round trip instead of two for the last lists |
| the emulator committed three times per idempotent create (in-flight row, the object, the stored answer) | one transaction per request, committed with the stored answer (handlers' transactions become savepoints; committed early only if a handler really suspends) | emulator CPU per create 0.43 → 0.41 ms; apply at 32: 1.56-1.60x → 1.48x |
| one `httpx.Client` shared by 32-64 threads spent its CPU in its pool's lock and scans | `InfraiClient` splits its connections among clients of ~8, each thread keeping one | client CPU per request at 64: 0.92 → 0.48 ms; apply at 64: 4.0x → 2.6x, at 32: 1.53x → 1.38x |
| every plan serialised the whole live state for its fingerprint (~28 ms at 10,000), and `make_plan` for the idempotency seed | both computed only when read (a saved plan, JSON/markdown output, an apply) | `build_plan` CPU 45 → 8 ms; 10,000-resource no-op plan ~1.9x → ~1.5x (interleaved runs) |

Overall, the 10,000-resource no-op plan went from 0.548 s (5.5x its floor) to 0.14-0.18 s
(1.45x-1.75x; medians of runs on this shared machine, where other test suites were running).

## What is still missed, and why

- **Apply at parallelism 32 within 1.3x, and at 64 within 2x** (PERFORMANCE.md aims; the
  issue's 1.5x at 32 is met). Both processes are CPU-bound at these rates. The floor at 32
  asks for 1,600 creates/s, at 64 for 3,200/s; the client spends ~0.5 ms a request
  (~0.4 ms of it in httpx + httpcore + h11; its two `send()` calls a request, headers then
  body, cost ~0.18 ms each on loopback), so one core caps it near 2,000 requests/s, and the
  emulator spends ~0.4 ms a create (uvicorn, Starlette, 13 SQLite statements; the commits
  were not the cost: three → one saved ~0.02 ms). At 32 the measured 1.37x-1.49x (varying
  with the machine's load) is queueing on both CPUs; at 64, 2x means 0.68 s for 1,000
  creates, under the ~0.5 s of client CPU plus the ramp and GIL hand-offs between 64
  threads (measured 2.6x-2.85x). Reaching it needs the client's CPU per request well
  under 0.3 ms: fewer syscalls per request (one `send()`), or another transport or
  concurrency model (`httpx.AsyncClient` with the aiohttp transport, 1.29x at 64 in
  PERFORMANCE.md), which is a change of the executor's model.
- **The 10,000-resource no-op plan at 1.5x**: interleaved runs measure 1.45x-1.75x (the
  issue's 2x holds). What is left is one round trip carrying 2 MB of keys (~35 ms with the
  server's work), parsing and normalising them (~45 ms of CPU, which the 0.10 s parse floor
  already counts), `build_plan` (~8 ms now) and the config digest (~18 ms, overlapping the
  read's wait but sharing the GIL with the threads parsing its answers). The next step
  would be normalising keys as the response streams in.
- **Loading the YAML** (not in the plan's floor) takes ~2 s for 10,000 resources: PyYAML's
  pure-Python composer, needed for line/column positions in error messages.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small fast run (1,000 resources, 200 creates)")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=900, help="stop after this many seconds")
    parser.add_argument("--out", default=str(DOCS), help="markdown file to write (default docs/benchmarks.md)")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(CHILDREN[job["mode"]](job)))
        return 0
    pin(CLIENT_CPU)  # inherited by the measuring children
    started = time.monotonic()
    shown = ["python", "bench/run.py"] + [a for a in (argv if argv is not None else sys.argv[1:])]
    rows, notes = run(args)
    text = render(rows, notes, " ".join(shlex.quote(a) for a in shown), args, time.monotonic() - started)
    print(text)
    if not args.no_docs:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks on kill
    raise SystemExit(main())
