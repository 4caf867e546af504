"""A read whose failure is reported, not raised: an account fact impact cannot assess, a
check that could not run (`error`), a `status` section without its figures.

Imports: errors.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..errors import ApiError

T = TypeVar("T")


def tolerant(read: Callable[[], T]) -> T | ApiError:
    """`read()`'s answer, or the ApiError it raised (refused, unreachable, malformed, too large)."""
    try:
        return read()
    except ApiError as exc:
        return exc
