"""One reading of a webhook's deliveries (the API lists them oldest first), for the drift
check of a `reachable: true` webhook (plan/checks.py) and for `status` (plan/health.py).

Imports: nothing outside this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class DeliveryStats:
    """What a window of deliveries says: how many, which failed, the latest success."""

    recent: tuple[Mapping[str, Any], ...]
    failed: tuple[Mapping[str, Any], ...]
    last_success: str | None

    @property
    def ok(self) -> int:
        return len(self.recent) - len(self.failed)

    @property
    def failure_rate(self) -> float:
        return len(self.failed) / len(self.recent) if self.recent else 0.0

    @property
    def latest_failed(self) -> Mapping[str, Any] | None:
        return self.failed[-1] if self.failed else None

    @property
    def latest_is_a_failure(self) -> bool:
        return bool(self.recent) and not self.recent[-1].get("ok")


def delivery_stats(recent: Sequence[Mapping[str, Any]]) -> DeliveryStats:
    """The stats of `recent`, a window of deliveries oldest first."""
    failed = tuple(d for d in recent if not d.get("ok"))
    last_ok = next((d.get("created_at") for d in reversed(recent) if d.get("ok")), None)
    return DeliveryStats(tuple(recent), failed, last_ok)
