"""Raw API answers → `LiveState`: pure (no client, no I/O), so it is tested as data.

`normalise(raw, who, kinds)` takes what the reader fetched, each kind's list items (a
singleton's one object) by kind name and the `whoami` answer, and gives the live state the
planner compares: each item read by its kind's `from_live` (or the default), addressed by
its identity, a second item at one address kept in `duplicates` (a kind with no answer
has no objects). An item that is not in
the documented shape is a `MalformedResponse` naming the endpoint and the item.

Imports: errors, kinds, resources.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from ..errors import MalformedResponse
from ..kinds import KINDS
from ..kinds.base import KindSpec, LiveContext, LiveItem, default_from_live
from ..resources import LiveResource, LiveState

WHOAMI = "/v1/account/whoami"

#: What an identity part or an id may be: a plain JSON scalar (a name, a threshold).
_PLAIN = (str, int, float, type(None))


def normalise(raw: Mapping[str, Any], who: Mapping[str, Any], kinds: Iterable[str], *, base_url: str = "",
              redact: Callable[[str], str] | None = None) -> LiveState:
    """The live state of `kinds` (parents included by the caller) from their raw answers.

    `base_url` and `redact` only shape error messages (`GET <base><path>: ...`)."""
    wanted = set(kinds)
    specs = [spec for spec in KINDS if spec.name in wanted]
    state = LiveState(kinds_read=set(wanted))
    caller = who.get("caller") or {}
    if not isinstance(caller, dict):
        raise malformed(WHOAMI, f"its caller is {type(caller).__name__}, not an object", base_url, redact)
    state.caller_key_id = caller.get("key_id")
    state.caller_project_id = caller.get("project_id")
    state.facts["whoami"] = {k: v for k, v in who.items() if k != "caller"}
    if who.get("server_time"):
        state.facts["server_time"] = who["server_time"]

    ctx = LiveContext(project_names={str(p.get("id")): p.get("name") for p in raw.get("project", []) or []})
    for spec in specs:
        answer = raw.get(spec.name)
        items = ([] if answer is None else [answer]) if spec.singleton else answer
        read = spec.from_live or default_from_live
        for index, item in enumerate(items or []):
            if not isinstance(item, dict):  # the client refuses these: a ListingClient that does not
                raise malformed(spec.api.list.path, f"item {index + 1} is not an object", base_url, redact)
            live_item = _read_item(read, spec, item, ctx, index, base_url, redact)
            if live_item is None:
                continue
            if spec.parent is not None and live_item.identity[0] is None:
                continue  # a child of a parent we did not read (should not happen)
            resource = LiveResource(spec.name, spec.address(live_item.identity), live_item)
            if resource.address in state.resources:
                state.duplicates.append(resource)
            else:
                state.resources[resource.address] = resource
    return state


def _read_item(read: Any, spec: KindSpec, item: dict[str, Any], ctx: LiveContext, index: int, base_url: str,
               redact: Callable[[str], str] | None) -> LiveItem | None:
    """`read(spec, item, ctx)`, or MalformedResponse naming the item it cannot read."""
    path = spec.api.list.path
    try:
        live_item: LiveItem | None = read(spec, item, ctx)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise malformed(path, f"{_which(item, index)} cannot be read as {spec.title}: "
                              f"{type(exc).__name__}: {exc}", base_url, redact) from None
    if live_item is None:
        return None
    odd = [k for k, v in zip(spec.identity, live_item.identity) if not isinstance(v, _PLAIN) or isinstance(v, bool)]
    if odd or not isinstance(live_item.id, _PLAIN):
        field = odd[0] if odd else spec.api.id_field
        raise malformed(path, f"{_which(item, index)} has a {field} that is not a plain value", base_url, redact)
    return live_item


def _which(item: dict[str, Any], index: int) -> str:
    for key in ("id", "key_id", "member_id", "alert_id"):
        if isinstance(item.get(key), str):
            return f"item {index + 1} ({key} {item[key][:64]!r})"
    return f"item {index + 1}"


def malformed(path: str, what: str, base_url: str = "",
              redact: Callable[[str], str] | None = None) -> MalformedResponse:
    """The error for an answer at `path` that is not in the documented shape."""
    text = f"GET {base_url}{path}: {what} (the API is misbehaving)"
    return MalformedResponse(redact(text) if callable(redact) else text, "GET", f"{base_url}{path}")
