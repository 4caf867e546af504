"""`reconcile doctor`: probe an endpoint read-only and report where it differs from what the
reconciler assumes (the checks are reconcile/workflow/doctor.py; this adapts the API client to them)."""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

import click
import httpx

from ..client import InfraiClient
from ..workflow.doctor import FAIL, PASS, WARN, Probe, Report, run_doctor
from ..errors import ApiStatusError
from .common import EXIT_ERROR, EXIT_OK, Out, connection_options, handle_errors
from .wiring import Connection, open_client, run_options


class ClientProber:
    """GETs through the API client; every answer's headers come from the response hook, so
    an error answer (which the client turns into an exception) keeps its headers too."""

    def __init__(self, client: InfraiClient, answers: list[httpx.Response]):
        self._client = client
        self._answers = answers

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Probe:
        start = len(self._answers)
        try:
            response = self._client.request("GET", path, params=params)
            status, body = response.status, response.data
        except ApiStatusError as exc:
            status, body = exc.status, exc.body
        received = time.time()
        answers = [Probe(a.status_code, {k.lower(): v for k, v in a.headers.items()}, None, received)
                   for a in self._answers[start:]]
        headers = answers[-1].headers if answers else {}
        return Probe(status, headers, body, received, tuple(answers[:-1]))


_MARK = {PASS: "pass", WARN: "WARN", FAIL: "FAIL"}


def render_text(report: Report) -> str:
    width = max((len(c.name) for c in report.checks), default=0)
    lines = [f"reconcile doctor: {report.endpoint}", ""]
    for c in report.checks:
        lines.append(f"  {_MARK[c.status]}  {c.name.ljust(width)}  {c.detail}")
        if c.breaks:
            lines.append(f"        {' ' * width}  would break: {c.breaks}")
    n = report.counts
    lines += ["", f"{n[PASS]} passed, {n[WARN]} warning(s), {n[FAIL]} failed."]
    return "\n".join(lines) + "\n"


@click.command("doctor")
@connection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for machines (docs/doctor.md).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", hidden=True)
@handle_errors
def doctor(endpoint: str | None, local_db: str | None, parallelism: int, retries: int, retry_delay: float,
           fmt: str, color: str) -> int:
    """Probe the API read-only: is it the one the reconciler assumes? Exit 1 on any failed point."""
    answers: list[httpx.Response] = []
    with open_client(Connection(endpoint, local_db, run_options(parallelism, retries, retry_delay)),
                     on_response=answers.append) as client:
        report = run_doctor(ClientProber(client, answers), client.base_url)
    out = Out(False)
    out.result(json.dumps(report.to_data(), indent=2) + "\n" if fmt == "json" else render_text(report))
    return EXIT_OK if report.ok else EXIT_ERROR
