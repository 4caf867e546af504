"""Run the CLI with a SIGKILL injected at a chosen journal call: the crash tests' fault point.

    python tests/e2e/crash_launcher.py N[:sent] reconcile-args...

`N` SIGKILLs the process when the N-th response arrives, before the tool records or
processes it (the call took effect, its answer and any secret are lost: the worst case);
`N:sent` right after the N-th "sent" journal line is fsynced, before the request leaves.

The fault is installed here, by wrapping `ApplyJournal.before_call` / `after_call` before
the CLI's `main` runs, so production code carries no test hook and reads no test variable.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from typing import Any, Callable


def parse_kill_point(value: str) -> tuple[int, str]:
    count, _, point = value.partition(":")
    point = point or "response"
    if not count.isdigit() or int(count) < 1 or point not in ("response", "sent"):
        raise SystemExit(f"crash_launcher: kill point {value!r}: use N or N:sent (N >= 1)")
    return int(count), point


def install(after: int, point: str) -> None:
    """SIGKILL this process at the `after`-th call reaching `point` (counted across threads)."""
    from reconcile.apply.journal import ApplyJournal

    lock = threading.Lock()
    reached = 0

    def tick() -> None:
        nonlocal reached
        with lock:
            reached += 1
            if reached == after:
                os.kill(os.getpid(), signal.SIGKILL)

    def killing_after(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)  # the "sent" line is written and fsynced first
            tick()
            return result
        return wrapper

    def killing_before(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            tick()  # the response arrived; nothing has recorded it yet
            return method(*args, **kwargs)
        return wrapper

    if point == "sent":
        ApplyJournal.before_call = killing_after(ApplyJournal.before_call)  # type: ignore[method-assign]
    else:
        ApplyJournal.after_call = killing_before(ApplyJournal.after_call)  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: crash_launcher.py N[:sent] reconcile-args...")
    install(*parse_kill_point(argv[0]))
    from reconcile.cli.main import main as cli_main

    sys.argv = ["reconcile", *argv[1:]]
    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])
