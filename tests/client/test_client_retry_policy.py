"""RetryPolicy alone: backoff bounds, which answers may be retried, Retry-After parsing."""

from __future__ import annotations

import random
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest

from reconcile.client import RetryPolicy, parse_retry_after


def test_backoff_is_full_jitter_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=10.0)
    random.seed(7)
    for retry in range(12):
        ceiling = min(10.0, 0.2 * 2**retry)
        delays = [policy.backoff(retry) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole range, not only near the ceiling.
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


def test_backoff_ceiling_is_passed_to_uniform() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    calls: list[tuple[float, float]] = []
    upper = [policy.backoff(n, uniform=lambda a, b: calls.append((a, b)) or b) for n in range(5)]
    assert upper == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert all(a == 0.0 for a, _ in calls)
    assert policy.backoff(10_000, uniform=lambda a, b: b) == 3.0  # no overflow


@pytest.mark.parametrize(
    "status, method, has_key, code, expected",
    [
        (500, "GET", False, "INTERNAL", True),
        (503, "GET", False, "UNAVAILABLE", True),
        (500, "POST", False, "INTERNAL", False),
        (500, "POST", True, "INTERNAL", True),
        (502, "DELETE", False, "HTTP_502", False),
        (429, "POST", False, "RATE_LIMITED", True),
        (409, "POST", True, "IDEMPOTENCY_IN_PROGRESS", True),
        (409, "POST", True, "CONFLICT", False),
        (404, "GET", False, "NOT_FOUND", False),
        (400, "GET", False, "VALIDATION_ERROR", False),
    ],
)
def test_which_statuses_are_retried(status: int, method: str, has_key: bool, code: str, expected: bool) -> None:
    assert RetryPolicy().may_retry_status(status, method, has_key, code) is expected


def test_which_transport_failures_are_retried() -> None:
    policy = RetryPolicy()
    assert policy.may_retry_transport("GET", False, nothing_sent=False)
    assert policy.may_retry_transport("POST", False, nothing_sent=True)
    assert policy.may_retry_transport("PATCH", True, nothing_sent=False)
    assert not policy.may_retry_transport("POST", False, nothing_sent=False)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    now = datetime(2026, 11, 25, 16, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(datetime(2026, 11, 25, 16, 0, 42, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == 42.0
    # A date in the past means "now", never a negative sleep.
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now.timestamp()) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-3", "1.5"])
def test_retry_after_unparseable_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None
