"""Safety rules a plan must pass before apply (octoDNS-style thresholds, Terraform-style
`prevent_destroy`). Pure; raises UnsafePlan subclasses with counts and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProtectedDelete, TooMuchChange, UnsafePlan
from ..kinds import KINDS, REGISTRY
from ..resources import LiveState
from .model import Action, Plan


@dataclass(frozen=True)
class SafetyLimits:
    """When a plan's deletions look like a mistake (an empty, truncated or wrongly-pointed
    config with --prune) rather than an edit. Per kind, counted against the live objects
    the plan could delete (`Plan.managed_counts`), keys deleted with their project included:
    - it deletes every one of them (at any count, even 1 of 1), or
    - it deletes or replaces at least `min_destroy` of them and more than
      `max_destroy_fraction` of them.
    Either refuses the plan unless --force."""

    max_destroy_fraction: float = 0.25
    min_destroy: int = 3


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


def threshold_problems(plan: Plan, limits: SafetyLimits = SafetyLimits()) -> list[str]:
    """One line per kind whose deletions break a rule of `SafetyLimits`, naming them."""
    deleted: dict[str, list[str]] = {}
    destroyed: dict[str, int] = {}
    for c in plan.changes:
        if c.action.destroys:
            destroyed[c.kind] = destroyed.get(c.kind, 0) + 1
        if c.action is Action.DELETE:
            deleted.setdefault(c.kind, []).append(c.address)
    problems = []
    for kind in KINDS:
        n = destroyed.get(kind.name, 0)
        if not n:
            continue
        managed = plan.managed_counts.get(kind.name, plan.live_counts.get(kind.name, 0))
        gone = deleted.get(kind.name, [])
        plural = kind.title + ("s" if managed != 1 else "")
        if gone and len(gone) >= managed:
            problems.append(f"deletes every {kind.title} it manages ({len(gone)} of {managed}): {_first(gone)}")
        elif n >= limits.min_destroy and managed and n / managed > limits.max_destroy_fraction:
            what = "deletes" if n == len(gone) else "deletes or replaces"
            addresses = gone or [c.address for c in plan.changes if c.kind == kind.name and c.action.destroys]
            problems.append(f"{what} {n} of {managed} {plural} ({n / managed:.0%}, more than "
                            f"{limits.max_destroy_fraction:.0%}): {_first(addresses)}")
    return problems


def check_thresholds(plan: Plan, limits: SafetyLimits = SafetyLimits()) -> None:
    problems = threshold_problems(plan, limits)
    if problems:
        raise TooMuchChange(
            "refusing to apply: the plan's deletions look like a mistake rather than an edit. It\n  "
            + "\n  ".join(problems)
            + "\nAn empty, truncated or wrongly-pointed config with --prune looks like this: check the config "
              "paths and the account first. If it is intended, run the same apply again with --force "
              "(`reconcile apply PATHS --force`, or `reconcile apply PLANFILE --force`).")


def _first(addresses: list[str], shown: int = 5) -> str:
    text = ", ".join(addresses[:shown])
    return text + (f" and {len(addresses) - shown} more" if len(addresses) > shown else "")


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
