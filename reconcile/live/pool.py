"""A thread pool for reads that an interrupt does not wait for.

`with ThreadPoolExecutor()` waits for every worker on the way out, even when the block is
left by Ctrl-C: a read blocked on a server that never answers would hold the command until
its retry budget ran out. A read has no effect to finish, so on any exception this pool is
shut down without waiting and its queued calls are cancelled (the CLI then exits at once:
cli/common.py `exit_now_if_reads_are_stuck`).
Imports: nothing.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor


INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def _leave_interrupts_to_the_main_thread() -> None:
    # The kernel hands a process signal to any thread that does not block it. Python runs
    # handlers in the main thread only, and a main thread blocked waiting for a future wakes
    # for it only if the signal was delivered to it: a worker that takes it would leave the
    # Ctrl-C pending until the read ends (seen: a minute against a silent server).
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)


@contextlib.contextmanager
def reading_pool(max_workers: int, name: str = "read") -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix=name,
                              initializer=_leave_interrupts_to_the_main_thread)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
