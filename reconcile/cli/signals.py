"""Signals, which only the CLI handles: SIGTERM (a CI runner cancelling the job, `timeout`)
ends every command like Ctrl-C, exit 130 with one line; while an apply's (or adopt's) steps
run, SIGINT and SIGTERM only set the run's cancel event instead, so the steps in flight
finish and no new one starts (docs/partial-applies.md). The executor installs no handler.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


def interrupt_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does (for the whole command)."""

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)


@contextlib.contextmanager
def cancelling(cancel: threading.Event) -> Iterator[None]:
    """While steps run, SIGINT (Ctrl-C) and SIGTERM only set `cancel`: the walk starts nothing
    new and waits for the steps in flight, so no step is left half done (a create without its
    follow-up update, a secret not written). A KeyboardInterrupt raised at an arbitrary point
    would escape from between two calls of one step. Signal handlers can only be set from the
    main thread; elsewhere the default behaviour is kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        cancel.set()  # nothing else: a handler may run while the main thread holds any lock

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
