"""Helpers the renderers share: value formatting and the symbols of each action."""

from __future__ import annotations

import json
from typing import Any

from ..plan import MASK, Action, Change, FieldDiff

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
