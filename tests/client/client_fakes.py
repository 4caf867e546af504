"""Fakes for the client tests: a scripted MockTransport server and answers in the API's
shapes. Plain helpers (fixtures are in conftest.py); named apart from any other tests'."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

#: Distinctive, so a leak anywhere in a message or repr is unmistakable.
SECRET = "ifr_pk_proj_" + "Zq7" * 13 + "X"
BASE = "https://api.example.test"

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Server:
    """Answers requests from a script (one step per request, the last repeated) and keeps
    every request it saw, with its body parsed."""

    def __init__(self) -> None:
        self.script: list[Step] = []
        self.requests: list[httpx.Request] = []

    def answer(self, *steps: Step) -> Server:
        self.script.extend(steps)
        return self

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(request)
        return step


def error(status: int, code: str, message: str = "no", field: str | None = None,
          headers: dict[str, str] | None = None) -> httpx.Response:
    """An answer in the API's error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return httpx.Response(status, json={"error": body}, headers=headers)


def ok(data: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=data if data is not None else {}, headers=headers)
