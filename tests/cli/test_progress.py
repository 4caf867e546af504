"""Apply progress: a `\\r` status line on a terminal, timestamped heartbeats at least every
interval elsewhere, `apply_progress` events with --json. A fake clock drives `tick()`; no
test sleeps."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

import pytest

from reconcile.apply import ApplyEvent, StepStatus
from reconcile.cli.progress import ApplyProgress, fit_width
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
    assert stream.getvalue().endswith("\r\x1b[K[0/2] applying: projects.web (3s)")
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


class Screen:
    """Just enough of a terminal of `width` columns: `\\r`, `\\n`, `ESC[K` and automatic wrap
    at the right margin, which is what leaves debris behind a status line that is too long."""

    def __init__(self, width: int):
        self.width, self.lines, self.col = width, [""], 0

    def write(self, text: str) -> None:
        i = 0
        while i < len(text):
            if text.startswith("\x1b[K", i):
                self.lines[-1] = self.lines[-1][: self.col]
                i += 3
                continue
            ch = text[i]
            i += 1
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.lines.append("")
                self.col = 0
            else:
                if self.col >= self.width:  # wrap to a new row
                    self.lines.append("")
                    self.col = 0
                line = self.lines[-1].ljust(self.col)
                self.lines[-1] = line[: self.col] + ch + line[self.col + 1:]
                self.col += 1

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def long_change(i: int) -> Change:
    name = f"a-project-with-a-rather-long-name-number-{i}"
    return Change(f"projects.{name}", "project", (name,), Action.CREATE, None, {"name": name})


@pytest.mark.parametrize("width", [80, 40])
def test_tty_status_line_fits_the_terminal_and_leaves_no_debris(width):
    clock, screen = Clock(), Screen(width)
    p = ApplyProgress(6, screen, mode="tty", clock=clock, columns=lambda: width)
    changes = [long_change(i) for i in range(6)]
    for c in changes[:4]:
        p.on_event(ApplyEvent(c, StepStatus.RUNNING))
        clock.now += 1
        p.tick()
        assert len(screen.lines[-1]) <= width - 1, screen.lines[-1]
    for c in changes[:4]:  # finishing steps print their line above the redrawn status
        p.on_event(ApplyEvent(c, StepStatus.SUCCEEDED, elapsed_ms=5))
    p.stop()
    # Each finished step's line (wrapped by the terminal if it is long: it ends in a newline),
    # then an empty row: no fragment of any status line anywhere.
    expected = Screen(width)
    for n, c in enumerate(changes[:4], 1):
        expected.write(f"[{n}/6] {c.address}: create succeeded (5 ms)\n")
    assert screen.lines == expected.lines


def test_tty_status_line_is_cut_by_display_cells():
    assert fit_width("abcdef", 6) == "abcdef"
    assert fit_width("abcdefgh", 6) == "abc..."
    assert fit_width("ab日本語cd", 7) == "ab日..."  # wide characters count two cells
    assert fit_width("abc", 2) == ".."


def test_log_records_are_written_on_their_own_line_never_glued_to_the_status_line():
    clock, screen = Clock(), Screen(80)
    p = ApplyProgress(2, screen, mode="tty", clock=clock, columns=lambda: 80)
    root = logging.getLogger()
    handler = logging.StreamHandler(screen)  # what `logging.basicConfig(stream=sys.stderr)` set up
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.WARNING)  # no -v
    try:
        with p.routing_logs():
            assert handler not in root.handlers
            p.on_event(ApplyEvent(change("web"), StepStatus.RUNNING))
            clock.now += 2
            p.tick()
            logging.getLogger("reconcile.test").warning("run: interrupted")
            assert screen.lines[-2:] == ["WARNING: run: interrupted", "[0/2] applying: projects.web (2s)"]
            root.setLevel(logging.INFO)  # -v: the records as configured, timestamps and all
        assert handler in root.handlers
        with p.routing_logs():
            logging.getLogger("reconcile.test").info("GET /v1/account/projects/list")
            assert screen.lines[-2:] == ["INFO GET /v1/account/projects/list", "[0/2] applying: projects.web (2s)"]
    finally:
        root.setLevel(level)
        root.removeHandler(handler)
    p.stop()
    assert screen.lines[-1] == ""


def test_the_width_comes_from_the_status_streams_own_terminal(monkeypatch):
    import os

    from reconcile.cli import progress as module

    monkeypatch.setattr(module.os, "get_terminal_size", lambda fd: os.terminal_size((57, 24)))
    monkeypatch.setenv("COLUMNS", "99")
    assert module.terminal_columns(io.StringIO()) == 99  # no file descriptor: $COLUMNS

    class Tty(io.StringIO):
        def fileno(self) -> int:
            return 2

    assert module.terminal_columns(Tty()) == 57


def test_a_real_apply_on_an_80_column_terminal_leaves_only_its_step_lines(tmp_path):
    """The whole CLI on a pseudo-terminal 80 columns wide (stderr; the report goes to a pipe):
    what the terminal finally shows is the step lines, nothing of any status line."""
    import fcntl
    import os
    import pty
    import re
    import select
    import struct
    import subprocess
    import sys
    import termios
    from pathlib import Path

    names = [f"a-project-whose-name-is-long-enough-to-matter-{i:02d}" for i in range(12)]
    (tmp_path / "infrai.yaml").write_text("version: 1\nprojects:\n" + "".join(f"  - name: {n}\n" for n in names))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFRAI_", "GITHUB_")) and k != "COLUMNS"}
    env.update(PYTHONPATH=str(Path(__file__).parents[2]), NO_COLOR="1", TERM="xterm")
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "apply", "infrai.yaml", "--local", "db", "--auto-approve",
                             "--secrets-out", "s.json", "--parallelism", "4"], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    data = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, "apply went silent on the terminal"
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
        stdout = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, stdout
    screen = Screen(80)
    screen.write(data.decode())
    assert all(len(row) <= 80 for row in screen.lines)
    shown: list[str] = []  # the screen's rows joined back where the terminal wrapped a long line
    for row, previous in zip(screen.lines, [""] + screen.lines):
        if len(previous) == 80 and shown:
            shown[-1] += row
        elif row.strip():
            shown.append(row)
    step = re.compile(r"\[\d+/12\] projects\.a-project-whose-name-is-long-enough-to-matter-\d\d: "
                      r"create succeeded( \(\d+ ms\))?")
    assert [line for line in shown if not step.fullmatch(line)] == []
    assert len(shown) == 12
    assert "applying:" in data.decode()  # the status line was drawn, and erased
