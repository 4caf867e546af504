"""Safety rules a plan must pass before apply (octoDNS-style thresholds, Terraform-style
`prevent_destroy`). Pure; raises UnsafePlan subclasses with counts and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtectedDelete, TooMuchChange, UnsafePlan
from ..kinds import KINDS, REGISTRY
from ..state import LiveState
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
        spec = REGISTRY[c.kind]
        parent = REGISTRY[spec.parent].address(c.identity[:-1]) if spec.parent and c.identity else None
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


def check_replaced_parents(plan: Plan, live: LiveState) -> None:
    """A replaced object whose children the API deletes with it (a project's keys) would
    lose them silently, with their secrets: refuse, and say what to do instead."""
    problems = []
    for c in plan.changes:
        if c.action is not Action.REPLACE:
            continue
        for child in KINDS:
            if child.parent != c.kind:
                continue
            children = [r.address for r in live.of_kind(child.name) if r.item.parent_id == c.live_id]
            if children:
                problems.append(f"{c.address} has {len(children)} {child.title}(s) ({', '.join(children[:3])}"
                                f"{', …' if len(children) > 3 else ''}) that the API would delete with it")
    if problems:
        raise UnsafePlan("the plan replaces objects together with their children:\n  " + "\n  ".join(problems)
                         + "\nReplace or delete the children first (e.g. --replace each key, or remove them "
                           "from the config with --prune), then replace the parent.")
