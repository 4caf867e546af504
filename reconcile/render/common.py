"""Helpers the renderers share: value formatting and the symbols of each action."""

from __future__ import annotations

import json
from typing import Any

from ..kinds import REGISTRY
from ..plan import MASK, Action, Change, FieldDiff, Plan

SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.ROTATE: "↻",
}
COLOR = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
    Action.ROTATE: "cyan",
}


def fmt(value: Any) -> str:
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_values(d: FieldDiff) -> tuple[str, str]:
    if d.sensitive:
        return (MASK if d.before is not None else "null", MASK if d.after is not None else "null")
    return fmt(d.before), fmt(d.after)


def headline(c: Change) -> str:
    """`update`, `replace (role cannot be changed in place)`, `delete (not declared…)`."""
    text = c.action.value
    if c.reasons:
        text += f" ({'; '.join(c.reasons)})"
    return text


def deleted_with_parent(plan: Plan) -> dict[str, list[Change]]:
    """Deletes of children whose parent the plan deletes too (a dropped project's keys),
    by the parent's address: shown once, under the parent's delete."""
    deleted = {c.address for c in plan.changes if c.action is Action.DELETE}
    out: dict[str, list[Change]] = {}
    for c in plan.changes:
        parent = REGISTRY[c.kind].parent
        if c.action is Action.DELETE and parent is not None:
            parent_address = REGISTRY[parent].address(c.identity[:-1])
            if parent_address in deleted:
                out.setdefault(parent_address, []).append(c)
    return out


def with_it_line(children: list[Change], shown: int = 5) -> str:
    """`deletes 2 API keys with it: projects.old.keys.a, projects.old.keys.b`."""
    title = REGISTRY[children[0].kind].title
    names = ", ".join(c.address for c in children[:shown])
    more = f" and {len(children) - shown} more" if len(children) > shown else ""
    return f"deletes {len(children)} {title}{'s' if len(children) != 1 else ''} with it: {names}{more}"
