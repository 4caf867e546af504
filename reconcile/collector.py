"""The cyclic garbage collector around steps that allocate much and free nothing.

A bulk step (importing the command tree, loading 10,000 resources, reading them live,
planning them) allocates objects that all stay alive, so each collection it triggers
walks them and frees nothing: a full pass is ~0.1 s at 10,000 resources, and the first
collection after a step walks everything it left (figures: docs/benchmarks.md). Reference
counting still frees everything; only the cycle detector waits.

Imports: nothing.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

# True in the `reconcile` command (cli.main): one process, one run, so what a bulk step
# leaves alive may leave later collections too. False for a library caller, whose
# process may live on and whose objects must stay collectable.
_short_lived = False


def mark_short_lived() -> None:
    """This process is one run of the `reconcile` command (idempotent)."""
    global _short_lived
    _short_lived = True


def is_short_lived() -> bool:
    return _short_lived


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Run a bulk step without the cyclic GC; a context manager and a decorator.

    Nests, and restores the collector's previous state. In a short-lived process, every
    object alive then goes to the collector's permanent generation (`gc.freeze`): a
    reference cycle among them waits for the process to end, fine for one CLI run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            resume()


def resume() -> None:
    """Turn the collector back on after a pause; in a short-lived process, what is alive
    first goes to the permanent generation (the entry point calls this after the imports
    it made with the collector off from its first line, cli/__init__.py)."""
    if _short_lived:
        gc.freeze()
    gc.enable()
