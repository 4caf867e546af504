"""Small parameter validators that raise a 400 naming the offending `field` path.

Each takes the request's parameter mapping (JSON body, or query string already coerced),
returns the cleaned value, and raises `VALIDATION_ERROR` with paths like `events[0]`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Collection, Mapping

from .clock import parse_iso
from .errors import validation_error

_MISSING = object()
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
HTTP_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _present(params: Mapping[str, Any], name: str, required: bool, label: str | None = None) -> Any:
    """The value of `name`, or _MISSING when absent/null (a 400 if it is required)."""
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise validation_error(label or name, f"{name} is required")
        return _MISSING
    return value


def string(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    min_len: int = 0,
    max_len: int = 1024,
    default: Any = None,
) -> Any:
    value = _present(params, name, required)
    if value is _MISSING:
        return default
    if not isinstance(value, str):
        raise validation_error(name, f"{name} must be a string")
    if not min_len <= len(value) <= max_len:
        raise validation_error(name, f"{name} must be {min_len}-{max_len} characters")
    return value


def enum(
    params: Mapping[str, Any], name: str, choices: Collection[str], *, required: bool = False, default: Any = None
) -> Any:
    value = string(params, name, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if value not in choices:
        raise validation_error(name, f"{name} must be one of: {', '.join(sorted(choices))}")
    return value


def boolean(params: Mapping[str, Any], name: str, *, default: Any = None) -> Any:
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        return default
    if not isinstance(value, bool):
        raise validation_error(name, f"{name} must be a boolean")
    return value


def number(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    max_decimals: int | None = None,
    default: Any = None,
    field: str | None = None,
) -> Any:
    label = field or name
    value = _present(params, name, required, label)
    if value is _MISSING:
        return default
    return check_number(value, label, minimum=minimum, maximum=maximum, integer=integer, max_decimals=max_decimals)


def check_number(
    value: Any,
    label: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    max_decimals: int | None = None,
) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise validation_error(label, f"{label} must be a number")
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise validation_error(label, f"{label} must be an integer")
            value = int(value)
    if minimum is not None and value < minimum:
        raise validation_error(label, f"{label} must be >= {minimum:g}")
    if maximum is not None and value > maximum:
        raise validation_error(label, f"{label} must be <= {maximum:g}")
    if max_decimals is not None and round(value, max_decimals) != value:
        raise validation_error(label, f"{label} must have at most {max_decimals} decimals")
    return value


def string_list(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    choices: Collection[str] | None = None,
    non_empty: bool = False,
    unique: bool = False,
    max_items: int = 1000,
    default: Any = None,
) -> Any:
    value = _present(params, name, required)
    if value is _MISSING:
        return default
    if not isinstance(value, list):
        raise validation_error(name, f"{name} must be an array of strings")
    if non_empty and not value:
        raise validation_error(name, f"{name} must not be empty")
    if len(value) > max_items:
        raise validation_error(name, f"{name} has more than {max_items} items")
    seen: set[str] = set()
    for index, item in enumerate(value):
        label = f"{name}[{index}]"
        if not isinstance(item, str) or not item or len(item) > 256:
            raise validation_error(label, f"{label} must be a non-empty string")
        if choices is not None and item not in choices:
            raise validation_error(label, f"{label} {item!r} is not one of: {', '.join(sorted(choices))}")
        if unique and item in seen:
            raise validation_error(label, f"{label} {item!r} is repeated")
        seen.add(item)
    return value


def json_object(params: Mapping[str, Any], name: str, *, default: Any = None) -> Any:
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        return default
    if not isinstance(value, dict):
        raise validation_error(name, f"{name} must be an object")
    return value


def metadata(params: Mapping[str, Any], name: str = "metadata") -> Any:
    value = json_object(params, name)
    if value is None:
        return None
    if len(value) > 64:
        raise validation_error(name, f"{name} has more than 64 keys")
    for key in value:
        if not key or len(key) > 64:
            raise validation_error(f"{name}.{key}", "metadata keys must be 1-64 characters")
    if len(json.dumps(value, separators=(",", ":"))) > 16384:
        raise validation_error(name, f"{name} is larger than 16 KiB")
    return value


def timestamp(params: Mapping[str, Any], name: str) -> float | None:
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        return None
    try:
        return parse_iso(value)
    except (ValueError, TypeError, OverflowError):
        raise validation_error(name, f"{name} must be an ISO 8601 date or date-time") from None


def email(params: Mapping[str, Any], name: str) -> str:
    value: str = string(params, name, required=True, min_len=3, max_len=254)
    if not EMAIL_RE.match(value):
        raise validation_error(name, f"{name} {value!r} is not an email address")
    return value.lower()


def path_id_matches(params: Mapping[str, Any], body_field: str, path_id: str) -> None:
    """A body copy of the path id must agree with the path (the path is the source of truth)."""
    value = params.get(body_field, _MISSING)
    if value is _MISSING or value is None:
        return
    if value != path_id:
        raise validation_error(body_field, f"{body_field} {value!r} does not match the id in the path {path_id!r}")


def page_params(params: Mapping[str, Any]) -> tuple[str | None, int]:
    """`cursor` and `limit` of a paginated list (limit 1..1000, default 100)."""
    cursor = string(params, "cursor", max_len=64)
    limit = number(params, "limit", integer=True, minimum=1, maximum=1000, default=100)
    return cursor or None, int(limit)
