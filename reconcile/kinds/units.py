"""Parsing of human-friendly quantities used in configs (byte sizes, durations) and of the
API's timestamps."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]i?B|B)?\s*$", re.IGNORECASE)
_FACTORS = {
    "B": 1,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "PIB": 2**50,
}
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KMGTPkmgtp][iI]?[bB]|[bB])?\s*$"

_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
DURATION_PATTERN = r"^\s*\d+\s*[hdw]\s*$"
_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


def parse_size(value: int | str) -> int:
    """`10GiB` → 10737418240; integers pass through. Raises ValueError with the reason."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10GiB or a number of bytes")
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a size: use a number of bytes or e.g. 500MB, 10GiB")
    number, unit = m.groups()
    result = float(number) * _FACTORS[(unit or "B").upper()]
    if result != int(result):
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(result)


def format_size(n: int) -> str:
    """The shortest exact binary or decimal spelling of a byte count, for export."""
    for unit in ("PiB", "TiB", "GiB", "MiB", "KiB", "PB", "TB", "GB", "MB", "KB"):
        f = _FACTORS[unit.upper()]
        if n >= f and n % f == 0:
            return f"{n // f}{unit}"
    return str(n)


def parse_duration_hours(value: str | int) -> int:
    """`90d` → 2160 hours; `12h`, `2w`. A bare integer means days."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90d")
    if isinstance(value, int):
        return value * 24
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration: use e.g. 12h, 90d or 2w")
    return int(m.group(1)) * _HOURS[m.group(2)]


def rotation_start(values: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """Where a secret's age starts for `rotate_after`: its last rotation, else its creation
    (an unreadable timestamp counts as absent), and which of the two it was ("last rotated",
    "created"). The planner rotates and `status` warns from the same start."""
    for field, what in (("last_rotated_at", "last rotated"), ("created_at", "created")):
        since = parse_api_time(values.get(field))
        if since is not None:
            return what, since
    return None


def parse_api_time(value: Any) -> datetime | None:
    """An API timestamp (`2026-01-02T03:04:05Z`) as an aware datetime; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
