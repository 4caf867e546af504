"""Ctrl-C and SIGTERM end a command that is waiting on a server that never answers at once
(exit 130, one line), not after the retry budget: the reads have no effect to finish, and
the worker threads blocked on the network are not waited for.

The server accepts connections and never answers; the command runs with a retry budget and
timeout of minutes, so only an immediate exit passes the hang guard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HANG_GUARD_S = 30  # far below the run's own bound (600 s budget + 300 s timeout)


class SilentServer:
    """Accepts every connection and never sends a byte; `connected` is set on the first."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connected = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.connected.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_a_plan_stuck_on_a_silent_server_at_once(silent: SilentServer, tmp_path: Path,
                                                              signum: int) -> None:
    (tmp_path / "infrai.yaml").write_text("version: 1\nprojects:\n  - name: web\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFRAI_", "GITHUB_")) and k != "CI"}
    env.update(INFRAI_API_KEY="ifr_pk_proj_test", NO_COLOR="1", PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "plan", "infrai.yaml", "--endpoint", silent.url,
                             "--timeout", "300", "--retry-budget", "600"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert silent.connected.wait(HANG_GUARD_S), "the plan never connected"
        proc.send_signal(signum)
        try:
            out, err = proc.communicate(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler: where every thread is stuck
            out, err = proc.communicate(timeout=HANG_GUARD_S)
            pytest.fail(f"still running {HANG_GUARD_S} s after the signal:\n{err[-8000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip().splitlines()[-1] == "Error: interrupted", err
    assert "Traceback" not in err
