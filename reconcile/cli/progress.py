"""What `apply` shows while it runs, on stderr (or, with `--json`, as events on stdout).

- On a terminal: a line per finished step and a `\\r` status line (done/total, what is
  running and for how long), redrawn by a ticker every second. The status line is cut to the
  terminal's width less one column (a full-width line wraps, and the next `\\r` would leave the
  wrapped part behind), erased with `ESC[K`, and log records are written through the same
  lock: erase, record, redraw (`routing_logs`), never glued to it.
- Elsewhere (CI logs, files): a line per finished step, and a timestamped heartbeat at least
  every `interval` seconds while steps run, so a quiet apply never looks hung. Never `\\r`.
- `--json`: `apply_start`/`apply_complete`/`apply_errored` per step and an `apply_progress`
  for each running step every `interval` seconds.

The ticker is a daemon thread woken by a `threading.Event`; tests call `tick()` with an
injected clock instead of waiting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from ..apply import ApplyEvent, StepStatus
from ..plan import Change
from ..render import events as ui

HEARTBEAT_S = 10.0
TTY_REFRESH_S = 1.0
ERASE_LINE = "\r\x1b[K"  # back to column 0, erase to the end of the line


class ApplyProgress:
    def __init__(self, total: int, stream: TextIO, *, mode: str, interval: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 json_out: Callable[[str], None] | None = None,
                 columns: Callable[[], int] | None = None):
        """`mode` is "tty", "log", "json" or "off"; `columns` the terminal's width, read at
        every redraw (a resized window is honoured)."""
        self.total, self.stream, self.mode = total, stream, mode
        self.interval = TTY_REFRESH_S if mode == "tty" else interval
        self.clock, self.wall = clock, wall
        self.json_out = json_out or (lambda text: None)
        self.done = 0
        self.running: dict[str, tuple[Change, float]] = {}
        self.last_output = clock()
        self.last_progress: dict[str, float] = {}
        self.columns = columns or (lambda: terminal_columns(stream))
        # Re-entrant: a log record may be emitted while this object writes.
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status_shown = False

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
        self.stream.write(ERASE_LINE + fit_width(text, self.columns() - 1))
        self.stream.flush()
        self._status_shown = True

    def _clear_status(self) -> None:
        if self.mode == "tty" and self._status_shown:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self._status_shown = False

    # -- log records --------------------------------------------------------------------
    def write_record(self, text: str) -> None:
        """A log record on its own line: the status line erased first, redrawn after."""
        with self._lock:
            self._clear_status()
            self._write(text + "\n")
            self._draw_status()

    @contextlib.contextmanager
    def routing_logs(self) -> Iterator[None]:
        """On a terminal, while apply runs: the root logger's handlers that write to this
        stream are swapped for one that writes through `write_record` (same level; the
        same format under -v, else `LEVEL: message`)."""
        if self.mode != "tty":
            yield
            return
        root = logging.getLogger()
        moved = [h for h in root.handlers if type(h) is logging.StreamHandler and h.stream is self.stream]
        handler = _ProgressHandler(self)
        if moved:
            handler.setLevel(moved[0].level)
            # Without -v only warnings get here (the executor's "interrupted: finishing N
            # step(s) in flight"): a person reads them, so no timestamp or logger name.
            quiet = root.getEffectiveLevel() >= logging.WARNING
            handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s") if quiet else moved[0].formatter)
        for h in moved:
            root.removeHandler(h)
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)
            for h in moved:
                root.addHandler(h)


class _ProgressHandler(logging.Handler):
    def __init__(self, progress: ApplyProgress):
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.write_record(self.format(record))
        except Exception:  # a log record must never break the apply
            self.handleError(record)


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to (stdout may be a file while stderr is
    the terminal), else $COLUMNS or 80."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size().columns


def fit_width(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells (wide characters count two), `...` marking a cut."""
    cells = [2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
             for ch in text]
    if sum(cells) <= width:
        return text
    room, used, end = max(width - 3, 0), 0, 0
    for end, cell in enumerate(cells):
        if used + cell > room:
            break
        used += cell
    return text[:end] + "..."[: max(width, 0)]
