"""A hard deadline for each HTTP attempt, enforced at the socket.

httpx's timeouts apply to each socket operation: a read timeout restarts with every byte,
so a server sending one byte a second (of the headers or of the body) keeps a request
going forever. `DeadlineBackend` is an httpcore network backend that gives every connect,
read and write at most the time left before the deadline of the attempt in progress on
the calling thread (`attempt_deadline`), and fails the operation with httpcore's own
timeout once it has passed. The sync client does every socket operation of a request in
the thread that sent it, so a thread-local deadline is exact.

Imports nothing internal.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
import typing
from collections.abc import Iterator

import httpcore
import httpx

_current = threading.local()


class AttemptDeadline(httpx.ReadTimeout):
    """The attempt's deadline passed while its answer was still arriving."""


@contextlib.contextmanager
def attempt_deadline(deadline: float) -> Iterator[None]:
    """Socket operations on this thread must finish by `deadline` (`time.monotonic()`)."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = deadline
    _current.expired = False
    try:
        yield
    finally:
        _current.deadline = previous


def deadline_expired() -> bool:
    """Whether the last timeout on this thread came from the deadline (not a plain timeout)."""
    return bool(getattr(_current, "expired", False))


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    deadline: float | None = getattr(_current, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        _current.expired = True
        raise exc("the attempt's deadline has passed")
    if timeout is None or left < timeout:
        # This operation ends at the deadline at the latest: if it times out, that is why.
        _current.expired = True
        return left
    _current.expired = False
    return timeout


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        self._backend = backend or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _bounded(timeout, httpcore.ConnectTimeout),
                                           local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, _bounded(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(http: httpx.Client) -> bool:
    """Put a `DeadlineBackend` under every connection pool of `http` (its transport and any
    proxy mounts). False if this httpx/httpcore does not have the internals it relies on
    (then only the checks between body chunks bound an attempt)."""
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    installed = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            pool._network_backend = DeadlineBackend(pool._network_backend)
            installed = True
    return installed
