"""How a whole `reconcile plan` process fares against a misbehaving server: wall time, peak
RSS and exit code per behaviour (not a test: tests/e2e/test_hostile_server.py asserts the
bounds with small options; this measures the defaults, as a user would meet them).

    python bench/hostile.py [--src DIR] [--only NAME ...] [--cap-seconds S]

`--src` runs the `reconcile` package from another checkout (PYTHONPATH), to compare before
and after; `--cap-seconds` kills a run that goes on longer (reported as "killed").
Everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

ACCOUNT = {
    "/v1/account/whoami": {"caller": {"key_id": "key_1", "project_id": "proj_1"}},
    "/v1/account/tier": {"tier": "standard", "limits": {}, "billing_period": "monthly"},
    "/v1/account/budget/get": {"period": "monthly", "hard_cap_usd": None, "alert_threshold_usd": None},
    "/v1/account/routing/get": {"chain_override": None, "failover_policy": "sequential", "pinned_vendors": []},
    "/v1/account/autorecharge/get": {"enabled": False, "trigger_balance": 0, "recharge_amount": 0},
}
PROJECTS = "/v1/account/projects/list"
PAGE = json.dumps({"items": [{"id": f"proj_{i}", "name": f"p{i}", "scopes": [], "metadata": {}}
                             for i in range(1000)], "next_cursor": "CURSOR"}).encode()


@functools.lru_cache(maxsize=None)
def bomb(expanded_mib: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    return packer.compress(b'{"items": [') + b"".join(packer.compress(block) for _ in range(expanded_mib)) + packer.flush()


def behaviours() -> dict[str, Callable[[BaseHTTPRequestHandler], None]]:
    def endless_empty(h: BaseHTTPRequestHandler) -> None:
        reply(h, json.dumps({"items": [], "next_cursor": uuid.uuid4().hex}).encode())

    def endless_full(h: BaseHTTPRequestHandler) -> None:
        reply(h, PAGE.replace(b"CURSOR", uuid.uuid4().hex.encode()))

    def huge_body(h: BaseHTTPRequestHandler) -> None:
        # 500 MiB of JSON whitespace, streamed: this process stays small (a child's peak RSS
        # counts what it shared with its parent before exec).
        h.send_response(200)
        h.send_header("Content-Length", str((500 << 20) + 13))
        h.end_headers()
        h.wfile.write(b'{"items": [')
        for _ in range(500):
            h.wfile.write(b" " * (1 << 20))
        h.wfile.write(b"]}")

    def gzip_bomb(h: BaseHTTPRequestHandler) -> None:
        reply(h, bomb(1024), {"Content-Encoding": "gzip"})

    def drip(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            h.wfile.write(b"X")
            h.wfile.flush()
            time.sleep(1)

    def silent(h: BaseHTTPRequestHandler) -> None:
        time.sleep(3600)

    def retry_after_60(h: BaseHTTPRequestHandler) -> None:
        reply(h, json.dumps({"error": {"code": "RATE_LIMITED", "message": "slow down"}}).encode(),
              {"Retry-After": "60"}, status=429)

    return {f.__name__: f for f in (endless_empty, endless_full, huge_body, gzip_bomb, drip, silent, retry_after_60)}


def reply(h: BaseHTTPRequestHandler, body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> None:
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def serve(misbehave: Callable[[BaseHTTPRequestHandler], None]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.partition("?")[0]
            try:
                if path == PROJECTS:
                    misbehave(self)
                elif path in ACCOUNT:
                    reply(self, json.dumps(ACCOUNT[path]).encode())
                else:
                    reply(self, b'{"items": [], "next_cursor": null}')
            except OSError:
                pass  # the client hung up

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client hanging up on a misbehaving answer is the point, not news

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(name: str, src: str | None, cap: float) -> dict[str, object]:
    server = serve(behaviours()[name])
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "infrai.yaml").write_text("version: 1\nprojects:\n  - name: web\n")
        env = {**os.environ, "INFRAI_API_KEY": "ifr_pk_proj_" + "b" * 40, "NO_COLOR": "1"}
        if src:
            env["PYTHONPATH"] = src
        url = f"http://127.0.0.1:{server.server_address[1]}"
        started = time.monotonic()
        with open(Path(tmp, "err"), "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "reconcile", "plan", "infrai.yaml", "--endpoint", url],
                                    cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
            killed = threading.Event()

            def kill() -> None:
                killed.set()
                os.killpg(proc.pid, signal.SIGKILL)

            guard = threading.Timer(cap, kill)
            guard.start()
            _, status, usage = os.wait4(proc.pid, 0)
            guard.cancel()
        seconds = time.monotonic() - started
        last = (Path(tmp, "err").read_text().strip().splitlines() or [""])[-1]
    server.shutdown()
    return {"behaviour": name, "exit": "killed" if killed.is_set() else os.waitstatus_to_exitcode(status),
            "seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024), "last_line": last[:240]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", help="checkout whose `reconcile` package to run")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--cap-seconds", type=float, default=120.0)
    args = parser.parse_args()
    for name in args.only or list(behaviours()):
        print(json.dumps(run(name, args.src, args.cap_seconds)), flush=True)


if __name__ == "__main__":
    main()
