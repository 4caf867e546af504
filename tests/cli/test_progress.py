"""Apply progress: a `\\r` status line on a terminal, timestamped heartbeats at least every
interval elsewhere, `apply_progress` events with --json. A fake clock drives `tick()`; no
test sleeps."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from reconcile.apply import ApplyEvent, StepStatus
from reconcile.cli.progress import ApplyProgress
from reconcile.plan import Action, Change


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def change(name: str) -> Change:
    return Change(f"projects.{name}", "project", (name,), Action.CREATE, None, {"name": name})


def progress(mode: str, clock: Clock, into: list[str] | None = None) -> tuple[ApplyProgress, io.StringIO]:
    stream = io.StringIO()
    wall = lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return ApplyProgress(2, stream, mode=mode, interval=10, clock=clock, wall=wall,
                         json_out=(into.append if into is not None else None)), stream


def test_log_mode_prints_a_timestamped_heartbeat_at_least_every_interval_and_never_a_carriage_return():
    clock = Clock()
    p, stream = progress("log", clock)
    p.on_event(ApplyEvent(change("web"), StepStatus.RUNNING))
    clock.now += 9
    p.tick()
    assert stream.getvalue() == ""  # not yet: less than 10 s of silence
    clock.now += 1
    p.tick()
    assert stream.getvalue() == "03:04:05 still applying: 0/2 done, running projects.web (10s)\n"
    p.tick()  # no second heartbeat within the same interval
    assert stream.getvalue().count("still applying") == 1
    p.on_event(ApplyEvent(change("web"), StepStatus.SUCCEEDED, elapsed_ms=10500))
    clock.now += 60
    p.tick()  # nothing running: nothing to say
    assert stream.getvalue().splitlines()[-1] == "[1/2] projects.web: create succeeded (10500 ms)"
    assert "\r" not in stream.getvalue()


def test_tty_mode_redraws_one_status_line_and_clears_it():
    clock = Clock()
    p, stream = progress("tty", clock)
    p.on_event(ApplyEvent(change("web"), StepStatus.RUNNING))
    clock.now += 3
    p.tick()
    assert stream.getvalue().endswith("\r[0/2] applying: projects.web (3s)")
    p.on_event(ApplyEvent(change("web"), StepStatus.SUCCEEDED))
    assert "[1/2] projects.web: create succeeded\n" in stream.getvalue()
    p.stop()


def test_json_mode_emits_apply_progress_for_each_running_step():
    clock, lines = Clock(), []
    p, stream = progress("json", clock, lines)
    p.on_event(ApplyEvent(change("web"), StepStatus.RUNNING))
    p.on_event(ApplyEvent(change("api"), StepStatus.RUNNING))
    clock.now += 10
    p.tick()
    types = [json.loads(line)["type"] for line in lines]
    assert types == ["apply_start", "apply_start", "apply_progress", "apply_progress"]
    assert json.loads(lines[-1])["hook"]["elapsed_seconds"] == 10
    assert stream.getvalue() == ""


def test_the_ticker_thread_starts_and_stops_without_waiting_an_interval():
    p, _ = progress("log", Clock())
    p.start()
    p.stop()  # the stop event wakes the thread at once
    assert p._thread is not None and not p._thread.is_alive()
