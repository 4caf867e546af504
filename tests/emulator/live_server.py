"""A real uvicorn server on a free 127.0.0.1 port, in a thread, for tests that need sockets.

Used by the fault (dropped connections) and OpenAPI conformance tests; everything else runs
in process. Only loopback is ever bound.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_S = 10.0


@contextmanager
def live_server(app: ASGIApp, *, http: str = "h11") -> Iterator[str]:
    """Serve `app` until the block ends; yields the base URL (`http://127.0.0.1:<port>`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # `http` is "h11" (pure Python) or "httptools" (uvicorn[standard], what `serve` uses).
    config = uvicorn.Config(app, http=http, loop="asyncio", log_level="critical", access_log=False, lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)  # waiting for a thread to come up, not for emulated time
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT_S)
        sock.close()
