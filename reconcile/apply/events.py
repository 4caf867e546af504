"""What apply reports while it runs and when it ends: typed events and the final report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..plan import Change


class StepStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"          # a step it depends on failed
    NOT_STARTED = "not_started"  # apply stopped before it (first failure, Ctrl-C)
    UNDONE = "undone"            # --atomic rolled it back


@dataclass(frozen=True)
class ApplyEvent:
    change: Change
    status: StepStatus
    error: str | None = None
    elapsed_ms: int = 0
    ts: float = field(default_factory=time.time)
    detail: str = ""


@dataclass
class StepResult:
    change: Change
    status: StepStatus = StepStatus.PENDING
    error: str | None = None
    calls: int = 0
    new_id: str | None = None
    replayed: bool = False
    elapsed_ms: int = 0
    # Values the API returned that an --atomic rollback needs (never secrets).
    response: dict[str, Any] | None = None


@dataclass
class ApplyReport:
    results: list[StepResult]
    interrupted: bool = False
    stopped_early: bool = False
    elapsed_s: float = 0.0
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in StepStatus if s not in (StepStatus.PENDING, StepStatus.RUNNING)}
        for r in self.results:
            if r.status.value in out:
                out[r.status.value] += 1
        return out

    @property
    def ok(self) -> bool:
        return all(r.status is StepStatus.SUCCEEDED for r in self.results) and not self.interrupted

    def summary(self) -> str:
        n = self.counts()
        text = (f"Apply {'complete' if self.ok else 'incomplete'}: {n['succeeded']} done, {n['failed']} failed, "
                f"{n['skipped']} skipped, {n['not_started']} not started")
        if n["undone"]:
            text += f", {n['undone']} undone"
        if self.interrupted:
            text += " (interrupted)"
        return text + "."
