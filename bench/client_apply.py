"""Client CPU per request and library apply wall time at several parallelisms: the figures
of issue 14's "library apply 1k, P=10 / 32 / 64" row, measured alone and repeatably.

    python bench/client_apply.py [--n 1000] [--parallelism 10 32 64] [--repeats 3] [--latency-ms 20]

For each parallelism, `--repeats` times: a fresh emulator database served by
`reconcile emulator serve --latency-ms L` pinned to CPU 0 (bench/run.py's `Emulator`), then
a fresh process pinned to CPU 1 that plans and applies `--n` creates through the library
(bench/run.py's `child_apply`). Prints, per parallelism, the best wall time, its floor
(per dependency level, ceil(creates / P) round trips of L ms), the ratio, and the client
process's CPU per request; the affinities are checked, not assumed.

A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "bench")) if p not in sys.path]

import generate  # noqa: E402
import run as bench  # noqa: E402

GOALS = {10: 1.1, 32: 1.2, 64: 1.5}  # issue 14: wall / (n x RTT / P)


def affinity(pid: int) -> set[int]:
    return os.sched_getaffinity(pid) if hasattr(os, "sched_getaffinity") else set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, nargs="*", default=[10, 32, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = generate.write_config(generate.Shape.of(args.n), work / "apply", prefix="a", rate_limits=False)
        everything = affinity(0)
        for p in args.parallelism:
            best = None
            for attempt in range(args.repeats):
                db = str(work / f"apply-{p}-{attempt}.db")
                if everything:
                    os.sched_setaffinity(0, everything)  # so the emulator is free to take CPU 0
                with bench.Emulator(db, args.latency_ms, work / "emulator.log") as emu:
                    if everything and len(everything) > 1:
                        for task in os.listdir(f"/proc/{emu.proc.pid}/task"):  # every thread of it
                            os.sched_setaffinity(int(task), {bench.SERVER_CPU})
                        os.sched_setaffinity(0, {bench.CLIENT_CPU})  # the measuring child inherits it
                        assert affinity(emu.proc.pid) == {bench.SERVER_CPU} and affinity(0) == {bench.CLIENT_CPU}
                    result = bench.in_child({"mode": "apply", "config": str(config), "url": emu.url, "key": emu.key,
                                             "parallelism": p, "sequential": False}, timeout=600)
                if best is None or result["wall_s"] < best["wall_s"]:
                    best = result
            assert best is not None
            _, floor = bench.apply_floor(best["levels"], p, latency)
            cpu_ms = best["cpu_s"] / best["requests"] * 1000
            print(json.dumps({"parallelism": p, "creates": best["changes"], "wall_s": round(best["wall_s"], 3),
                              "floor_s": round(floor, 3), "ratio": round(best["wall_s"] / floor, 2),
                              "goal": GOALS.get(p), "client_cpu_ms_per_request": round(cpu_ms, 3),
                              "cpu_s": round(best["cpu_s"], 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
