"""What `apply` shows while it runs, on stderr (or, with `--json`, as events on stdout).

- On a terminal: a line per finished step and a `\\r` status line (done/total, what is
  running and for how long), redrawn by a ticker every second.
- Elsewhere (CI logs, files): a line per finished step, and a timestamped heartbeat at least
  every `interval` seconds while steps run, so a quiet apply never looks hung. Never `\\r`.
- `--json`: `apply_start`/`apply_complete`/`apply_errored` per step and an `apply_progress`
  for each running step every `interval` seconds.

The ticker is a daemon thread woken by a `threading.Event`; tests call `tick()` with an
injected clock instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from ..apply import ApplyEvent, StepStatus
from ..plan import Change
from ..render import events as ui

HEARTBEAT_S = 10.0
TTY_REFRESH_S = 1.0


class ApplyProgress:
    def __init__(self, total: int, stream: TextIO, *, mode: str, interval: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 json_out: Callable[[str], None] | None = None):
        """`mode` is "tty", "log", "json" or "off"."""
        self.total, self.stream, self.mode = total, stream, mode
        self.interval = TTY_REFRESH_S if mode == "tty" else interval
        self.clock, self.wall = clock, wall
        self.json_out = json_out or (lambda text: None)
        self.done = 0
        self.running: dict[str, tuple[Change, float]] = {}
        self.last_output = clock()
        self.last_progress: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status_width = 0

    # -- events from the executor -----------------------------------------------------
    def on_event(self, event: ApplyEvent) -> None:
        with self._lock:
            if event.status is StepStatus.PENDING:
                return
            address = event.change.address
            if event.status is StepStatus.RUNNING:
                self.running[address] = (event.change, self.clock())
                self.last_progress[address] = self.clock()
            else:
                self.running.pop(address, None)
                self.done += 1
            if self.mode == "json":
                msg = ui.apply_event(event)
                if msg is not None:
                    self.json_out(ui.line(msg))
            elif self.mode in ("tty", "log") and event.status is not StepStatus.RUNNING:
                self._clear_status()
                self._write(f"[{self.done}/{self.total}] {address}: {event.change.action.value} {event.status.value}"
                            + (f" ({event.elapsed_ms} ms)" if event.elapsed_ms else "") + "\n")
                self._draw_status()

    # -- the ticker ---------------------------------------------------------------------
    def tick(self) -> None:
        """Called by the ticker thread (or a test): heartbeat, status line or progress events."""
        with self._lock:
            now = self.clock()
            if self.mode == "tty":
                self._draw_status()
            elif self.mode == "log":
                if self.running and now - self.last_output >= self.interval:
                    self._write(f"{self.wall().strftime('%H:%M:%S')} still applying: {self.done}/{self.total} done, "
                                f"running {self._running_text(now)}\n")
            elif self.mode == "json":
                for address, (change, started) in self.running.items():
                    if now - self.last_progress[address] >= self.interval:
                        self.last_progress[address] = now
                        self.json_out(ui.line(ui.apply_progress(change, now - started)))

    def start(self) -> None:
        if self.mode == "off":
            return
        self._thread = threading.Thread(target=self._loop, name="apply-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._clear_status()

    def _loop(self) -> None:
        # Wake at a fraction of the interval so a heartbeat is never late by a whole one.
        while not self._stop.wait(min(self.interval, 1.0)):
            self.tick()

    # -- output -------------------------------------------------------------------------
    def _running_text(self, now: float) -> str:
        items = sorted(self.running.items(), key=lambda kv: kv[1][1])
        shown = ", ".join(f"{a} ({int(now - started)}s)" for a, (_, started) in items[:3])
        return shown + (f" and {len(items) - 3} more" if len(items) > 3 else "")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        self.last_output = self.clock()

    def _draw_status(self) -> None:
        if self.mode != "tty" or not self.running:
            return
        text = f"[{self.done}/{self.total}] applying: {self._running_text(self.clock())}"
        pad = max(0, self._status_width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._status_width = len(text)

    def _clear_status(self) -> None:
        if self.mode == "tty" and self._status_width:
            self.stream.write("\r" + " " * self._status_width + "\r")
            self.stream.flush()
            self._status_width = 0
