"""When the client retries a request, and how long it waits first.

Pure policy: no I/O and no httpx. `InfraiClient` (`http.py`) asks `RetryPolicy` whether an
answer or a transport failure may be retried, and for how long to sleep.

Rules (docs/emulator.md):
- Statuses in `retry_statuses` (429, 5xx) and 409 `IDEMPOTENCY_IN_PROGRESS` are retried.
- A request that may have taken effect (a 5xx answer, a dropped connection) is retried only
  when repeating it cannot act twice: a GET/HEAD/OPTIONS, or a request carrying an
  idempotency key. A failure that proves nothing reached the server (no connection made,
  a 429 refusal) may be retried for any method.
- Waits are exponential backoff with full jitter, `uniform(0, min(max_delay, base * 2**n))`,
  except that a `Retry-After` on 429/503 is honoured exactly, up to `max_retry_after`.
- A call retries only while it stays within `retry_budget` seconds from its first attempt
  (waits included): a wait that would pass it ends the call with the last failure. With the
  attempt deadline `T` (`ClientLimits.timeout`) a call therefore takes at most
  `retry_budget + T` (docs/network.md).

Imports nothing internal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

#: Methods that never change server state, so repeating them is always safe.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The 409 code that means "the first request with this key is still running": waiting and
#: sending the same request again yields its stored answer.
IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"

#: Statuses whose `Retry-After` header is honoured (RFC 9110 §10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    `max_attempts` counts every attempt, the first included (1 means never retry).
    `max_retry_after` is the longest `Retry-After` the client agrees to wait: a longer one
    makes it give up at once and report when to try again. `retry_budget` is how long a
    call may go on retrying, counted from its first attempt.
    """

    max_attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 10.0
    max_retry_after: float = 60.0
    retry_budget: float = 60.0
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if min(self.base_delay, self.max_delay, self.max_retry_after, self.retry_budget) < 0:
            raise ValueError("retry delays must not be negative")

    def backoff(self, retry: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """The jittered wait before retry number `retry` (0 for the first retry)."""
        # min() before the power would overflow: 2**retry is an int, so cap the exponent.
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(retry, 62))
        return uniform(0.0, ceiling)

    def may_retry_status(self, status: int, method: str, has_key: bool, code: str | None) -> bool:
        """Whether an HTTP answer may be retried (attempts left are checked by the caller)."""
        if status == 409:
            # Only ever sent for a request with an idempotency key; the retry replays.
            return code == IDEMPOTENCY_IN_PROGRESS
        if status not in self.retry_statuses:
            return False
        # A 429 is a refusal before any effect, like a connection never made.
        return status == 429 or method in SAFE_METHODS or has_key

    @staticmethod
    def may_retry_transport(method: str, has_key: bool, nothing_sent: bool) -> bool:
        """Whether a transport failure may be retried.

        `nothing_sent` is true for failures that happen before the request leaves (connect
        error or timeout, no free pooled connection): the server never saw it.
        """
        return nothing_sent or method in SAFE_METHODS or has_key


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date.

    None when absent or unparseable (the caller falls back to backoff); never negative.
    `now` is a POSIX timestamp, for tests; the current time by default.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 HTTP-dates are always GMT; a naive result means the zone was "-0000".
        when = when.replace(tzinfo=timezone.utc)
    reference = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0.0, when.timestamp() - reference)
