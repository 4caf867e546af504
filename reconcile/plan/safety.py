"""Safety rules a plan must pass before apply (octoDNS-style thresholds, Terraform-style
`prevent_destroy`). Pure; raises UnsafePlan subclasses with counts and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtectedDelete, TooMuchChange
from ..kinds import REGISTRY
from .model import Action, Plan


@dataclass(frozen=True)
class SafetyLimits:
    # Refuse when more than `max_destroy` objects would be destroyed AND they are more than
    # `max_destroy_fraction` of their kind's live objects.
    max_destroy: int = 10
    max_destroy_fraction: float = 0.25


def check_protected(plan: Plan, protected: set[str]) -> None:
    """`protect: true` on a resource (or on the project of a key) makes destroying it fail;
    --force does not override it: remove `protect` first."""
    hits = []
    for c in plan.changes:
        if not c.action.destroys:
            continue
        parent = c.address.rsplit(".keys", 1)[0] if c.kind == "api_key" else None
        if c.meta.get("protect") or c.address in protected or (parent and parent in protected and c.action is Action.DELETE):
            hits.append(f"{c.address} ({c.action.value})")
    if hits:
        raise ProtectedDelete(
            f"the plan would destroy protected resources: {', '.join(hits)}. "
            "Remove `protect: true` from them first if this is intended.")


def check_thresholds(plan: Plan, limits: SafetyLimits = SafetyLimits()) -> None:
    destroyed: dict[str, int] = {}
    for c in plan.changes:
        if c.action.destroys:
            destroyed[c.kind] = destroyed.get(c.kind, 0) + 1
    problems = []
    for kind, n in sorted(destroyed.items()):
        total = plan.live_counts.get(kind, 0)
        if n > limits.max_destroy and total and n / total > limits.max_destroy_fraction:
            problems.append(f"{n} of {total} {REGISTRY[kind].title}s ({n / total:.0%})")
    if problems:
        raise TooMuchChange(
            f"the plan would delete or replace {'; '.join(problems)}, more than the safety threshold "
            f"({limits.max_destroy} objects and {limits.max_destroy_fraction:.0%} of a kind). "
            "Review it and pass --force to apply it anyway.")
