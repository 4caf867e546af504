"""What a workflow tells its caller while it runs (`on_event`): notes, the plan, the steps.

Imports: resources, apply, plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..apply.events import ApplyEvent
from ..plan.model import Plan
from ..resources import DesiredState, LiveState


@dataclass(frozen=True)
class Note:
    """Something the user should know (the CLI prints it on stderr): a lease taken over, a
    secret recovered from the journal, steps of a saved plan already applied."""

    text: str


@dataclass(frozen=True)
class PlanReady:
    """The plan, made and checked, before the gates and before any change."""

    plan: Plan
    live: LiveState
    desired: DesiredState | None


@dataclass(frozen=True)
class StepsStarting:
    """The confirmed plan's `total` steps are about to run."""

    total: int


@dataclass(frozen=True)
class StepsFinished:
    """No step runs any more (also after an error)."""


WorkflowEvent = Union[Note, PlanReady, StepsStarting, StepsFinished, ApplyEvent]


