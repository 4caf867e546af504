"""A synchronous httpx transport that calls an ASGI app in-process.

httpx's own `ASGITransport` is async-only and Starlette's TestClient is deprecated for use
with httpx, so `--local` and the tests use this: one background thread runs one event loop
that serves every request (so the app sees one request at a time per await point, as under
uvicorn), while any number of caller threads block on their own request. No sockets.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any, *, client: tuple[str, int] = ("127.0.0.1", 50000), timeout: float = 60.0):
        self._async = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="asgi-inprocess", daemon=True)
        self._thread.start()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("in-process transport is closed", request=request)
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            async_request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._async.handle_async_request(async_request)
            content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers.raw, content

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        try:
            status, headers, content = future.result(timeout=self._timeout)
        except TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout("in-process request timed out", request=request) from None
        except httpx.TransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - an app crash looks like a dropped connection
            raise httpx.RemoteProtocolError(f"in-process app failed: {type(exc).__name__}", request=request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
