"""Is a saved plan still what the account looks like? Pure: the plan and live state now in,
the steps already done and the reasons it is stale out (`apply PLANFILE` refuses a stale plan).

Imports: errors, kinds, resources, plan.model.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ..errors import StalePlan
from ..kinds import REGISTRY
from ..resources import LiveState
from .model import Action, Change, Plan


def stale_steps(plan: Plan, live: LiveState) -> tuple[list[str], list[str]]:
    """Compare each step with live state now: (already done, changed since planning).

    A step is already done when live already looks as the step would leave it (the plan
    was applied before); it is stale when what it was planned against has changed.
    """
    done: list[str] = []
    stale: list[str] = []
    by_id: dict[Any, Any] | None = None  # live objects by id, duplicates included; built once, if a step deletes
    for c in plan.changes:
        spec = REGISTRY[c.kind]
        current = live.resources.get(c.address) if "#" not in c.address else None
        if c.action is Action.CREATE:
            if current is None:
                continue
            if _matches_after(spec, c, current.values):
                done.append(c.address)
            else:
                stale.append(f"{c.address}: it was created by someone else since the plan")
            continue
        if c.action is Action.DELETE:
            if by_id is None:
                by_id = {}
                for r in list(live.resources.values()) + live.duplicates:
                    by_id.setdefault(r.id, r)  # the first with that id, as a scan would find
            target = by_id.get(c.live_id)
            if target is None:
                done.append(c.address)
            elif target.fingerprint() != c.live_fingerprint:
                stale.append(f"{c.address}: changed since the plan (it would be deleted as it is now, not as reviewed)")
            continue
        if current is None:
            stale.append(f"{c.address}: it no longer exists")
            continue
        if c.action is Action.ROTATE and current.values.get("last_rotated_at") != (c.before or {}).get("last_rotated_at"):
            # Rotation keeps the id and the declared fields: only its timestamp says it happened.
            done.append(c.address)
            continue
        if current.fingerprint() == c.live_fingerprint:
            continue
        if c.action is Action.UPDATE and _matches_after(spec, c, current.values):
            done.append(c.address)
        elif c.action is Action.REPLACE and current.id != c.live_id and _matches_after(spec, c, current.values):
            done.append(c.address)  # a new object in the declared shape: the replacement happened
        else:
            changed = sorted(k for k in set(current.values) | set(c.before or {})
                             if k in spec.fields and not spec.fields[k].computed
                             and current.values.get(k) != (c.before or {}).get(k))
            stale.append(f"{c.address}: changed since the plan ({', '.join(changed) or 'its id'})")
    return done, stale


def _matches_after(spec: Any, c: Change, values: Mapping[str, Any]) -> bool:
    for top in c.changed_fields:
        f = spec.fields.get(top)
        if f is None or f.write_only or f.computed:
            continue
        if values.get(top) != (c.after or {}).get(top):
            return False
    return True


def without(plan: Plan, addresses: set[str]) -> Plan:
    """The plan minus steps already done (their dependents no longer wait for them)."""
    kept = tuple(replace(c, depends_on=tuple(d for d in c.depends_on if d not in addresses))
                 for c in plan.changes if c.address not in addresses)
    return replace(plan, changes=kept)


def check_not_stale(plan: Plan, live: LiveState) -> list[str]:
    done, stale = stale_steps(plan, live)
    if stale:
        raise StalePlan("plan is stale: the account changed since it was planned:\n  "
                        + "\n  ".join(stale) + "\nRun plan again and review the new plan.")
    return done
