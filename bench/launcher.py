"""Spawns the processes bench/run.py times, from a small process of its own.

Linux counts a child's peak RSS (`ru_maxrss`) from the resident size of the process that
forked it: forked by bench/run.py, which holds seeded accounts in memory, every timed
command would read at least that. Forked from here (a few MB), the figure is the command's.

Reads one JSON job a line on stdin: {"argv", "env", "cwd", "out", "timeout", "cpu"}; runs
it pinned to `cpu` (if not null) with stdout and stderr to the file `out`; answers one JSON
line: {"wall_s", "rss_mb", "returncode", "affinities"} (the CPU sets of the child's threads,
read while it runs, for the caller to assert).
"""

import json
import os
import subprocess
import sys
import threading
import time


def affinities(pid: int) -> list[list[int]]:
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    out = set()
    for tid in tids:
        try:
            out.add(tuple(sorted(os.sched_getaffinity(tid))))
        except OSError:
            pass
    return [list(s) for s in sorted(out)]


def run(job: dict) -> dict:
    cpu = job.get("cpu")
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    with open(job["out"], "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(job["argv"], env=job["env"], cwd=job["cwd"], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=pin)
        killer = threading.Timer(job["timeout"], proc.kill)
        killer.start()
        try:
            seen = affinities(proc.pid) if cpu is not None else []
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
        finally:
            killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024, "returncode": proc.returncode, "affinities": seen}


def main() -> int:
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
