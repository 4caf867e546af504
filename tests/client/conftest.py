"""Fixtures for the client tests: a client on a MockTransport server, a fake sleep, and
`raises`, which also checks the API key never leaks. No sockets, no real sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest

from client_fakes import BASE, SECRET, Server  # type: ignore[import-not-found]
from reconcile.client import InfraiClient, RetryPolicy


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def sleeps() -> list[float]:
    """Every delay the client asked to sleep, in order."""
    return []


@pytest.fixture
def make_client(server: Server, sleeps: list[float]) -> Iterable[Callable[..., InfraiClient]]:
    made: list[httpx.Client] = []

    def make(**kwargs: Any) -> InfraiClient:
        http = httpx.Client(transport=httpx.MockTransport(server))
        made.append(http)
        kwargs.setdefault("retry", RetryPolicy())
        kwargs.setdefault("sleep", sleeps.append)
        return InfraiClient(BASE, SECRET, http=http, **kwargs)

    yield make
    for http in made:
        http.close()


@pytest.fixture
def client(make_client: Callable[..., InfraiClient]) -> InfraiClient:
    return make_client()


@pytest.fixture
def raises() -> Callable[..., BaseException]:
    """Like pytest.raises, and then check the API key appears nowhere in the exception,
    its cause chain, or their reprs."""

    def check(cls: type[BaseException], call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with pytest.raises(cls) as info:
            call(*args, **kwargs)
        exc: BaseException | None = info.value
        while exc is not None:
            for text in (str(exc), repr(exc)):
                assert SECRET not in text, f"API key leaked in {type(exc).__name__}: {text}"
            exc = exc.__cause__ or exc.__context__
        return info.value

    return check
