"""The emulator clock: real time plus a settable offset.

Everything time-dependent in the emulator (created_at, rotation grace, idempotency
retention, rate-limit windows, billing periods) reads this clock, so tests move it through
`/_emulator/clock` instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    """Wall time shifted by `offset` seconds (the offset is process state, not persisted)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def set_now(self, epoch: float) -> None:
        self.offset = epoch - time.time()

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def iso(self) -> str:
        return iso(self.now())


def iso(epoch: float) -> str:
    """RFC 3339 UTC with `Z`, second precision (the contract's only timestamp format)."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """ISO 8601 date or date-time to epoch seconds; naive values are UTC. Raises ValueError."""
    if not isinstance(text, str) or not text or len(text) > 64:
        raise ValueError("not an ISO 8601 date or date-time")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def month_start(epoch: float) -> float:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_month_start(epoch: float) -> float:
    moment = datetime.fromtimestamp(month_start(epoch), tz=timezone.utc)
    if moment.month == 12:
        return moment.replace(year=moment.year + 1, month=1).timestamp()
    return moment.replace(month=moment.month + 1).timestamp()


def day_start(epoch: float) -> float:
    return float(int(epoch) // 86400 * 86400)


def period_bounds(epoch: float, period: str) -> tuple[float, float]:
    """[start, end) of the `daily` or `monthly` period containing `epoch` (UTC)."""
    if period == "daily":
        start = day_start(epoch)
        return start, start + 86400
    return month_start(epoch), next_month_start(epoch)


def month_label(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m")
