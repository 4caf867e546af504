"""The real CLI against a hostile server on loopback: one misbehaviour per test.

A raw-socket HTTP/1.1 server (`HostileServer`, in this process) answers like an empty
account, except for one route that misbehaves: endless cursors, a huge body, a gzip bomb,
headers or a body dripped a byte at a time, malformed items, an error that echoes the
request body, Retry-After: 60, and a listening socket that never answers. `reconcile`
runs as a subprocess (`python -m reconcile`) with small bounds (`--timeout`, caps), so
each test is quick; the time limits asserted are only hang guards, the memory ones use
the child's own peak RSS (its VmHWM at exit).

Each run must end with exit 1, one clear `Error:` line naming the endpoint and the bound
(and how to raise it), no traceback, and no secret anywhere in its output or files.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconcile.kinds import KINDS

#: Hang guard of one CLI run: far above what any of these runs need (a few seconds).
HANG_GUARD_S = 60.0

#: Peak RSS a bounded run stays under (the CLI itself needs about 60-90 MB); every memory
#: test sends far more than this, so an unbounded client would pass it.
RSS_BOUND_MB = 400

#: `python -m reconcile ARGS`, writing its peak RSS (kB) to the file named first at exit.
#: VmHWM is this process's own high-water mark: a child's rusage would also count what it
#: shared with this (large) test process before exec.
MEASURED = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        f.write(kb)
atexit.register(peak)
sys.argv[0] = "reconcile"
runpy.run_module("reconcile", run_name="__main__", alter_sys=True)
"""

KEY = "ifr_pk_proj_" + "H0st1le" * 6
HOOK_SECRET = "whsec_" + "EchoedBack" * 3

PROJECTS = "/v1/account/projects/list"

HEALTHY: dict[str, object] = {
    "/v1/account/whoami": {"account_id": "acct_1", "kind": "personal", "status": "active", "tier": "standard",
                           "caller": {"key_id": "key_1", "project_id": "proj_1"}},
    "/v1/account/tier": {"tier": "standard", "limits": {"bandwidth_bytes": 10737418240},
                         "billing_period": "monthly", "pending_tier": None, "pending_effective_at": None},
    "/v1/account/budget/get": {"period": "monthly", "hard_cap_usd": None, "alert_threshold_usd": None},
    "/v1/account/routing/get": {"chain_override": None, "failover_policy": "sequential", "pinned_vendors": []},
    "/v1/account/autorecharge/get": {"enabled": False, "trigger_balance": 0, "recharge_amount": 0,
                                     "payment_method_id": None, "max_per_day": 3, "max_per_month": 20},
    PROJECTS: {"items": [{"id": "proj_1", "name": "default", "scopes": [], "metadata": {},
                          "rate_limit_rpm": None, "created_at": "2026-01-01T00:00:00Z"}], "next_cursor": None},
    "/v1/account/keys/list": {"items": [{"key_id": "key_1", "name": "bootstrap", "project_id": "proj_1",
                                         "scopes": [], "status": "active", "created_at": "2026-01-01T00:00:00Z"}]},
    "/v1/account/webhooks/list": {"items": [], "next_cursor": None},
    "/v1/account/members/list": {"items": [], "next_cursor": None},
    "/v1/account/bandwidth/alerts/list": {"items": []},
}
# A kind added since answers as an account holding nothing of it (so it needs no edit here).
for _kind in KINDS:
    HEALTHY.setdefault(_kind.api.list.path, {} if _kind.singleton else {"items": [], "next_cursor": None})


@dataclass
class Request:
    method: str
    path: str
    query: str
    body: bytes


Handler = Callable[[Request, socket.socket], None]


def send(conn: socket.socket, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {"Content-Type": "application/json"}).items())
    conn.sendall(head.encode() + b"\r\n" + body)


def send_json(conn: socket.socket, status: int, data: object, headers: dict[str, str] | None = None) -> None:
    send(conn, status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


def healthy(request: Request, conn: socket.socket) -> None:
    if request.path in HEALTHY:
        send_json(conn, 200, HEALTHY[request.path])
    else:
        send_json(conn, 404, {"error": {"code": "NOT_FOUND", "message": "no such route"}})


class HostileServer:
    """HTTP/1.1 on 127.0.0.1, one connection per request (`Connection: close`); `routes`
    override `healthy` for some paths. Handlers may write anything, slowly or forever:
    `stop()` closes every socket, which ends them."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.seen: list[Request] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop sees `stop()` promptly
        self.port = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            while len(body) < int(headers.get("content-length", "0")):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            path, _, query = target.partition("?")
            request = Request(method, path, query, body)
            self.seen.append(request)
            self.routes.get(path, healthy)(request, conn)
        except OSError:
            pass  # the client gave up on us: that is the point
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Handler]], HostileServer]]:
    servers: list[HostileServer] = []

    def start(routes: dict[str, Handler]) -> HostileServer:
        servers.append(HostileServer(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Error: ")]


@pytest.fixture
def reconcile(tmp_path: Path, secret_scan) -> Callable[..., Run]:
    """Run `python -m reconcile ARGS` in tmp_path: exit code, output, wall time, peak RSS."""
    config = tmp_path / "infrai.yaml"
    config.write_text("version: 1\n"
                      "webhooks:\n"
                      "  - url: https://hooks.example.com/infrai\n"
                      "    events: [budget.alert]\n"
                      "    secret: ${env:HOOK_SECRET}\n")
    secret_scan.record(HOOK_SECRET)
    secret_scan.directory(tmp_path)

    def run(*args: str) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INFRAI_", "GITHUB_")) and k != "CI"}
        env.update(INFRAI_API_KEY=KEY, HOOK_SECRET=HOOK_SECRET, NO_COLOR="1")
        out, err, rss = tmp_path / "stdout.txt", tmp_path / "stderr.txt", tmp_path / "peak-rss-kb.txt"
        started = time.monotonic()
        with open(out, "w") as stdout, open(err, "w") as stderr:
            proc = subprocess.Popen([sys.executable, "-c", MEASURED, str(rss), *args], cwd=tmp_path, env=env,
                                    stdout=stdout, stderr=stderr, start_new_session=True)
            guard = threading.Timer(HANG_GUARD_S, os.killpg, (proc.pid, signal.SIGKILL))
            guard.start()
            try:
                proc.wait()
            finally:
                guard.cancel()
        result = Run(proc.returncode, out.read_text(), err.read_text(), time.monotonic() - started,
                     int(rss.read_text() or 0) / 1024 if rss.exists() else float("inf"))
        secret_scan.output(f"hostile-server reconcile {' '.join(args)}", result.stdout, result.stderr)
        assert result.seconds < HANG_GUARD_S, f"reconcile {' '.join(args)} hung; killed after {HANG_GUARD_S} s"
        for text in (result.stdout, result.stderr):
            assert "Traceback" not in text, text[-3000:]
            assert KEY not in text and HOOK_SECRET not in text
        return result

    return run


def plan(reconcile: Callable[..., Run], server: HostileServer, *options: str) -> Run:
    return reconcile("plan", "infrai.yaml", "--endpoint", server.url, "--retries", "1", "--retry-delay", "0",
                     *options)


def one_error(run: Run, *fragments: str) -> str:
    assert run.code == 1, (run.code, run.stderr[-2000:])
    assert len(run.errors) == 1, run.stderr
    line = run.errors[0]
    for fragment in fragments:
        assert fragment in line, line
    return line


def test_healthy_server_plans(serve, reconcile) -> None:
    # The baseline the other tests bend: this fake answers like an empty account.
    run = plan(reconcile, serve({}))
    assert run.code == 0, run.stderr
    assert "1 to create" in run.stdout


def test_endless_empty_pages_stop_at_the_page_cap(serve, reconcile) -> None:
    def endless(request: Request, conn: socket.socket) -> None:
        send_json(conn, 200, {"items": [], "next_cursor": uuid.uuid4().hex})

    server = serve({PROJECTS: endless})
    run = plan(reconcile, server, "--max-list-pages", "40")
    one_error(run, f"GET {server.url}{PROJECTS}", "limit of 40 pages", "--max-list-pages")
    assert sum(r.path == PROJECTS for r in server.seen) == 40


def test_endless_full_pages_stop_at_the_item_cap_with_bounded_memory(serve, reconcile) -> None:
    page = [{"id": f"proj_{i}", "name": f"p{i}", "scopes": [], "metadata": {"team": "x" * 50}} for i in range(1000)]
    body = json.dumps({"items": page, "next_cursor": "c"})

    def endless(request: Request, conn: socket.socket) -> None:
        # New cursor each page; the same thousand items (the client does not dedupe names).
        send(conn, 200, body.replace('"c"', json.dumps(uuid.uuid4().hex), 1).encode())

    server = serve({PROJECTS: endless})
    run = plan(reconcile, server, "--max-list-items", "20000")
    one_error(run, f"GET {server.url}{PROJECTS}", "more than 20,000 items", "--max-list-items")
    assert sum(r.path == PROJECTS for r in server.seen) == 21
    assert run.peak_rss_mb < RSS_BOUND_MB


def test_repeated_cursor_is_refused(serve, reconcile) -> None:
    def stuck(request: Request, conn: socket.socket) -> None:
        send_json(conn, 200, {"items": [], "next_cursor": "same"})

    server = serve({PROJECTS: stuck})
    one_error(plan(reconcile, server), f"GET {server.url}{PROJECTS}", "repeats the cursor 'same'")


def test_huge_body_is_cut_off_with_bounded_memory(serve, reconcile) -> None:
    block = b" " * (1 << 20)

    def huge(request: Request, conn: socket.socket) -> None:
        # 1 GiB announced and streamed (JSON whitespace): far past the cap and the RSS bound.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"items\": [")
        for _ in range(1024):
            conn.sendall(block)

    server = serve({PROJECTS: huge})
    run = plan(reconcile, server, "--max-response-mib", "8")
    one_error(run, f"GET {server.url}{PROJECTS}", "larger than the 8 MiB", "--max-response-mib")
    assert run.peak_rss_mb < RSS_BOUND_MB


def test_announced_huge_body_is_refused_before_reading(serve, reconcile) -> None:
    def announced(request: Request, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\nConnection: close\r\n\r\n")
        time.sleep(HANG_GUARD_S)  # never sends it: the client must not wait for it

    server = serve({PROJECTS: announced})
    run = plan(reconcile, server, "--max-response-mib", "8")
    one_error(run, "announces 4,294,967,296 bytes, more than the 8 MiB", "--max-response-mib")


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 0.5 MB of gzip that decodes to 512 MiB of JSON whitespace."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    parts = [packer.compress(b'{"items": [')] + [packer.compress(block) for _ in range(512)]
    return b"".join(parts) + packer.flush()


def test_gzip_bomb_is_cut_off_at_the_decoded_size(serve, reconcile, gzip_bomb: bytes) -> None:
    def bomb(request: Request, conn: socket.socket) -> None:
        send(conn, 200, gzip_bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})

    server = serve({PROJECTS: bomb})
    run = plan(reconcile, server, "--max-response-mib", "8")
    one_error(run, f"GET {server.url}{PROJECTS}", "larger than the 8 MiB")
    assert run.peak_rss_mb < RSS_BOUND_MB


def drip(data: bytes, conn: socket.socket, every: float = 0.05) -> None:
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(every)


def test_dripped_headers_hit_the_attempt_deadline(serve, reconcile) -> None:
    def dripping(request: Request, conn: socket.socket) -> None:
        # A byte every 50 ms never trips a read timeout: only the attempt's deadline.
        drip(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"z" * 10_000 + b"\r\n\r\n{}", conn)

    server = serve({PROJECTS: dripping})
    run = plan(reconcile, server, "--timeout", "1")
    one_error(run, f"GET {server.url}{PROJECTS}", "no complete answer within the 1 s an attempt may take",
              "--timeout", "safe to retry")
    assert sum(r.path == PROJECTS for r in server.seen) == 2  # --retries 1


def test_dripped_body_hits_the_attempt_deadline(serve, reconcile) -> None:
    def dripping(request: Request, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        drip(b'{"items": [' + b" " * 99_988 + b"]}", conn)

    server = serve({PROJECTS: dripping})
    one_error(plan(reconcile, server, "--timeout", "1"), "no complete answer within the 1 s")


def test_silent_server_fails_within_the_documented_bound(reconcile, tmp_path: Path) -> None:
    # A listening socket that never accepts: connecting works (the kernel's backlog), no
    # answer ever comes. Bound per call: retry budget + one attempt (docs/network.md).
    blackhole = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        url = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
        run = reconcile("plan", "infrai.yaml", "--endpoint", url, "--timeout", "1", "--retry-budget", "2",
                        "--retry-delay", "0")
    finally:
        blackhole.close()
    one_error(run, url, "no complete answer within the 1 s", "--retry-budget")
    assert run.seconds < HANG_GUARD_S / 2


@pytest.mark.parametrize("item, named", [
    (None, "item 2 of page 1 is null, not an object"),
    ("proj_x", "item 2 of page 1 is a string, not an object"),
    ({"id": "proj_x", "name": ["not", "a", "name"]}, "item 2 (id 'proj_x') has a name that is not a plain value"),
])
def test_malformed_items_are_named(serve, reconcile, item: object, named: str) -> None:
    page = {"items": [HEALTHY[PROJECTS]["items"][0], item], "next_cursor": None}  # type: ignore[index]
    server = serve({PROJECTS: lambda request, conn: send_json(conn, 200, page)})
    one_error(plan(reconcile, server), f"GET {server.url}{PROJECTS}", named)


@pytest.mark.parametrize("path, answer, named", [
    ("/v1/account/whoami", [1, 2], "the answer is list, not an object"),
    ("/v1/account/whoami", {"caller": "me"}, "its caller is str, not an object"),
    ("/v1/account/budget/get", None, "the answer is null, not an object"),
    (PROJECTS, {"items": {"0": {}}}, "page 1 is not a list page {items, next_cursor} (got items that are an object"),
    (PROJECTS, {"items": [], "next_cursor": 7}, "page 1 has a next_cursor that is a number, not a string"),
])
def test_malformed_answers_are_named(serve, reconcile, path: str, answer: object, named: str) -> None:
    server = serve({path: lambda request, conn: send_json(conn, 200, answer)})
    one_error(plan(reconcile, server), f"GET {server.url}{path}", named)


def test_non_json_answer_is_named(serve, reconcile) -> None:
    server = serve({PROJECTS: lambda request, conn: send(conn, 200, b"<html>sign in</html>", {})})
    one_error(plan(reconcile, server), f"GET {server.url}{PROJECTS} answered HTTP 200 with a body that is not JSON")


def test_error_echoing_the_request_leaks_no_secret(serve, reconcile, tmp_path: Path) -> None:
    def echo(request: Request, conn: socket.socket) -> None:
        send_json(conn, 400, {"error": {"code": "VALIDATION_ERROR",
                                        "message": f"cannot parse {request.body.decode()} with key {KEY}"}})

    server = serve({"/v1/account/webhooks/register": echo})
    runs = [reconcile("apply", "infrai.yaml", "--endpoint", server.url, "--auto-approve", *extra)
            for extra in ((), ("--json",), ("--format", "json"))]
    for run in runs:
        assert run.code == 1, run.stderr
        assert "VALIDATION_ERROR" in run.stdout + run.stderr and "***" in run.stdout + run.stderr
    # The secret did reach the server (so the echo really held it), and nothing we wrote holds it.
    assert any(HOOK_SECRET.encode() in r.body for r in server.seen)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert HOOK_SECRET.encode() not in path.read_bytes() and KEY.encode() not in path.read_bytes(), path


def test_retry_after_60_fails_at_once_past_the_max_wait(serve, reconcile) -> None:
    def limited(request: Request, conn: socket.socket) -> None:
        send_json(conn, 429, {"error": {"code": "RATE_LIMITED", "message": "slow down"}}, {"Retry-After": "60"})

    server = serve({PROJECTS: limited})
    run = plan(reconcile, server, "--max-retry-wait", "5")
    one_error(run, "HTTP 429 RATE_LIMITED", "asks to wait 60 s", "longer than the 5 s", "--max-retry-wait")
    assert sum(r.path == PROJECTS for r in server.seen) == 1


def test_long_retry_wait_is_announced_on_stderr(serve, reconcile) -> None:
    calls = []

    def limited_once(request: Request, conn: socket.socket) -> None:
        calls.append(request)
        if len(calls) == 1:
            send_json(conn, 429, {"error": {"code": "RATE_LIMITED", "message": "slow down"}}, {"Retry-After": "2"})
        else:
            healthy(request, conn)

    server = serve({PROJECTS: limited_once})
    run = plan(reconcile, server)
    assert run.code == 0, run.stderr
    retries = [line for line in run.stderr.splitlines() if line.startswith("Retrying: ")]
    assert retries == [f"Retrying: GET {server.url}{PROJECTS}: HTTP 429 RATE_LIMITED, Retry-After: 2 s; "
                       "waiting 2.0 s before attempt 2 of 2"]
