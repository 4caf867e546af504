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

Pure. Imports: errors, kinds, resources.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from ..errors import OwnershipConflict  # noqa: F401 - raised by engine.make_plan
from ..kinds import REGISTRY, KindSpec
from ..resources import DesiredResource, DesiredState, LiveResource, LiveState


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


def adopt_values(spec: KindSpec, resource: LiveResource, stack: str) -> dict[str, Any] | None:
    """The update that stamps `stack` on a live object (None when nothing to stamp)."""
    marker = spec.ownership
    if marker is None or marker.inherit or marker.field is None:
        return None
    current = resource.values.get(marker.field) or {}
    if current.get(marker.key) == stack:
        return {}
    return {marker.field: {**current, marker.key: stack}}
