"""The emulator against a bare Starlette + sqlite3 app, side by side in one run.

The bare app is the floor PERFORMANCE.md describes: the same two routes' shape
(`GET /v1/account/projects/get/{id}`: one stored JSON row by primary key;
`GET /v1/account/projects/list?limit=100`: a page of stored rows joined as text), Starlette +
sqlite3 called inside `async def` handlers, under the same uvicorn settings as
`reconcile emulator serve` (httptools + uvloop, one worker, access log off). It reads the
emulator's own database file, so both serve the same rows; it does no authentication, no
scope or rate-limit check, no fault middleware: everything the emulator does beyond it is
what the ratio prices.

Both servers are pinned to CPU 0, the load generator (bench/emulator_throughput.py's raw
asyncio keep-alive loop) to CPU 1; the affinities are checked. Rounds are interleaved
(bare, emulator, bare, emulator, ...) and the median of each is reported, with the ratio
emulator / bare. Exits 1 if a ratio is below `--goal` (default 0.9).

    python bench/emulator_vs_bare.py [--rounds 5] [--seconds 2] [--connections 8] [--goal 0.9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from emulator_throughput import ROOT, drive, free_port, http_request, wait_ready

SERVER_CPU, CLIENT_CPU = 0, 1

EMULATOR = f"""
import os, sys
os.sched_setaffinity(0, {{{SERVER_CPU}}})
from reconcile.emulator.server import serve
serve(host="127.0.0.1", port=int(sys.argv[1]), db=sys.argv[2])
"""

BARE = f"""
import os, sqlite3, sys
from operator import itemgetter
os.sched_setaffinity(0, {{{SERVER_CPU}}})
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

conn = sqlite3.connect(sys.argv[2], check_same_thread=False, isolation_level=None)


async def get(request):
    row = conn.execute("SELECT body FROM objects WHERE id = ? AND kind = 'project'",
                       (request.path_params["id"],)).fetchone()
    if row is None:
        return Response('{{"error":{{"code":"NOT_FOUND"}}}}', status_code=404, media_type="application/json")
    return Response(row[0], media_type="application/json")


async def page(request):
    limit = int(request.query_params.get("limit", "100"))
    rows = conn.execute("SELECT seq, body FROM objects WHERE kind = 'project' ORDER BY seq LIMIT ?",
                        (limit + 1,)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = '"s%d"' % rows[-1][0] if more else "null"
    return Response('{{"items":[' + ",".join(map(itemgetter(1), rows)) + '],"next_cursor":' + cursor + "}}",
                    media_type="application/json")


async def ready(request):
    return Response("{{}}", media_type="application/json")


app = Starlette(routes=[Route("/v1/account/projects/get/{{id}}", get), Route("/v1/account/projects/list", page),
                        Route("/_emulator/clock", ready)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            access_log=False, log_level="warning")
"""


def _start(script: str, port: int, db: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, str(port), db],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)


def _check_affinity(pid: int, cpu: int, what: str) -> None:
    actual = os.sched_getaffinity(pid)
    if actual != {cpu}:
        raise SystemExit(f"{what} runs on CPUs {sorted(actual)}, not {{{cpu}}}: the figures would be wrong")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--goal", type=float, default=0.9)
    args = parser.parse_args()
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two CPUs and sched_setaffinity (server and load generator on their own cores)")
    os.sched_setaffinity(0, {CLIENT_CPU})

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        emu_port, bare_port = free_port(), free_port()
        emulator = _start(EMULATOR, emu_port, db)
        bare = None
        try:
            wait_ready(f"http://127.0.0.1:{emu_port}")
            from reconcile.emulator import bootstrap_secret

            secret = bootstrap_secret(db)
            with httpx.Client(base_url=f"http://127.0.0.1:{emu_port}",
                              headers={"Authorization": f"Bearer {secret}"}) as client:
                ids = [client.post("/v1/account/projects/create", json={"name": f"seed-{i}"}).json()["id"]
                       for i in range(300)]
            bare = _start(BARE, bare_port, db)
            wait_ready(f"http://127.0.0.1:{bare_port}")
            _check_affinity(emulator.pid, SERVER_CPU, "the emulator")
            _check_affinity(bare.pid, SERVER_CPU, "the bare app")
            _check_affinity(0, CLIENT_CPU, "the load generator")
            operations = {
                "GET by id (`projects.get`)": [http_request("GET", f"/v1/account/projects/get/{i}", secret)
                                               for i in ids],
                "list page of 100 (`projects.list?limit=100`)": [
                    http_request("GET", "/v1/account/projects/list?limit=100", secret)],
            }
            rates: dict[tuple[str, str], list[float]] = {}
            common = dict(seconds=args.seconds, connections=args.connections, max_requests=args.max_requests)
            for _ in range(args.rounds):
                for name, requests in operations.items():
                    for server, port in (("bare", bare_port), ("emulator", emu_port)):
                        rates.setdefault((name, server), []).append(drive(port, requests, **common))
        finally:
            for proc in (emulator, bare):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=10)
    print(f"| operation | bare app (req/s) | emulator (req/s) | ratio | goal |\n|---|---|---|---|---|")
    missed = False
    for name in operations:
        floor, ours = statistics.median(rates[(name, "bare")]), statistics.median(rates[(name, "emulator")])
        ratio = ours / floor
        missed |= ratio < args.goal
        print(f"| {name} | {floor:,.0f} | {ours:,.0f} | {ratio:.2f}× | ≥ {args.goal:g}× |")
    print(f"\nmedians of {args.rounds} interleaved rounds of {args.seconds:g} s, {args.connections} connections; "
          f"servers on CPU {SERVER_CPU}, load on CPU {CLIENT_CPU}; load average {os.getloadavg()[0]:.2f}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
