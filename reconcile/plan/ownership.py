"""Ownership stacks: several configs managing one account without touching each other.

`stack: NAME` in a config marks what it creates with NAME, where the API has room for a
marker (the registry's `KindSpec.ownership`: a project's `metadata`, a webhook's delivery
`headers`; a key follows its project). Under a stack:
- the desired state is stamped with the marker, so creates carry it and a declared object
  that lost it gets it back;
- a declared object owned by another stack, or by no stack (made by hand), is a conflict:
  the plan is refused until `reconcile adopt` stamps it (cli-utils' PolicyMustMatch);
- pruning deletes only objects carrying this stack's marker; other stacks', hand-made ones
  and kinds that cannot carry a marker are listed as not owned and never deleted, even with
  `--prune --force`.

`adoption()` is `reconcile adopt` as a plan: one UPDATE per object, stamping the marker, run
by the executor like any plan (idempotency keys, journal).

Pure.
Imports: errors, kinds, resources, plan.model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

from ..errors import OwnershipConflict as OwnershipConflict, ReconcileError  # OwnershipConflict: raised by engine.make_plan
from ..kinds import LEVELS, REGISTRY, KindSpec
from ..resources import DesiredResource, DesiredState, LiveResource, LiveState
from .model import Action, Change, FieldDiff, Plan


def owner_of(resource: LiveResource, live: LiveState) -> str | None:
    """The stack named by a live object's marker (None: hand-made or unmarkable)."""
    spec = REGISTRY[resource.kind]
    marker = spec.ownership
    if marker is None:
        return None
    if marker.inherit:
        parent_kind = REGISTRY[spec.parent] if spec.parent else None
        if parent_kind is None:
            return None
        parent = live.resources.get(parent_kind.address(resource.item.identity[:-1]))
        return owner_of(parent, live) if parent is not None else None
    holder = resource.values.get(marker.field or "") or {}
    value = holder.get(marker.key) if isinstance(holder, dict) else None
    return value if isinstance(value, str) else None


def stamp(desired: DesiredState, live: LiveState) -> DesiredState:
    """The desired state with this stack's marker added where the kind has room for it.

    When the user declared the marker's field, the marker is merged into it; when not, it
    is merged into the live value, so only the marker entry is managed.
    """
    if not desired.stack:
        return desired
    resources: dict[str, DesiredResource] = {}
    for address, r in desired.resources.items():
        marker = r.spec.ownership
        if marker is None or marker.inherit or marker.field is None:
            resources[address] = r
            continue
        current = live.resources.get(address)
        base = r.values.get(marker.field)
        if base is None:
            base = (current.values.get(marker.field) if current is not None else None) or {}
        values = {**r.values, marker.field: {**base, marker.key: desired.stack}}
        resources[address] = replace(r, values=values)
    return replace(desired, resources=resources)


def conflicts(desired: DesiredState, live: LiveState) -> list[str]:
    """Declared objects this stack may not change: owned elsewhere, or by nobody."""
    if not desired.stack:
        return []
    out = []
    for address, r in sorted(desired.resources.items()):
        spec = r.spec
        if spec.ownership is None or spec.singleton:
            continue
        current = live.resources.get(address)
        if current is None:
            continue
        owner = owner_of(current, live)
        if owner == desired.stack:
            continue
        if spec.ownership.inherit:
            # A key is settled by its project's check; report it only if the project is not declared.
            parent = REGISTRY[spec.parent].address(r.identity[:-1]) if spec.parent else None
            if parent in desired.resources:
                continue
        who = f"stack {owner!r}" if owner else "no stack (it was made outside any stack)"
        out.append(f"{address} is owned by {who}")
    return out


def prune_filter(stack: str | None, live: LiveState) -> Callable[[KindSpec, LiveResource], str | None] | None:
    """For the planner: why an undeclared live object must not be deleted by this stack."""
    if not stack:
        return None

    def keep_reason(spec: KindSpec, resource: LiveResource) -> str | None:
        if spec.ownership is None:
            return f"a {spec.title} cannot carry an ownership marker, so stack {stack!r} never deletes one"
        owner = owner_of(resource, live)
        if owner == stack:
            return None
        return f"owned by stack {owner!r}" if owner else "not owned by any stack (made by hand)"

    return keep_reason


@dataclass(frozen=True)
class Adoption:
    """`reconcile adopt` planned: the UPDATEs to run, and per address (in the order given)
    what to say: `already` for an object needing no step, `done` once its step succeeded."""

    plan: Plan
    already: dict[str, str]
    done: dict[str, str]
    order: tuple[str, ...]


def adoption(live: LiveState, addresses: Iterable[str], stack: str) -> Adoption:
    """Plan stamping `stack`'s marker on the live objects at `addresses`.

    Raises ReconcileError naming every address that does not exist or whose kind cannot
    carry a marker (a key follows its project), before anything is changed.
    """
    order = tuple(dict.fromkeys(addresses))  # an address given twice is adopted once
    problems = []
    for address in order:
        resource = live.resources.get(address)
        if resource is None:
            problems.append(f"{address}: no such live object")
            continue
        spec = REGISTRY[resource.kind]
        if spec.ownership is None or (spec.ownership.field is None and not spec.ownership.inherit):
            problems.append(f"{address}: a {spec.title} cannot carry an ownership marker")
        elif spec.ownership.inherit:
            parent = REGISTRY[spec.parent] if spec.parent else None
            problems.append(f"{address}: a {spec.title} belongs to the stack of its {parent.title if parent else 'parent'}; "
                            f"adopt {parent.address(resource.item.identity[:-1]) if parent else 'its parent'} instead")
    if problems:
        raise ReconcileError("cannot adopt:\n  " + "\n  ".join(problems))
    changes, already, done = [], {}, {}
    for address in order:
        resource = live.resources[address]
        previous = owner_of(resource, live)
        if previous == stack:
            already[address] = f"already owned by stack {stack!r}"
            continue
        changes.append(_stamp_change(resource, stack))
        done[address] = f"adopted from stack {previous!r}" if previous else "adopted (was not owned by any stack)"
    return Adoption(Plan(tuple(changes), kinds=tuple(sorted({c.kind for c in changes}))), already, done, order)


def _stamp_change(resource: LiveResource, stack: str) -> Change:
    """The UPDATE that sets only the marker entry of the marker's field (the executor sends
    the changed top-level field: the live mapping with the marker merged in)."""
    spec = REGISTRY[resource.kind]
    assert spec.ownership is not None and spec.ownership.field is not None
    name, key = spec.ownership.field, spec.ownership.key
    current = resource.values.get(name) or {}
    after = {**resource.values, name: {**current, key: stack}}
    return Change(address=resource.address, kind=resource.kind, identity=resource.item.identity,
                  action=Action.UPDATE, before=resource.values, after=after,
                  diffs=(FieldDiff(f"{name}[{key!r}]", current.get(key), stack),),
                  reasons=(f"adopted into stack {stack!r}",), live_id=resource.id, level=LEVELS[resource.kind],
                  live_fingerprint=resource.fingerprint())
