"""Emulator throughput: GET-by-id, list page of 100, and create, in requests/s.

Starts `reconcile.emulator` under uvicorn in a subprocess on a free loopback port (pinned
to one core where `os.sched_setaffinity` exists), drives it from this process with a small
asyncio load loop over raw keep-alive connections (bounded count and time), prints a markdown table and updates
the "Throughput" section of docs/emulator.md.

    /work/venv/bin/python bench/emulator_throughput.py [--seconds 4] [--connections 8] [--no-docs]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "emulator.md"
SERVER = """
import os, sys
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})
from reconcile.emulator.server import serve
serve(host="127.0.0.1", port=int(sys.argv[1]), db=sys.argv[2])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/_emulator/clock", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("emulator did not start")


async def _connection(port: int, requests: list[bytes], stop_at: float, budget: list[int]) -> int:
    """One keep-alive HTTP/1.1 connection sending `requests` round-robin; returns how many got a 200."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            writer.write(requests[done % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            body = await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"{status} {body[:200]!r}")
            done += 1
    finally:
        writer.close()
    return done


def drive(port: int, requests: list[bytes], seconds: float, connections: int, max_requests: int) -> float:
    """Requests/s of a small asyncio load loop over raw keep-alive connections (a light client,
    so the figure is the server's, not httpx's ~0.5 ms of CPU per request)."""

    async def run() -> float:
        budget = [max_requests]
        stop_at = time.monotonic() + seconds
        started = time.monotonic()
        counts = await asyncio.gather(*(
            _connection(port, requests[i::connections] or requests, stop_at, budget) for i in range(connections)))
        return sum(counts) / (time.monotonic() - started)

    return asyncio.run(run())


def http_request(method: str, path: str, secret: str, body: dict | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


def update_docs(table: str, command: str) -> None:
    text = DOCS.read_text()
    section = ("## Throughput\n\n"
               "Measured by `bench/emulator_throughput.py` (uvicorn + httptools + uvloop, one worker, server "
               "pinned to one core, load from a raw asyncio HTTP/1.1 loop on the other core, loopback; "
               "absolute figures move ±30% between runs):\n\n"
               f"    {command}\n\n{table}\n")
    if "## Throughput" in text:
        text = re.sub(r"## Throughput\n.*?(?=\n## |\Z)", section.rstrip("\n") + "\n", text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the load generator on the other core

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), db],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        try:
            wait_ready(base)
            from reconcile.emulator import bootstrap_secret

            secret = bootstrap_secret(db)
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}) as client:
                ids = [client.post("/v1/account/projects/create", json={"name": f"seed-{i}"}).json()["id"]
                       for i in range(300)]
            common = dict(seconds=args.seconds, connections=args.connections, max_requests=args.max_requests)
            results = {
                "GET by id (`projects.get`)": drive(
                    port, [http_request("GET", f"/v1/account/projects/get/{i}", secret) for i in ids], **common),
                "list page of 100 (`projects.list?limit=100`)": drive(
                    port, [http_request("GET", "/v1/account/projects/list?limit=100", secret)], **common),
                "create (`projects.create`)": drive(
                    port, [http_request("POST", "/v1/account/projects/create", secret, {"name": f"bench-{n}"})
                           for n in range(args.max_requests)], **common),
            }
        finally:
            server.terminate()
            server.wait(timeout=10)
    table = "| operation | requests/s |\n|---|---|\n" + "\n".join(
        f"| {name} | {rate:,.0f} |" for name, rate in results.items())
    print(table)
    if not args.no_docs:
        update_docs(table, f"python bench/emulator_throughput.py --seconds {args.seconds:g} --connections {args.connections} "
                    f"--max-requests {args.max_requests}")


if __name__ == "__main__":
    main()
