"""Run-wide options (parallelism, retries, timeouts, size caps) in one dataclass with one
default each, passed to every path: plan, apply, apply PLANFILE, adopt, export, doctor.
The CLI's flags take their defaults from here (cli/common.py), so the two can never
disagree again (`apply PLANFILE` and `adopt` used to read with 8 while the CLI said 10).

Imports: client (its limits and retry policy, built from these options; imported when they
are, so `--help` and `validate`, whose flags read the defaults here, never load HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..client import ClientLimits, RetryPolicy

#: Concurrent API calls: list pages while reading, steps while applying (`--parallelism`).
DEFAULT_PARALLELISM = 10
#: Retries of a failed call (`--retries`), and the base of their exponential backoff (`--retry-delay`).
DEFAULT_RETRIES = 5
DEFAULT_RETRY_DELAY = 0.2


@dataclass(frozen=True)
class RunOptions:
    """How a run talks to the API. Every field has one default; a bound left None is the
    client's own default (reconcile/client: `ClientLimits`, `RetryPolicy`; docs/network.md)."""

    parallelism: int = DEFAULT_PARALLELISM
    """Concurrent API calls: list pages while reading, steps while applying."""
    retries: int = DEFAULT_RETRIES
    """Retries of a failed call (connection errors, 429, 5xx; writes only with their idempotency key)."""
    retry_delay: float = DEFAULT_RETRY_DELAY
    """Base of the exponential backoff, in seconds."""
    timeout: float | None = None
    """Seconds one attempt of a call may take in all, connecting to the last byte."""
    connect_timeout: float | None = None
    """Seconds to connect to the API."""
    max_retry_wait: float | None = None
    """Longest Retry-After honoured, in seconds; a longer one fails the call at once."""
    retry_budget: float | None = None
    """Seconds a call may go on retrying, from its first attempt."""
    max_response_bytes: int | None = None
    """Largest API answer accepted, decoded."""
    max_list_items: int | None = None
    """Most items one list may return."""
    max_list_pages: int | None = None
    """Most pages one list may take."""

    def __post_init__(self) -> None:
        if self.parallelism < 1:
            raise ValueError(f"parallelism must be at least 1, not {self.parallelism}")
        if self.retries < 0:
            raise ValueError(f"retries must be at least 0, not {self.retries}")

    @property
    def limits(self) -> ClientLimits:
        """The client's time and size bounds, its defaults where these options say None."""
        from ..client import ClientLimits

        given = _given(self, {f.name for f in fields(ClientLimits)})
        return ClientLimits(**given)

    @property
    def retry_policy(self) -> RetryPolicy:
        from ..client import RetryPolicy

        given: dict[str, Any] = {}
        if self.max_retry_wait is not None:
            given["max_retry_after"] = self.max_retry_wait
        if self.retry_budget is not None:
            given["retry_budget"] = self.retry_budget
        return RetryPolicy(max_attempts=self.retries + 1, base_delay=self.retry_delay, **given)

    @property
    def max_connections(self) -> int:
        """HTTP connections the client may keep: room for every call in flight, twice over."""
        return max(16, self.parallelism * 2)


def _given(options: RunOptions, names: set[str]) -> dict[str, Any]:
    return {name: getattr(options, name) for name in names if getattr(options, name, None) is not None}
